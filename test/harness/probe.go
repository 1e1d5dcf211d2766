package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/state"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
)

// InstanceReport holds the per-process figures.
type InstanceReport struct {
	// BinarySizes are the stripped linux/amd64 binaries' sizes.
	BinarySizes map[string]int64
	// ColdStarts: process start to first answered invocation; Inits:
	// process start to its first poll for an invocation. Each sample is a
	// fresh process of the media function answering a first event.
	ColdStarts, Inits []time.Duration
	// Function is the function sampled.
	Function string
}

// BuildSizes builds every function stripped for Function Compute
// (-trimpath -ldflags "-s -w", GOOS=linux GOARCH=amd64 CGO_ENABLED=0) and
// returns the binaries' sizes.
func BuildSizes(ctx context.Context, root string) (map[string]int64, error) {
	fns, err := localstack.FunctionNames(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mediastate-harness-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sizes := map[string]int64{}
	for _, fn := range fns {
		out := filepath.Join(dir, fn)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./functions/"+fn)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", fn, err, b)
		}
		st, err := os.Stat(out)
		if err != nil {
			return nil, err
		}
		sizes[fn] = st.Size()
	}
	return sizes, nil
}

// SampleColdStarts kills the function's (single) process n times and
// sends it a first event each time: the emulator starts a new process for
// the waiting invocation, so the time from process start to the answer is
// a true cold start (process start, configuration, bucket check, one
// event with its OSS requests).
func SampleColdStarts(ctx context.Context, env *Env, fx *Fixtures, fn string, n int, run uint32, rep *InstanceReport) error {
	if env.Stack == nil || n <= 0 {
		return nil
	}
	f := env.Stack.Functions[fn]
	if f == nil {
		return fmt.Errorf("cold starts: no function %s", fn)
	}
	rep.Function = fn
	for i := 0; i < n; i++ {
		pid := f.PIDs()[0]
		// Our own child, by its id.
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("cold starts: kill %d: %w", pid, err)
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f.Await(actx, func(s fcemu.Stats) bool { return s.Instances[0].PID == pid && !s.Instances[0].Alive })
		cancel()
		if err != nil {
			return err
		}
		before := len(f.Stats().ColdStarts)
		id := mediaID("wu", run, 1000+i)
		e, err := newEvent(id, 0, fx.Body("vod-file-upload-complete", id, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)))
		if err != nil {
			return err
		}
		d := &Delivery{ID: i, Fn: fn, Items: []*Item{{Event: e}}}
		ans, err := env.Invoke(ctx, fn, buildPayload("cs", d), fmt.Sprintf("coldstart-%d", i))
		if err != nil {
			return err
		}
		if ans.Failed {
			return fmt.Errorf("cold start invocation failed: %s", ans.Err)
		}
		st := f.Stats()
		if len(st.ColdStarts) != before+1 {
			return fmt.Errorf("cold starts: expected a new process to answer (%d cold starts, had %d)", len(st.ColdStarts), before)
		}
		rep.ColdStarts = append(rep.ColdStarts, st.ColdStarts[len(st.ColdStarts)-1])
		rep.Inits = append(rep.Inits, st.Instances[0].InitDuration)
	}
	return nil
}

// CPUFigures are per-event CPU costs of the hot path, single-threaded.
type CPUFigures struct {
	Events                  int
	DecodeApplyMarshal      time.Duration
	Decode, Apply, Marshal  time.Duration
	Unmarshal               time.Duration
	AllocsPerEvent          int64
	BytesPerEvent           int64
	SharedStateBench        []GoBench
	SharedStateBenchCommand string
}

// lifecycleSample returns the events of n lifecycles and, for each event,
// the state it is applied to.
func lifecycleSample(fx *Fixtures, n int, seed uint64) ([]*callback.Event, []*state.Media, [][]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var evs []*callback.Event
	var before []*state.Media
	var bodies [][]byte
	for i := 0; i < n; i++ {
		id := mediaID("cp", 0, i)
		life, err := fx.Lifecycle(rng, id, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return nil, nil, nil, err
		}
		var m *state.Media
		for _, e := range life {
			ev, err := callback.Decode(e.Body)
			if err != nil {
				return nil, nil, nil, err
			}
			evs, before, bodies = append(evs, ev), append(before, m), append(bodies, e.Body)
			if m, _, err = state.Apply(m, ev); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return evs, before, bodies, nil
}

// MeasureCPU measures decode + apply + marshal per event over a realistic
// mix: every event of 200 lifecycles applied to the state its media has
// at that point (so states grow as in production).
func MeasureCPU(fx *Fixtures, seed uint64) (*CPUFigures, error) {
	evs, before, bodies, err := lifecycleSample(fx, 200, seed)
	if err != nil {
		return nil, err
	}
	n := len(evs)
	fig := &CPUFigures{Events: n}
	var failed error
	perEvent := func(r testing.BenchmarkResult) time.Duration {
		return time.Duration(r.NsPerOp())
	}
	full := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			k := i % n
			ev, err := callback.Decode(bodies[k])
			if err != nil {
				failed = err
				b.FailNow()
			}
			next, _, err := state.Apply(before[k], ev)
			if err != nil {
				failed = err
				b.FailNow()
			}
			if _, err := state.Marshal(next); err != nil {
				failed = err
				b.FailNow()
			}
		}
	})
	if failed != nil {
		return nil, failed
	}
	fig.DecodeApplyMarshal = perEvent(full)
	fig.AllocsPerEvent, fig.BytesPerEvent = full.AllocsPerOp(), full.AllocedBytesPerOp()
	fig.Decode = perEvent(testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = callback.Decode(bodies[i%n])
		}
	}))
	fig.Apply = perEvent(testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _, _ = state.Apply(before[i%n], evs[i%n])
		}
	}))
	after := make([]*state.Media, n)
	docs := make([][]byte, n)
	for k := range evs {
		after[k], _, _ = state.Apply(before[k], evs[k])
		docs[k], _ = state.Marshal(after[k])
	}
	fig.Marshal = perEvent(testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = state.Marshal(after[i%n])
		}
	}))
	fig.Unmarshal = perEvent(testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = state.Unmarshal(docs[i%n])
		}
	}))
	return fig, nil
}

// GoBench is one line of `go test -bench` output.
type GoBench struct {
	Name        string
	NsPerOp     float64
	BytesPerOp  int64
	AllocsPerOp int64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

// RunSharedStateBench runs shared/state's BenchmarkDecodeApplyMarshal.
func RunSharedStateBench(ctx context.Context, root string, benchtime string) ([]GoBench, string, error) {
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkDecodeApplyMarshal", "-benchmem", "-benchtime", benchtime, "./shared/state"}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	command := "go " + strings.Join(args, " ")
	if err != nil {
		return nil, command, fmt.Errorf("%s: %v\n%s", command, err, out)
	}
	return parseGoBench(out), command, nil
}

func parseGoBench(out []byte) []GoBench {
	var res []GoBench
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		g := GoBench{Name: m[1]}
		g.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		if m[3] != "" {
			g.BytesPerOp, _ = strconv.ParseInt(m[3], 10, 64)
			g.AllocsPerOp, _ = strconv.ParseInt(m[4], 10, 64)
		}
		res = append(res, g)
	}
	return res
}
