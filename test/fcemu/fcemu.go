// Package fcemu emulates the Alibaba Cloud Function Compute 3.0 runtime API,
// so that tests can run the real, built function binaries of the go1
// runtime locally, the way Function Compute drives them.
//
// A function built with github.com/aliyun/fc-runtime-go-sdk reads
// FC_RUNTIME_API and loops: it long-polls GET
// /2020-11-11/runtime/invocation/next, runs the handler for the event in a
// goroutine of its own and posts the outcome to
// /2020-11-11/runtime/invocation/<id>/response or .../<id>/error. The
// emulator serves those endpoints on loopback (one listener per process, so
// that it knows which process took an invocation), queues invocations, hands
// each to whichever process polls first, enforces the function timeout and
// restarts a process that exited.
package fcemu

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Errors of the emulator. Timeouts and process exits are answers FC itself
// would give, so they arrive as Result.Error (match them with errors.Is);
// ErrClosed is an error of Invoke.
var (
	ErrClosed         = errors.New("fcemu: function closed")
	ErrTimeout        = errors.New("fcemu: function timed out")
	ErrInstanceExited = errors.New("fcemu: instance process exited")
)

// The errorType of the answers the emulator gives itself.
const (
	ErrorTypeTimeout       = "FunctionTimeout"
	ErrorTypeProcessExited = "ProcessExited"
)

const (
	defaultTimeout = 60 * time.Second
	startTimeout   = 30 * time.Second // for every process to poll at Start
	stopGrace      = 2 * time.Second  // between SIGTERM and SIGKILL at Close
	logLimit       = 1 << 20          // output kept for Logs
	maxBodyBytes   = 64 << 20         // of an answer, well above FC's limits
)

// Credentials are the function role's temporary credentials, sent with
// every invocation (x-fc-access-key-id, ...) and exported to the process
// as the ALIBABA_CLOUD_* variables.
type Credentials struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
}

// Config describes one emulated function.
type Config struct {
	// Name is the function name; default the base name of Binary.
	Name string
	// Binary is the path of the built function (required).
	Binary string
	// Env is extra environment, "KEY=value", added to a minimal base (PATH,
	// HOME, TMPDIR and the variables FC sets); it may override all of it
	// but FC_RUNTIME_API.
	Env []string
	// Timeout is the execution timeout: an invocation's deadline is the
	// time it was queued plus Timeout. Default 60 s.
	Timeout time.Duration
	// Instances is the number of processes; default 1.
	Instances int
	// Credentials, Region, AccountID and MemoryMB (default 512, not
	// enforced) are what FC tells the function.
	Credentials       Credentials
	Region, AccountID string
	MemoryMB          int
	// Stdout and Stderr, when set, receive the processes' output (also kept
	// for Logs). Writes of one Function are serialised.
	Stdout, Stderr io.Writer
}

// InvokeError is a failed invocation as a caller of FC sees it: the error
// the function posted (errorMessage, errorType, as the SDK posts them), or
// a timeout or process exit of the emulator's.
type InvokeError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
	cause   error  // ErrTimeout or ErrInstanceExited; nil when posted
}

// Error returns the error type and message.
func (e *InvokeError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Unwrap returns ErrTimeout or ErrInstanceExited for the emulator's own
// answers, nil for errors the function posted.
func (e *InvokeError) Unwrap() error { return e.cause }

// Result is the answer to one invocation.
type Result struct {
	RequestID string
	// Payload is the body the function posted: its JSON output, or the
	// error document when Error is set (nil for the emulator's answers).
	Payload []byte
	Error   *InvokeError
	// Duration runs from the Invoke call to the answer.
	Duration time.Duration
	// Instance is the index of the instance that took the invocation (-1
	// for none) and PID its process (0 for none).
	Instance, PID int
}

// InvokeOption changes one invocation.
type InvokeOption func(*invocation)

// WithRequestID sets the request id instead of a generated one.
func WithRequestID(id string) InvokeOption { return func(inv *invocation) { inv.id = id } }

type invocation struct {
	id       string
	payload  []byte
	queued   time.Time
	deadline time.Time
	// Guarded by Function.mu.
	proc     *process // set when a process took it
	finished bool
	res      *Result
	err      error
	done     chan struct{}
}

// instance is a slot whose process is replaced when it exits.
type instance struct {
	index, peakRunning int
	proc               *process
}

type process struct {
	inst    *instance
	cmd     *exec.Cmd
	srv     *http.Server
	addr    string
	id      string
	started time.Time
	ready   chan struct{} // closed at the first poll
	once    sync.Once
	exited  chan struct{} // closed once its exit is handled
	// Guarded by Function.mu.
	readyAt  time.Time
	dead     bool
	status   string
	state    *os.ProcessState
	inflight map[string]*invocation
}

// Function is a running emulated function, safe for concurrent use.
type Function struct {
	cfg      Config
	logs     *LogBuffer
	out, err io.Writer
	startMu  sync.Mutex // serialises process starts with each other and with Close

	mu        sync.Mutex
	closed    bool
	insts     []*instance
	queue     []*invocation
	active    map[string]*invocation
	wake      chan struct{} // closed and replaced at every change of state
	watchers  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	outMu     sync.Mutex
}

// Start starts cfg.Instances processes of cfg.Binary and waits until each
// polls for its first invocation; ctx bounds only this. A process that
// exits first makes Start fail with the tail of its output.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	if cfg.Binary == "" {
		return nil, errors.New("fcemu: config: Binary is required")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return nil, fmt.Errorf("fcemu: config: binary: %w", err)
	}
	cfg.Binary = bin
	cfg.Name, cfg.Timeout = cmp.Or(cfg.Name, filepath.Base(bin)), cmp.Or(cfg.Timeout, defaultTimeout)
	cfg.Instances, cfg.MemoryMB = max(cfg.Instances, 1), cmp.Or(cfg.MemoryMB, 512)
	f := &Function{cfg: cfg, logs: NewLogBuffer(logLimit), active: map[string]*invocation{}, wake: make(chan struct{})}
	f.out, f.err = f.logs.tee(cfg.Stdout, &f.outMu), f.logs.tee(cfg.Stderr, &f.outMu)
	for i := range cfg.Instances {
		f.insts = append(f.insts, &instance{index: i})
	}
	if err := f.ensure(); err != nil {
		f.Close()
		return nil, err
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	for _, in := range f.insts {
		p := in.proc
		var why string
		select {
		case <-p.ready:
			continue
		case <-p.exited:
			f.mu.Lock()
			why = "exited before polling for invocations: " + p.status
			f.mu.Unlock()
		case <-timer.C:
			why = fmt.Sprintf("did not poll for invocations within %s", startTimeout)
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("fcemu: start %s: %w", cfg.Name, ctx.Err())
		}
		f.Close()
		return nil, fmt.Errorf("fcemu: start %s: instance %d (pid %d) %s\n%s", cfg.Name, in.index, p.cmd.Process.Pid, why, f.logs.Tail(4096))
	}
	return f, nil
}

// ensure starts a process in every slot whose process exited (or never
// started).
func (f *Function) ensure() error {
	f.startMu.Lock()
	defer f.startMu.Unlock()
	for _, in := range f.insts {
		f.mu.Lock()
		closed, live := f.closed, in.proc != nil && !in.proc.dead
		f.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if !live {
			if err := f.spawn(in); err != nil {
				return fmt.Errorf("fcemu: start %s instance %d: %w", f.cfg.Name, in.index, err)
			}
		}
	}
	return nil
}

// spawn starts a process in slot in, with its runtime API listener. The
// caller holds startMu.
func (f *Function) spawn(in *instance) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p := &process{inst: in, addr: ln.Addr().String(), id: newID("c-"), ready: make(chan struct{}),
		exited: make(chan struct{}), inflight: map[string]*invocation{}}
	p.srv = &http.Server{Handler: f.runtimeAPI(p), ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	p.cmd = exec.Command(f.cfg.Binary)
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr, p.cmd.WaitDelay = filepath.Dir(f.cfg.Binary), f.processEnv(p), f.out, f.err, stopGrace
	setProcAttr(p.cmd)
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		ln.Close()
		return err
	}
	// Served only now, so that the handlers see the started command.
	go p.srv.Serve(ln)
	f.mu.Lock()
	in.proc = p
	f.broadcastLocked()
	f.mu.Unlock()
	f.watchers.Add(1)
	go f.watch(p)
	return nil
}

// processEnv is a process's environment: a minimal base, what FC sets,
// Config.Env, and FC_RUNTIME_API last (exec keeps the last of a key).
func (f *Function) processEnv(p *process) []string {
	env := []string{"PATH=" + cmp.Or(os.Getenv("PATH"), "/usr/local/bin:/usr/bin:/bin"), "HOME=" + cmp.Or(os.Getenv("HOME"), os.TempDir()),
		"TMPDIR=" + os.TempDir(), "FC_FUNCTION_NAME=" + f.cfg.Name, "FC_FUNCTION_HANDLER=main",
		"FC_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.cfg.MemoryMB), "FC_FUNC_CODE_PATH=" + filepath.Dir(f.cfg.Binary), "FC_INSTANCE_ID=" + p.id}
	for _, kv := range [][2]string{{"FC_REGION", f.cfg.Region}, {"FC_ACCOUNT_ID", f.cfg.AccountID},
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", f.cfg.Credentials.AccessKeyID}, {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", f.cfg.Credentials.AccessKeySecret},
		{"ALIBABA_CLOUD_SECURITY_TOKEN", f.cfg.Credentials.SecurityToken}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return append(append(env, f.cfg.Env...), "FC_RUNTIME_API="+p.addr)
}

// watch waits for p to exit and fails its invocations; when no other
// process lives, it fails those waiting for one too (Invoke starts the
// process again).
func (f *Function) watch(p *process) {
	defer f.watchers.Done()
	err := p.cmd.Wait()
	f.mu.Lock()
	p.dead, p.state, p.status = true, p.cmd.ProcessState, "exited"
	if p.state != nil {
		p.status = p.state.String()
	} else if err != nil {
		p.status = err.Error()
	}
	msg := fmt.Sprintf("Process exited unexpectedly before completing request (instance %d, pid %d: %s)", p.inst.index, p.cmd.Process.Pid, p.status)
	for _, inv := range p.inflight {
		f.finishLocked(inv, exitResult(msg), nil)
	}
	if !f.closed && !f.anyLiveLocked() {
		f.failQueuedLocked("No live instance left to serve the request: " + msg)
	}
	f.broadcastLocked()
	f.mu.Unlock()
	p.srv.Close()
	close(p.exited)
}

func (f *Function) failQueuedLocked(msg string) {
	for _, inv := range f.queue {
		f.finishLocked(inv, exitResult(msg), nil)
	}
}

func exitResult(msg string) *Result {
	return &Result{Error: &InvokeError{Message: msg, Type: ErrorTypeProcessExited, cause: ErrInstanceExited}}
}

func timeoutResult(timeout time.Duration) *Result {
	return &Result{Error: &InvokeError{Message: fmt.Sprintf("Function time out after %s", timeout), Type: ErrorTypeTimeout, cause: ErrTimeout}}
}

func (f *Function) anyLiveLocked() bool {
	for _, in := range f.insts {
		if in.proc != nil && !in.proc.dead {
			return true
		}
	}
	return false
}

// broadcastLocked wakes the pollers waiting for an invocation.
func (f *Function) broadcastLocked() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// finishLocked completes inv with res or err, unless it is complete.
func (f *Function) finishLocked(inv *invocation, res *Result, err error) {
	if inv.finished {
		return
	}
	inv.finished = true
	if res != nil {
		res.RequestID, res.Duration, res.Instance = inv.id, time.Since(inv.queued), -1
		if p := inv.proc; p != nil {
			res.Instance, res.PID = p.inst.index, p.cmd.Process.Pid
		}
	}
	if inv.proc != nil {
		delete(inv.proc.inflight, inv.id)
	}
	delete(f.active, inv.id)
	inv.res, inv.err = res, err
	close(inv.done)
	f.broadcastLocked()
}

// Invoke queues an invocation of payload and waits for its answer: the
// function's, or a timeout when its deadline passes (Result.Error matches
// ErrTimeout), or ErrInstanceExited when its process exits first. It
// returns an error when ctx ends first, when the Function is closed
// (ErrClosed) or when the request id is in flight. Slots whose process
// exited are started again first.
func (f *Function) Invoke(ctx context.Context, payload []byte, opts ...InvokeOption) (*Result, error) {
	inv := &invocation{payload: append([]byte(nil), payload...), queued: time.Now(), done: make(chan struct{})}
	for _, o := range opts {
		o(inv)
	}
	inv.id = cmp.Or(inv.id, newID(""))
	// The SDK sees milliseconds of the wall clock.
	inv.deadline = time.UnixMilli(inv.queued.Add(f.cfg.Timeout).UnixMilli())
	if err := f.ensure(); err != nil {
		return nil, fmt.Errorf("fcemu: invoke %s: %w", f.cfg.Name, err)
	}
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return nil, fmt.Errorf("fcemu: invoke %s: %w", f.cfg.Name, ErrClosed)
	case f.active[inv.id] != nil:
		f.mu.Unlock()
		return nil, fmt.Errorf("fcemu: invoke %s: request id %s already in flight", f.cfg.Name, inv.id)
	}
	f.active[inv.id] = inv
	f.queue = append(f.queue, inv)
	f.broadcastLocked()
	f.mu.Unlock()

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case <-inv.done:
	case <-timer.C:
		f.mu.Lock()
		f.finishLocked(inv, timeoutResult(f.cfg.Timeout), nil)
		f.mu.Unlock()
	case <-ctx.Done():
		f.mu.Lock()
		f.finishLocked(inv, nil, ctx.Err())
		f.mu.Unlock()
	}
	<-inv.done
	if inv.err != nil {
		return nil, fmt.Errorf("fcemu: invoke %s request %s: %w", f.cfg.Name, inv.id, inv.err)
	}
	return inv.res, nil
}

// Close fails every pending invocation with ErrClosed and stops the
// processes (SIGTERM, SIGKILL after a grace of 2 s). It may be called more
// than once.
func (f *Function) Close() error {
	f.closeOnce.Do(func() {
		f.startMu.Lock()
		f.mu.Lock()
		f.closed = true
		for _, inv := range f.active {
			f.finishLocked(inv, nil, ErrClosed)
		}
		f.queue = nil
		var live []*process
		for _, in := range f.insts {
			if in.proc != nil && !in.proc.dead {
				live = append(live, in.proc)
			}
		}
		f.broadcastLocked()
		f.mu.Unlock()
		f.startMu.Unlock()

		var errs []error
		for _, p := range live {
			if err := p.cmd.Process.Signal(sigterm); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("fcemu: close %s: %w", f.cfg.Name, err))
			}
		}
		grace := time.NewTimer(stopGrace)
		defer grace.Stop()
		for _, p := range live {
			select {
			case <-p.exited:
				continue
			case <-grace.C:
				grace.Reset(0) // the others are late too
			}
			if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("fcemu: close %s: %w", f.cfg.Name, err))
			}
			<-p.exited
		}
		f.watchers.Wait()
		f.closeErr = errors.Join(errs...)
	})
	return f.closeErr
}

func (f *Function) runtimeAPI(p *process) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2020-11-11/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) { f.serveNext(p, w, r) })
	mux.HandleFunc("POST /2020-11-11/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) { f.serveAnswer(p, w, r, false) })
	mux.HandleFunc("POST /2020-11-11/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) { f.serveAnswer(p, w, r, true) })
	return mux
}

// serveNext long-polls until an invocation can be handed to p, and sends
// it with the headers FC sends.
func (f *Function) serveNext(p *process, w http.ResponseWriter, r *http.Request) {
	p.once.Do(func() {
		f.mu.Lock()
		p.readyAt = time.Now()
		f.broadcastLocked()
		f.mu.Unlock()
		close(p.ready)
	})
	var inv *invocation
	for inv == nil {
		f.mu.Lock()
		for !p.dead && !f.closed && len(f.queue) > 0 && inv == nil {
			if inv, f.queue = f.queue[0], f.queue[1:]; inv.finished {
				inv = nil
			}
		}
		if inv != nil {
			inv.proc = p
			p.inflight[inv.id] = inv
			p.inst.peakRunning = max(p.inst.peakRunning, len(p.inflight))
			f.broadcastLocked()
			f.mu.Unlock()
			break
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
	c := f.cfg
	h := w.Header()
	for k, v := range map[string]string{
		"Content-Type": "application/octet-stream", "Content-Length": strconv.Itoa(len(inv.payload)),
		"x-fc-request-id": inv.id, "x-fc-function-deadline": strconv.FormatInt(inv.deadline.UnixMilli(), 10),
		"x-fc-function-timeout": strconv.Itoa(timeoutSeconds(c.Timeout)),
		"x-fc-function-name":    c.Name, "x-fc-function-handler": "main", "x-fc-function-memory": strconv.Itoa(c.MemoryMB),
		"x-fc-access-key-id": c.Credentials.AccessKeyID, "x-fc-access-key-secret": c.Credentials.AccessKeySecret,
		"x-fc-security-token": c.Credentials.SecurityToken, "x-fc-region": c.Region, "x-fc-account-id": c.AccountID,
		"x-fc-retry-count": "0",
	} {
		h.Set(k, v)
	}
	// A failed write means the process went away: its exit, or the
	// deadline, ends the invocation.
	w.Write(inv.payload)
}

// serveAnswer takes the response or error p posts for an invocation.
func (f *Function) serveAnswer(p *process, w http.ResponseWriter, r *http.Request, isError bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "read answer: "+err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	inv := f.active[r.PathValue("id")]
	if inv == nil || inv.proc != p {
		http.Error(w, "invocation not running on this instance (finished, timed out or unknown)", http.StatusGone)
		return
	}
	res := &Result{Payload: body}
	switch {
	case !now.Before(inv.deadline):
		res = timeoutResult(f.cfg.Timeout) // the answer lost the race, as on FC
	case isError:
		res.Error = &InvokeError{}
		if json.Unmarshal(body, res.Error) != nil || res.Error.Message+res.Error.Type == "" {
			res.Error = &InvokeError{Message: string(body), Type: "InvalidErrorPayload"}
		}
	}
	f.finishLocked(inv, res, nil)
}

// newID returns a random id shaped like an FC request id, with prefix.
func newID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return prefix + s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// timeoutSeconds renders a timeout as x-fc-function-timeout: whole
// seconds, rounded up, at least 1.
func timeoutSeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }
