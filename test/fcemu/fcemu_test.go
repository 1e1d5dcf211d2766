package fcemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// echoBin is the test binary itself: run with FCEMU_ECHO=1 it is the
// echo function (echoMain) instead of the tests.
var echoBin string

func TestMain(m *testing.M) {
	if os.Getenv("FCEMU_ECHO") == "1" {
		echoMain()
		return
	}
	var err error
	if echoBin, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// echoMain is a tiny FC event function. The payload's "mode" selects what
// it does: "echo" (or none) answers the payload and the fccontext values;
// "error" returns a *ValidationError with "message"; "panic" panics with
// it; "crash" makes the process exit with status 3; "block" waits for the
// invocation's context to end; "barrier" dials "addr" and waits until the
// peer closes the connection, then echoes. With ECHO_EXIT_AT_INIT set, or
// ECHO_EXIT_AT_INIT_IF_FILE naming a file that exists, the process exits
// with status 4 before fc.Start.
func echoMain() {
	if p := os.Getenv("ECHO_EXIT_AT_INIT_IF_FILE"); os.Getenv("ECHO_EXIT_AT_INIT") != "" || p != "" && fileExists(p) {
		fmt.Fprintln(os.Stderr, "echo: exiting at init on purpose")
		os.Exit(4)
	}
	fc.Start(func(ctx context.Context, in []byte) (map[string]any, error) {
		var req struct{ Mode, Message, Addr string }
		if err := json.Unmarshal(in, &req); err != nil && len(in) > 0 {
			return nil, err
		}
		switch req.Mode {
		case "error":
			return nil, &ValidationError{req.Message}
		case "panic":
			panic(req.Message)
		case "crash":
			fmt.Fprintln(os.Stderr, "echo: crashing on purpose:", req.Message)
			os.Exit(3)
		case "block":
			<-ctx.Done()
			return nil, ctx.Err()
		case "barrier":
			conn, err := new(net.Dialer).DialContext(ctx, "tcp", req.Addr)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			io.Copy(io.Discard, conn)
		}
		out := map[string]any{"payload": string(in), "pid": os.Getpid(), "env": map[string]string{}}
		if d, ok := ctx.Deadline(); ok {
			out["deadlineUnixMilli"] = d.UnixMilli()
		}
		if lc, ok := fccontext.FromContext(ctx); ok {
			out["requestId"], out["functionName"], out["functionHandler"] = lc.RequestID, lc.Function.Name, lc.Function.Handler
			out["functionMemory"], out["functionTimeout"], out["region"], out["accountId"] = lc.Function.Memory, lc.Function.Timeout, lc.Region, lc.AccountId
			out["accessKeyId"], out["accessKeySecret"], out["securityToken"] = lc.Credentials.AccessKeyId, lc.Credentials.AccessKeySecret, lc.Credentials.SecurityToken
		}
		var keys []string
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
			out["env"].(map[string]string)[k] = v
		}
		out["envKeys"] = keys
		return out, nil
	})
}

// ValidationError is the error of the "error" mode.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// echoReply is the answer of the echo function in echo and barrier modes.
type echoReply struct {
	Payload           string            `json:"payload"`
	PID               int               `json:"pid"`
	DeadlineUnixMilli int64             `json:"deadlineUnixMilli"`
	RequestID         string            `json:"requestId"`
	FunctionName      string            `json:"functionName"`
	FunctionHandler   string            `json:"functionHandler"`
	FunctionMemory    string            `json:"functionMemory"`
	FunctionTimeout   int               `json:"functionTimeout"`
	AccessKeyID       string            `json:"accessKeyId"`
	AccessKeySecret   string            `json:"accessKeySecret"`
	SecurityToken     string            `json:"securityToken"`
	Region            string            `json:"region"`
	AccountID         string            `json:"accountId"`
	Env               map[string]string `json:"env"`
	EnvKeys           []string          `json:"envKeys"`
}

// startEcho starts the echo function with cfg and closes it when the test
// ends.
func startEcho(t *testing.T, cfg Config) *Function {
	t.Helper()
	cfg.Binary = echoBin
	cfg.Env = append(cfg.Env, "FCEMU_ECHO=1")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	f, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("function output:\n%s", f.logs.String())
		}
	})
	return f
}

// mustJSON marshals v.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return b
}

// invoke invokes f with a 20 s safety context and fails the test on an
// emulator error.
func invoke(t *testing.T, f *Function, payload []byte, opts ...InvokeOption) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, payload, opts...)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

// decodeEcho checks that res succeeded and decodes the echo reply.
func decodeEcho(t *testing.T, res *Result) echoReply {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("invocation %s failed: %v (payload %s)", res.RequestID, res.Error, res.Payload)
	}
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("decode reply %q: %v", res.Payload, err)
	}
	return r
}

// barrier is a TCP listener the echo function dials in barrier mode; each
// invocation stays running until the test closes its connection.
type barrier struct {
	t  *testing.T
	ln *net.TCPListener
}

func newBarrier(t *testing.T) *barrier {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return &barrier{t: t, ln: ln}
}

func (b *barrier) addr() string { return b.ln.Addr().String() }

// accept waits until n invocations are holding the barrier.
func (b *barrier) accept(n int) []net.Conn {
	b.t.Helper()
	if err := b.ln.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		b.t.Fatalf("set accept deadline: %v", err)
	}
	conns := make([]net.Conn, 0, n)
	for len(conns) < n {
		c, err := b.ln.Accept()
		if err != nil {
			b.t.Fatalf("accept barrier connection %d of %d: %v", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns
}

// release lets the invocations holding conns answer.
func release(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// asyncInvoke runs Invoke in a goroutine and delivers its outcome.
type outcome struct {
	res *Result
	err error
}

func asyncInvoke(ctx context.Context, f *Function, payload []byte, opts ...InvokeOption) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := f.Invoke(ctx, payload, opts...)
		ch <- outcome{res, err}
	}()
	return ch
}

func TestEchoRoundTripAndContext(t *testing.T) {
	t.Parallel()
	var stdout syncBuffer
	f := startEcho(t, Config{
		Name:        "echo-fn",
		Env:         []string{"ECHO_EXTRA=extra-value"},
		Timeout:     7 * time.Second,
		MemoryMB:    1024,
		Region:      "cn-hangzhou",
		AccountID:   "1234567890",
		Credentials: Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk-secret", SecurityToken: "token-xyz"},
		Stdout:      &stdout,
	})

	payload := mustJSON(t, map[string]any{"mode": "echo", "data": "héllo \"wörld\"", "n": 42})
	before := time.Now()
	res := invoke(t, f, payload, WithRequestID("req-fixed-1"))
	after := time.Now()
	r := decodeEcho(t, res)

	if r.Payload != string(payload) {
		t.Errorf("payload round trip: got %q, want %q", r.Payload, payload)
	}
	if res.RequestID != "req-fixed-1" || r.RequestID != "req-fixed-1" {
		t.Errorf("request id: result %q, fccontext %q, want req-fixed-1", res.RequestID, r.RequestID)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"function name", r.FunctionName, "echo-fn"},
		{"function handler", r.FunctionHandler, "main"},
		{"function memory", r.FunctionMemory, "1024"},
		{"function timeout", r.FunctionTimeout, 7},
		{"access key id", r.AccessKeyID, "STS.ak"},
		{"access key secret", r.AccessKeySecret, "sk-secret"},
		{"security token", r.SecurityToken, "token-xyz"},
		{"region", r.Region, "cn-hangzhou"},
		{"account id", r.AccountID, "1234567890"},
		{"env FC_FUNCTION_NAME", r.Env["FC_FUNCTION_NAME"], "echo-fn"},
		{"env FC_REGION", r.Env["FC_REGION"], "cn-hangzhou"},
		{"env FC_ACCOUNT_ID", r.Env["FC_ACCOUNT_ID"], "1234567890"},
		{"env FC_FUNCTION_MEMORY_SIZE", r.Env["FC_FUNCTION_MEMORY_SIZE"], "1024"},
		{"env FC_FUNC_CODE_PATH", r.Env["FC_FUNC_CODE_PATH"], filepath.Dir(echoBin)},
		{"env ALIBABA_CLOUD_ACCESS_KEY_ID", r.Env["ALIBABA_CLOUD_ACCESS_KEY_ID"], "STS.ak"},
		{"env ECHO_EXTRA", r.Env["ECHO_EXTRA"], "extra-value"},
		{"result pid", res.PID, r.PID},
		{"stats pid", f.PIDs()[0], r.PID},
		{"result instance", res.Instance, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if api := r.Env["FC_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("FC_RUNTIME_API = %q, want a loopback address", api)
	}

	// The handler's context deadline is the queue time plus the timeout.
	lo := before.Add(7 * time.Second).UnixMilli()
	hi := after.Add(7 * time.Second).UnixMilli()
	if r.DeadlineUnixMilli < lo || r.DeadlineUnixMilli > hi {
		t.Errorf("ctx deadline %d outside [%d, %d]", r.DeadlineUnixMilli, lo, hi)
	}

	// Only the minimal base environment reaches the process.
	allowed := map[string]bool{
		"PATH": true, "HOME": true, "TMPDIR": true, "FC_RUNTIME_API": true, "ECHO_EXTRA": true,
		"FC_FUNCTION_NAME": true, "FC_FUNCTION_HANDLER": true, "FC_FUNCTION_MEMORY_SIZE": true,
		"FC_FUNC_CODE_PATH": true, "FC_INSTANCE_ID": true, "FC_REGION": true, "FC_ACCOUNT_ID": true,
		"ALIBABA_CLOUD_ACCESS_KEY_ID": true, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": true,
		"ALIBABA_CLOUD_SECURITY_TOKEN": true, "FCEMU_ECHO": true,
	}
	if len(r.EnvKeys) == 0 {
		t.Errorf("echo reported no environment")
	}
	for _, k := range r.EnvKeys {
		if !allowed[k] {
			t.Errorf("unexpected environment variable %s leaked into the process", k)
		}
	}

	// A generated request ID is unique and reaches fccontext.
	res2 := invoke(t, f, []byte(`{"mode":"echo"}`))
	r2 := decodeEcho(t, res2)
	if res2.RequestID == "" || res2.RequestID == res.RequestID || r2.RequestID != res2.RequestID {
		t.Errorf("generated request id: result %q, fccontext %q, first %q", res2.RequestID, r2.RequestID, res.RequestID)
	}

	st := f.Stats()
	if r2.PID != r.PID {
		t.Errorf("second invocation served by pid %d, want %d", r2.PID, r.PID)
	}
	in := st.Instances[0]
	if !in.Alive || in.InitDuration <= 0 || in.PeakRunning != 1 {
		t.Errorf("instance stats = %+v", in)
	}
	t.Logf("echo: init (start to first poll) %s, first invocation %s", in.InitDuration, res.Duration)

	if rss := f.PeakRSS(); len(rss) != 1 || rss[0] < 1<<20 {
		t.Errorf("PeakRSS = %v, want one value above 1 MiB", rss)
	} else {
		t.Logf("echo: peak RSS %d KiB", rss[0]>>10)
	}
	// The SDK logs the start of every invocation on stdout.
	if want := "FC Invoke Start RequestId: req-fixed-1"; !strings.Contains(stdout.String(), want) || !strings.Contains(f.logs.String(), want) {
		t.Errorf("process output lacks %q:\nstdout: %s\nlogs: %s", want, stdout.String(), f.logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFunctionErrorAndPanic: an error the handler returns and a panic are
// answered as the SDK posts them (errorMessage, errorType; a panic with its
// stack trace), and the same process serves on: fc-runtime-go-sdk v0.3.1
// recovers handler panics in the invocation's goroutine, so the emulator
// must not invent a restart.
func TestFunctionErrorAndPanic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ mode, message, typ, inPayload string }{
		{"error", "bad input: size", "ValidationError", `"errorMessage":"bad input: size"`},
		{"panic", "boom at step 3", "string", `"stackTrace"`},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			f := startEcho(t, Config{Name: c.mode + "-fn"})
			pid := f.PIDs()[0]
			res := invoke(t, f, mustJSON(t, map[string]string{"mode": c.mode, "message": c.message}))
			if res.Error == nil || res.Error.Message != c.message || res.Error.Type != c.typ || errors.Unwrap(res.Error) != nil {
				t.Fatalf("error = %+v (payload %s), want a posted %s with the message", res.Error, res.Payload, c.typ)
			}
			if !strings.Contains(string(res.Payload), c.inPayload) {
				t.Errorf("raw error payload %s lacks %s", res.Payload, c.inPayload)
			}
			if r := decodeEcho(t, invoke(t, f, []byte(`{}`))); r.PID != pid || !f.Stats().Instances[0].Alive {
				t.Errorf("next invocation served by pid %d, want the same process %d alive", r.PID, pid)
			}
		})
	}
}

func TestCrashFailsInFlightAndRestartsLazily(t *testing.T) {
	t.Parallel()
	f := startEcho(t, Config{Name: "crash-fn", Timeout: 15 * time.Second})
	oldPID := f.PIDs()[0]

	// Another invocation on the same process is in flight when it dies.
	b := newBarrier(t)
	held := asyncInvoke(t.Context(), f, mustJSON(t, map[string]string{"mode": "barrier", "addr": b.addr()}))
	conns := b.accept(1)
	defer release(conns)

	res := invoke(t, f, []byte(`{"mode":"crash","message":"disk on fire"}`))
	if res.Error == nil || !errors.Is(res.Error, ErrInstanceExited) || res.Error.Type != ErrorTypeProcessExited {
		t.Fatalf("crash result error = %v, want ErrInstanceExited", res.Error)
	}
	if !strings.Contains(res.Error.Message, "exit status 3") || res.PID != oldPID {
		t.Errorf("crash error = %q (pid %d), want exit status 3 of pid %d", res.Error.Message, res.PID, oldPID)
	}
	out := <-held
	if out.err != nil || out.res.Error == nil || !errors.Is(out.res.Error, ErrInstanceExited) {
		t.Errorf("in-flight invocation on the crashed process: res %+v, err %v", out.res, out.err)
	}
	st := f.Stats()
	if st.Instances[0].Alive || st.Instances[0].PID != oldPID {
		t.Errorf("stats after crash = %+v, want dead instance, 2 crashed, no restart yet", st)
	}
	if !strings.Contains(f.logs.String(), "crashing on purpose: disk on fire") {
		t.Errorf("logs lack the crash message:\n%s", f.logs.String())
	}
	if rss := f.PeakRSS(); rss[0] <= 0 {
		t.Errorf("PeakRSS of the exited process = %d, want the rusage figure", rss[0])
	}

	// The next invocation restarts the instance and is served by it.
	res = invoke(t, f, []byte(`{"mode":"echo","after":"crash"}`))
	r := decodeEcho(t, res)
	if r.PID == oldPID || r.PID != f.PIDs()[0] {
		t.Errorf("served by pid %d, want a new process (old %d, current %d)", r.PID, oldPID, f.PIDs()[0])
	}
	st = f.Stats()
	if !st.Instances[0].Alive || st.Instances[0].PID == oldPID {
		t.Errorf("stats after restart = %+v, want a new process alive", st)
	}
	if st.Instances[0].InitDuration <= 0 {
		t.Errorf("instance %+v, want the new process's init duration", st.Instances[0])
	}
	t.Logf("echo: lazy restart init %s, invocation duration %s", st.Instances[0].InitDuration, res.Duration)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := startEcho(t, Config{Name: "slow-fn", Timeout: time.Second})
	res := invoke(t, f, []byte(`{"mode":"block"}`))
	if res.Error == nil || !errors.Is(res.Error, ErrTimeout) || res.Error.Type != ErrorTypeTimeout {
		t.Fatalf("result error = %v, want ErrTimeout", res.Error)
	}
	if res.Duration < 900*time.Millisecond || res.Duration > 10*time.Second {
		t.Errorf("timed out after %s, want about 1s", res.Duration)
	}
	if !strings.Contains(res.Error.Message, "time out after 1s") {
		t.Errorf("timeout message = %q", res.Error.Message)
	}

	if r := decodeEcho(t, invoke(t, f, []byte(`{}`))); r.FunctionTimeout != 1 {
		t.Errorf("timeout told to the function: %d, want 1", r.FunctionTimeout)
	}
	if st := f.Stats(); !st.Instances[0].Alive || st.Instances[0].Running != 0 {
		t.Errorf("stats = %+v, want the process alive and nothing running", st)
	}
}

func TestInvokeContextCancel(t *testing.T) {
	t.Parallel()
	f := startEcho(t, Config{Name: "cancel-fn", Timeout: 20 * time.Second})
	b := newBarrier(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := asyncInvoke(ctx, f, mustJSON(t, map[string]string{"mode": "barrier", "addr": b.addr()}))
	conns := b.accept(1) // the invocation is running
	cancel()
	out := <-ch
	if !errors.Is(out.err, context.Canceled) || out.res != nil {
		t.Errorf("Invoke after cancel: res %+v, err %v; want context.Canceled", out.res, out.err)
	}
	if st := f.Stats(); st.Instances[0].Running != 0 {
		t.Errorf("stats = %+v, want the abandoned invocation no longer counted", st)
	}
	release(conns)
	decodeEcho(t, invoke(t, f, []byte(`{}`)))
}

func TestConcurrentInvocationsOnOneInstance(t *testing.T) {
	t.Parallel()
	const n = 32
	f := startEcho(t, Config{Name: "busy-fn", Timeout: 20 * time.Second})
	b := newBarrier(t)
	payloads := make([][]byte, n)
	chans := make([]<-chan outcome, n)
	for i := range n {
		payloads[i] = mustJSON(t, map[string]any{"mode": "barrier", "addr": b.addr(), "i": i})
		chans[i] = asyncInvoke(t.Context(), f, payloads[i], WithRequestID(fmt.Sprintf("par-%02d", i)))
	}
	// All 32 invocations are running at once in the single process.
	conns := b.accept(n)
	if st := f.Stats(); st.Instances[0].Running != n {
		t.Errorf("running on instance 0 = %d, want %d", st.Instances[0].Running, n)
	}
	// A request id cannot be reused while it is in flight.
	if _, err := f.Invoke(t.Context(), []byte(`{}`), WithRequestID("par-00")); err == nil || !strings.Contains(err.Error(), "already in flight") {
		t.Errorf("duplicate request id: err %v, want it refused", err)
	}
	release(conns)

	pid := f.PIDs()[0]
	for i, ch := range chans {
		out := <-ch
		if out.err != nil {
			t.Errorf("invocation %d: %v", i, out.err)
			continue
		}
		r := decodeEcho(t, out.res)
		if r.Payload != string(payloads[i]) || r.RequestID != fmt.Sprintf("par-%02d", i) || r.PID != pid {
			t.Errorf("invocation %d answered %q (request %s, pid %d); want its own payload on pid %d",
				i, r.Payload, r.RequestID, r.PID, pid)
		}
	}
	if st := f.Stats(); st.Instances[0].Running != 0 || st.Instances[0].PeakRunning != n {
		t.Errorf("stats = %+v, want %d successes served by instance 0", st, n)
	}
}

func TestTwoInstances(t *testing.T) {
	t.Parallel()
	f := startEcho(t, Config{Name: "pair-fn", Instances: 2, Timeout: 20 * time.Second})
	pids := f.PIDs()
	if len(pids) != 2 || pids[0] == 0 || pids[1] == 0 || pids[0] == pids[1] {
		t.Fatalf("PIDs = %v, want two distinct processes", pids)
	}
	for range 4 {
		res := invoke(t, f, []byte(`{}`))
		if r := decodeEcho(t, res); res.PID != r.PID || pids[res.Instance] != r.PID {
			t.Errorf("result says instance %d pid %d, function says pid %d", res.Instance, res.PID, r.PID)
		}
	}
	st := f.Stats()
	if !st.Instances[0].Alive || !st.Instances[1].Alive {
		t.Errorf("instances %+v, want 4 served in all", st.Instances)
	}
	if rss := f.PeakRSS(); len(rss) != 2 || rss[0] <= 0 || rss[1] <= 0 {
		t.Errorf("PeakRSS = %v, want two positive values", rss)
	}
}

func TestStartFailsWhenProcessExitsDuringInit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	f, err := Start(ctx, Config{Binary: echoBin, Env: []string{"FCEMU_ECHO=1", "ECHO_EXIT_AT_INIT=1"}})
	if err == nil {
		f.Close()
		t.Fatal("Start succeeded for a function that exits during init")
	}
	if !strings.Contains(err.Error(), "exit status 4") || !strings.Contains(err.Error(), "exiting at init on purpose") {
		t.Errorf("Start error = %v, want the exit status and the process output", err)
	}
	if _, err := Start(ctx, Config{}); err == nil {
		t.Errorf("Start without a binary succeeded")
	}
	if _, err := Start(ctx, Config{Binary: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Errorf("Start with a missing binary succeeded")
	}
}

func TestCloseStopsProcessesAndFailsPending(t *testing.T) {
	t.Parallel()
	f := startEcho(t, Config{Name: "close-fn", Instances: 2, Timeout: 20 * time.Second})
	pids := f.PIDs()
	b := newBarrier(t)
	ch := asyncInvoke(t.Context(), f, mustJSON(t, map[string]string{"mode": "barrier", "addr": b.addr()}))
	conns := b.accept(1)
	defer release(conns)

	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	out := <-ch
	if !errors.Is(out.err, ErrClosed) {
		t.Errorf("pending invocation: res %+v, err %v; want ErrClosed", out.res, out.err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
	if _, err := f.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	st := f.Stats()
	if slices.ContainsFunc(st.Instances, func(i InstanceStats) bool { return i.Alive }) {
		t.Errorf("stats after Close = %+v", st)
	}
}

func TestRestartThatFailsAtInitFailsQueued(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "exit-at-init")
	f := startEcho(t, Config{Name: "brittle-fn", Env: []string{"ECHO_EXIT_AT_INIT_IF_FILE=" + marker}})
	first := f.PIDs()[0]
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, f, []byte(`{"mode":"crash"}`))
	if !errors.Is(res.Error, ErrInstanceExited) {
		t.Fatalf("crash: %v, want ErrInstanceExited", res.Error)
	}
	// The lazy restart exits during init: the invocation fails promptly
	// instead of waiting for its 60 s deadline.
	res = invoke(t, f, []byte(`{"mode":"echo"}`))
	if !errors.Is(res.Error, ErrInstanceExited) || !strings.Contains(res.Error.Message, "exit status 4") {
		t.Fatalf("invocation after a failed restart: %v, want ErrInstanceExited with exit status 4", res.Error)
	}
	if res.Duration > 10*time.Second || res.Instance != -1 {
		t.Errorf("failed after %s on instance %d, want promptly and undispatched", res.Duration, res.Instance)
	}
	// Once the cause is gone the next invocation restarts successfully.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	if r := decodeEcho(t, invoke(t, f, []byte(`{"mode":"echo"}`))); r.PID == first {
		t.Errorf("served by pid %d, want a new process", r.PID)
	}
}
