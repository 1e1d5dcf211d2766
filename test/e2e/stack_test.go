// Package e2e drives the whole system end to end: every function's real
// binary behind the FC runtime-API emulator, the embedded OSS-protocol
// server, and the localstack front door. One stack is started for the whole
// package in TestMain (the function binaries are built once); each test
// uses MediaIds of its own, so tests run in parallel without seeing each
// other's state. Tests that change the OSS server's behaviour for everyone
// (fault injection) do not call t.Parallel, so that they run before the
// parallel tests resume; tests that need an OSS area nobody else writes to
// (dead-letter replay, a versioned bucket) start a small stack of their own.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"mediastate/test/fcemu"
	"mediastate/test/localstack"
)

// stackFunctions are the functions under test: the four that keep media
// state and the sweep.
var stackFunctions = []string{"upload", "media", "transcode", "editing", "sweep"}

// stk is the stack every test shares.
var stk *localstack.Stack

// logs receives the output of every function of stk.
var logs = fcemu.NewLogBuffer(0)

// root is the repository root.
var root string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = localstack.FindRoot("."); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	stk, err = localstack.Start(ctx, localstack.Options{
		Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: stackFunctions, Log: logs, InProcess: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start stack:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: stack with %s built and started in %v\n", strings.Join(stk.Names(), ", "), time.Since(start).Round(time.Millisecond))
	code := m.Run()
	// Every signature any test sent must be absent from the functions'
	// output, whichever test sent it and whenever its line was written.
	if found := leaks(logs.String(), secretsToHide()); len(found) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: the functions' log output contains secrets: %s\n", strings.Join(found, "; "))
		code = 1
	}
	closeStart := time.Now()
	defer func() {
		fmt.Fprintf(os.Stderr, "e2e: stack closed in %v\n", time.Since(closeStart).Round(time.Millisecond))
	}()
	if err := stk.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: close stack:", err)
	}
	return code
}

// startStack starts a small stack of its own for a test that needs an OSS
// bucket nobody else uses. The binaries are the ones TestMain built
// (fcemu caches builds per process).
func startStack(t *testing.T, functions ...string) (*localstack.Stack, *fcemu.LogBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lb := fcemu.NewLogBuffer(0)
	s, err := localstack.Start(ctx, localstack.Options{
		Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: functions, Log: lb, InProcess: true,
	})
	if err != nil {
		t.Fatalf("start stack with %v: %v", functions, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
		if found := leaks(lb.String(), secretsToHide()); len(found) > 0 {
			t.Errorf("the functions' log output contains secrets: %s", strings.Join(found, "; "))
		}
	})
	return s, lb
}
