package fcemu

import (
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

// Sentinel errors reported by the emulator. Timeouts and instance exits are
// answers that Function Compute itself would give, so they arrive as
// Result.Error (match them with errors.Is); ErrClosed and
// ErrDuplicateRequestID are returned as the error of Invoke.
var (
	// ErrClosed means the Function was closed before the invocation ended.
	ErrClosed = errors.New("fcemu: function closed")
	// ErrTimeout means the invocation's deadline passed before the function
	// answered.
	ErrTimeout = errors.New("fcemu: function timed out")
	// ErrInstanceExited means the process serving the invocation exited
	// before it answered, or no live instance was left to serve it.
	ErrInstanceExited = errors.New("fcemu: instance process exited")
	// ErrDuplicateRequestID means another invocation with the same request
	// ID is still queued or running.
	ErrDuplicateRequestID = errors.New("fcemu: request id already in flight")
)

// Error types reported in InvokeError.Type for answers produced by the
// emulator rather than by the function.
const (
	// ErrorTypeTimeout is the errorType of a timed-out invocation.
	ErrorTypeTimeout = "FunctionTimeout"
	// ErrorTypeProcessExited is the errorType of an invocation whose
	// instance process exited.
	ErrorTypeProcessExited = "ProcessExited"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMemoryMB     = 512
	DefaultHandler      = "main"
	DefaultStartTimeout = 30 * time.Second
	DefaultStopGrace    = 2 * time.Second
	DefaultLogLimit     = 1 << 20
)

// maxBodyBytes bounds the answers a function may post, well above Function
// Compute's own payload limits.
const maxBodyBytes = 64 << 20

// Credentials are the temporary credentials of the function's role, sent with
// every invocation as the x-fc-access-key-id, x-fc-access-key-secret and
// x-fc-security-token headers and exported to the process as the
// ALIBABA_CLOUD_* environment variables.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Config describes one emulated function.
type Config struct {
	// Name is the function name (x-fc-function-name, FC_FUNCTION_NAME).
	// It defaults to the base name of Binary.
	Name string
	// Binary is the path of the built function executable. It is required.
	Binary string
	// Handler is reported as x-fc-function-handler and FC_FUNCTION_HANDLER.
	// It defaults to "main", the usual handler of a go1 function.
	Handler string
	// Env is extra environment for the process, in "KEY=value" form. It is
	// added to a minimal base environment (PATH, HOME, TMPDIR and the
	// variables Function Compute sets) and may override all of it except
	// FC_RUNTIME_API.
	Env []string
	// Timeout is the function's execution timeout. Each invocation's
	// deadline is the time it was queued plus Timeout. It defaults to 60 s.
	Timeout time.Duration
	// Instances is the number of processes to run. It defaults to 1.
	Instances int
	// InstanceConcurrency caps the invocations one process runs at once,
	// like the instance concurrency setting of Function Compute. Zero means
	// no cap: the SDK runs every invocation in its own goroutine.
	InstanceConcurrency int
	// Credentials are the function role's temporary credentials.
	Credentials Credentials
	// Region is reported as x-fc-region and FC_REGION.
	Region string
	// AccountID is reported as x-fc-account-id and FC_ACCOUNT_ID.
	AccountID string
	// MemoryMB is reported as x-fc-function-memory and
	// FC_FUNCTION_MEMORY_SIZE. It defaults to 512. It is not enforced.
	MemoryMB int
	// Stdout and Stderr receive the processes' output when set. The output
	// is also kept, bounded by LogLimit, for Function.Logs. Writes from one
	// Function are serialised; a writer shared by several Functions must be
	// safe for concurrent use.
	Stdout, Stderr io.Writer
	// LogLimit is the number of trailing output bytes kept for
	// Function.Logs. It defaults to 1 MiB.
	LogLimit int
	// StartTimeout bounds how long Start waits for every instance to poll
	// for its first invocation. It defaults to 30 s.
	StartTimeout time.Duration
	// StopGrace is how long Close waits after SIGTERM before it kills a
	// process. It defaults to 2 s.
	StopGrace time.Duration
}

// withDefaults returns cfg with zero fields defaulted, or an error when cfg
// cannot describe a function.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Binary == "" {
		return cfg, errors.New("fcemu: config: Binary is required")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return cfg, fmt.Errorf("fcemu: config: resolve binary %s: %w", cfg.Binary, err)
	}
	if _, err := os.Stat(bin); err != nil {
		return cfg, fmt.Errorf("fcemu: config: binary: %w", err)
	}
	cfg.Binary = bin
	if cfg.Name == "" {
		cfg.Name = filepath.Base(bin)
	}
	if cfg.Handler == "" {
		cfg.Handler = DefaultHandler
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 1
	}
	if cfg.InstanceConcurrency < 0 {
		cfg.InstanceConcurrency = 0
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.LogLimit <= 0 {
		cfg.LogLimit = DefaultLogLimit
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	return cfg, nil
}

// StackFrame is one frame of the stack trace the SDK reports for a panic.
type StackFrame struct {
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

// InvokeError is a failed invocation as a Function Compute caller sees it:
// either the error the function posted to the runtime API, or a timeout or
// instance exit detected by the emulator. The JSON field names are those the
// SDK posts.
type InvokeError struct {
	Message    string       `json:"errorMessage"`
	Type       string       `json:"errorType"`
	StackTrace []StackFrame `json:"stackTrace,omitempty"`

	// cause is ErrTimeout or ErrInstanceExited for emulator answers and nil
	// for errors posted by the function.
	cause error
}

// Error returns the error type and message.
func (e *InvokeError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Unwrap returns ErrTimeout or ErrInstanceExited for answers produced by the
// emulator, and nil for errors posted by the function.
func (e *InvokeError) Unwrap() error { return e.cause }

// FromFunction reports whether the function itself posted this error to the
// runtime API (as opposed to a timeout or instance exit).
func (e *InvokeError) FromFunction() bool { return e.cause == nil }

// Result is the answer to one invocation.
type Result struct {
	// RequestID is the invocation's request ID.
	RequestID string
	// Payload is the raw body the function posted: the JSON-marshalled
	// handler output, or the JSON error document when Error is set. It is
	// nil for timeouts and instance exits.
	Payload []byte
	// Error is set when the invocation failed.
	Error *InvokeError
	// Duration is the time from the Invoke call to the answer.
	Duration time.Duration
	// QueueDelay is the time the invocation waited before an instance
	// took it. It is zero when no instance took it.
	QueueDelay time.Duration
	// Instance is the index of the instance that took the invocation, or
	// -1 when none did.
	Instance int
	// PID is the process ID that took the invocation, or 0 when none did.
	PID int
}

// InvokeOption changes one invocation.
type InvokeOption func(*invokeOptions)

type invokeOptions struct {
	requestID  string
	retryCount int
	deadline   time.Time
}

// WithRequestID sets the request ID instead of a generated one.
func WithRequestID(id string) InvokeOption {
	return func(o *invokeOptions) { o.requestID = id }
}

// WithRetryCount sets the x-fc-retry-count header (fccontext RetryCount).
func WithRetryCount(n int) InvokeOption {
	return func(o *invokeOptions) { o.retryCount = n }
}

// WithDeadline sets the invocation deadline instead of now plus the
// function timeout. The deadline is truncated to milliseconds, the
// resolution of the x-fc-function-deadline header.
func WithDeadline(t time.Time) InvokeOption {
	return func(o *invokeOptions) { o.deadline = t }
}

// invocation states.
const (
	stateQueued = iota
	stateRunning
	stateDone
)

// invocation is one queued or running invocation.
type invocation struct {
	id         string
	payload    []byte
	retryCount int
	deadline   time.Time
	timeout    time.Duration // nominal time allowed, for the timeout message
	enqueuedAt time.Time

	// Guarded by Function.mu.
	state        int
	proc         *process
	dispatchedAt time.Time
	result       *Result
	err          error
	done         chan struct{}
}

// instance is one instance slot; its process is replaced after it exits.
type instance struct {
	index       int
	proc        *process // current or last process; nil before the first start
	starts      int
	served      int64
	peakRunning int
}

// process is one running (or exited) instance process.
type process struct {
	inst       *instance
	cmd        *exec.Cmd
	pid        int
	instanceID string
	srv        *http.Server
	apiAddr    string
	startedAt  time.Time

	ctx    context.Context // cancelled when the process exits
	cancel context.CancelFunc

	spawned   chan struct{} // closed once the fields above are final
	readyOnce sync.Once
	ready     chan struct{} // closed on the first poll for an invocation
	exited    chan struct{} // closed once exit handling finished

	// Guarded by Function.mu.
	readyAt       time.Time
	firstAnswerAt time.Time
	dead          bool
	exitStatus    string
	state         *os.ProcessState
	inflight      map[string]*invocation
}

// Function is a running emulated function. It is safe for concurrent use.
type Function struct {
	cfg   Config
	logs  *LogBuffer
	out   io.Writer
	errw  io.Writer
	outMu sync.Mutex // serialises writes to Config.Stdout and Config.Stderr

	// restartMu serialises process starts with each other and with Close.
	restartMu sync.Mutex

	mu         sync.Mutex
	closed     bool
	instances  []*instance
	queue      []*invocation
	active     map[string]*invocation
	wake       chan struct{} // closed and replaced whenever dispatch state changes
	counts     counters
	coldStarts []time.Duration

	watchers  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// counters are the cumulative figures behind Stats.
type counters struct {
	invocations int64
	succeeded   int64
	errors      int64
	timeouts    int64
	crashed     int64
	canceled    int64
	closed      int64
	lateAnswers int64
	restarts    int64
}

// Start starts the runtime API and cfg.Instances processes of cfg.Binary, and
// waits until every process polls for its first invocation. ctx bounds only
// this start-up; call Close to stop the function. When a process exits during
// start-up, Start stops the others and returns an error that includes the
// tail of the process output.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Function{
		cfg:    cfg,
		logs:   NewLogBuffer(cfg.LogLimit),
		active: map[string]*invocation{},
		wake:   make(chan struct{}),
	}
	f.out = f.logs.tee(cfg.Stdout, &f.outMu)
	f.errw = f.logs.tee(cfg.Stderr, &f.outMu)
	for i := 0; i < cfg.Instances; i++ {
		f.instances = append(f.instances, &instance{index: i})
	}

	var procs []*process
	f.restartMu.Lock()
	for _, inst := range f.instances {
		p, err := f.spawn(inst)
		if err != nil {
			f.restartMu.Unlock()
			_ = f.Close()
			return nil, err
		}
		procs = append(procs, p)
	}
	f.restartMu.Unlock()

	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	for _, p := range procs {
		select {
		case <-p.ready:
		case <-p.exited:
			_ = f.Close()
			return nil, fmt.Errorf("fcemu: start %s: instance %d (pid %d) exited before polling for invocations: %s\n%s",
				cfg.Name, p.inst.index, p.pid, f.exitStatus(p), f.logs.Tail(4096))
		case <-timer.C:
			_ = f.Close()
			return nil, fmt.Errorf("fcemu: start %s: instance %d (pid %d) did not poll for invocations within %s\n%s",
				cfg.Name, p.inst.index, p.pid, cfg.StartTimeout, f.logs.Tail(4096))
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("fcemu: start %s: %w", cfg.Name, ctx.Err())
		}
	}
	return f, nil
}

// spawn starts a new process in inst's slot together with its runtime API
// listener. The caller holds f.restartMu.
func (f *Function) spawn(inst *instance) (*process, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fcemu: start %s instance %d: listen for the runtime API: %w", f.cfg.Name, inst.index, err)
	}
	p := &process{
		inst:       inst,
		apiAddr:    ln.Addr().String(),
		instanceID: newID("c-"),
		spawned:    make(chan struct{}),
		ready:      make(chan struct{}),
		exited:     make(chan struct{}),
		inflight:   map[string]*invocation{},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.srv = &http.Server{
		Handler:           f.runtimeAPI(p),
		BaseContext:       func(net.Listener) context.Context { return p.ctx },
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}

	cmd := exec.Command(f.cfg.Binary)
	cmd.Dir = filepath.Dir(f.cfg.Binary)
	cmd.Env = f.processEnv(p)
	cmd.Stdout = f.out
	cmd.Stderr = f.errw
	cmd.WaitDelay = f.cfg.StopGrace
	setProcAttr(cmd)
	p.cmd = cmd

	go func() { _ = p.srv.Serve(ln) }()
	p.startedAt = time.Now()
	if err := cmd.Start(); err != nil {
		p.cancel()
		_ = p.srv.Close()
		close(p.spawned)
		return nil, fmt.Errorf("fcemu: start %s instance %d: %w", f.cfg.Name, inst.index, err)
	}
	p.pid = cmd.Process.Pid
	// The process may poll before Start returned; the runtime API handlers
	// wait for this so that they see pid and startedAt.
	close(p.spawned)

	f.mu.Lock()
	if inst.proc != nil {
		f.counts.restarts++
	}
	inst.proc = p
	inst.starts++
	f.broadcastLocked()
	f.mu.Unlock()

	f.watchers.Add(1)
	go f.watch(p)
	return p, nil
}

// processEnv builds the environment of a process: a minimal base, the
// variables Function Compute sets, cfg.Env, and FC_RUNTIME_API last.
func (f *Function) processEnv(p *process) []string {
	env := []string{
		"PATH=" + envOr("PATH", "/usr/local/bin:/usr/bin:/bin"),
		"HOME=" + envOr("HOME", os.TempDir()),
		"TMPDIR=" + os.TempDir(),
		"FC_FUNCTION_NAME=" + f.cfg.Name,
		"FC_FUNCTION_HANDLER=" + f.cfg.Handler,
		"FC_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.cfg.MemoryMB),
		"FC_FUNC_CODE_PATH=" + filepath.Dir(f.cfg.Binary),
		"FC_INSTANCE_ID=" + p.instanceID,
	}
	add := func(key, value string) {
		if value != "" {
			env = append(env, key+"="+value)
		}
	}
	add("FC_REGION", f.cfg.Region)
	add("FC_ACCOUNT_ID", f.cfg.AccountID)
	add("ALIBABA_CLOUD_ACCESS_KEY_ID", f.cfg.Credentials.AccessKeyID)
	add("ALIBABA_CLOUD_ACCESS_KEY_SECRET", f.cfg.Credentials.AccessKeySecret)
	add("ALIBABA_CLOUD_SECURITY_TOKEN", f.cfg.Credentials.SecurityToken)
	env = append(env, f.cfg.Env...)
	// exec.Cmd keeps the last value of a duplicated key.
	return append(env, "FC_RUNTIME_API="+p.apiAddr)
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// watch waits for p to exit, fails its in-flight invocations and, when
// invocations are queued, restarts the instance or fails them.
func (f *Function) watch(p *process) {
	defer f.watchers.Done()
	waitErr := p.cmd.Wait()
	p.cancel()

	f.mu.Lock()
	p.dead = true
	p.state = p.cmd.ProcessState
	switch {
	case p.state != nil:
		p.exitStatus = p.state.String()
	case waitErr != nil:
		p.exitStatus = waitErr.Error()
	default:
		p.exitStatus = "exited"
	}
	closing := f.closed
	msg := fmt.Sprintf("Process exited unexpectedly before completing request (instance %d, pid %d: %s)",
		p.inst.index, p.pid, p.exitStatus)
	for _, inv := range p.inflight {
		f.finishLocked(inv, exitResult(msg), nil)
	}
	// Queued invocations need an instance now, so restart this one at once
	// (Invoke restarts instances too, but only when an invocation arrives).
	// A process that exited before it ever polled would most likely do so
	// again: rather than restart it in a loop, fail what nobody can serve.
	restart := !closing && f.queuedLocked() > 0 && !p.readyAt.IsZero()
	if !closing && !restart && !f.anyLiveLocked() {
		f.failQueuedLocked(fmt.Sprintf("No live instance left to serve the request: instance %d (pid %d) %s before it polled for invocations",
			p.inst.index, p.pid, p.exitStatus))
	}
	f.broadcastLocked()
	f.mu.Unlock()

	_ = p.srv.Close()
	close(p.exited)

	if restart {
		if err := f.ensureInstances(); err != nil {
			f.mu.Lock()
			if !f.closed && !f.anyLiveLocked() {
				f.failQueuedLocked(fmt.Sprintf("No live instance left to serve the request: %v", err))
			}
			f.mu.Unlock()
		}
	}
}

// queuedLocked counts invocations waiting for an instance.
func (f *Function) queuedLocked() int {
	n := 0
	for _, inv := range f.queue {
		if inv.state == stateQueued {
			n++
		}
	}
	return n
}

// failQueuedLocked fails every invocation waiting for an instance.
func (f *Function) failQueuedLocked(msg string) {
	for _, inv := range f.queue {
		if inv.state == stateQueued {
			f.finishLocked(inv, exitResult(msg), nil)
		}
	}
}

// exitResult is the answer for an invocation whose instance exited.
func exitResult(msg string) *Result {
	return &Result{Error: &InvokeError{Message: msg, Type: ErrorTypeProcessExited, cause: ErrInstanceExited}}
}

// exitStatus returns how p exited.
func (f *Function) exitStatus(p *process) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return p.exitStatus
}

// anyLiveLocked reports whether some instance process is running.
func (f *Function) anyLiveLocked() bool {
	for _, inst := range f.instances {
		if inst.proc != nil && !inst.proc.dead {
			return true
		}
	}
	return false
}

// broadcastLocked wakes everyone waiting for the state to change: pollers
// waiting for invocations and callers of Await.
func (f *Function) broadcastLocked() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// finishLocked completes inv with res or err unless it already completed,
// and reports whether it did. Result bookkeeping fields are filled in here.
func (f *Function) finishLocked(inv *invocation, res *Result, err error) bool {
	if inv.state == stateDone {
		return false
	}
	now := time.Now()
	if res != nil {
		res.RequestID = inv.id
		res.Duration = now.Sub(inv.enqueuedAt)
		res.Instance = -1
		if inv.proc != nil {
			res.Instance = inv.proc.inst.index
			res.PID = inv.proc.pid
			res.QueueDelay = inv.dispatchedAt.Sub(inv.enqueuedAt)
		}
		switch {
		case res.Error == nil:
			f.counts.succeeded++
		case errors.Is(res.Error, ErrTimeout):
			f.counts.timeouts++
		case errors.Is(res.Error, ErrInstanceExited):
			f.counts.crashed++
		default:
			f.counts.errors++
		}
	} else if errors.Is(err, ErrClosed) {
		f.counts.closed++
	} else {
		f.counts.canceled++
	}
	if inv.state == stateRunning {
		delete(inv.proc.inflight, inv.id)
	}
	// Queued invocations stay in f.queue and are skipped when polled.
	inv.state = stateDone
	delete(f.active, inv.id)
	inv.result, inv.err = res, err
	close(inv.done)
	f.broadcastLocked()
	return true
}

// ensureInstances restarts every instance whose process exited.
func (f *Function) ensureInstances() error {
	f.restartMu.Lock()
	defer f.restartMu.Unlock()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	var dead []*instance
	for _, inst := range f.instances {
		if inst.proc == nil || inst.proc.dead {
			dead = append(dead, inst)
		}
	}
	f.mu.Unlock()
	for _, inst := range dead {
		if _, err := f.spawn(inst); err != nil {
			return fmt.Errorf("fcemu: restart instance %d: %w", inst.index, err)
		}
	}
	return nil
}

// Invoke queues an invocation with payload as the event and waits for its
// answer. It returns a Result when the function answered, when the
// invocation's deadline passed (Result.Error matches ErrTimeout) or when the
// process serving it exited (Result.Error matches ErrInstanceExited). It
// returns an error when ctx ends first, when the Function is closed
// (ErrClosed), or when the request ID is already in flight.
//
// Instances whose process exited are restarted before the invocation is
// queued. A process that exits while invocations are queued is restarted at
// once if it had polled for invocations before; if it had not and no other
// instance is alive, the queued invocations fail with ErrInstanceExited
// instead of waiting for their deadline.
func (f *Function) Invoke(ctx context.Context, payload []byte, opts ...InvokeOption) (*Result, error) {
	start := time.Now()
	var o invokeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.requestID == "" {
		o.requestID = newID("")
	}
	deadline, timeout := o.deadline, f.cfg.Timeout
	if deadline.IsZero() {
		deadline = start.Add(timeout)
	} else {
		timeout = deadline.Sub(start).Round(time.Millisecond)
	}
	// The SDK only sees milliseconds; strip the monotonic reading so that
	// deadline comparisons use the wall clock the process uses too.
	deadline = time.UnixMilli(deadline.UnixMilli())

	if err := f.ensureInstances(); err != nil {
		return nil, fmt.Errorf("fcemu: invoke %s: %w", f.cfg.Name, err)
	}

	inv := &invocation{
		id:         o.requestID,
		payload:    append([]byte(nil), payload...),
		retryCount: o.retryCount,
		deadline:   deadline,
		timeout:    timeout,
		enqueuedAt: start,
		done:       make(chan struct{}),
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, fmt.Errorf("fcemu: invoke %s: %w", f.cfg.Name, ErrClosed)
	}
	if _, dup := f.active[inv.id]; dup {
		f.mu.Unlock()
		return nil, fmt.Errorf("fcemu: invoke %s request %s: %w", f.cfg.Name, inv.id, ErrDuplicateRequestID)
	}
	f.active[inv.id] = inv
	f.queue = append(f.queue, inv)
	f.counts.invocations++
	f.broadcastLocked()
	f.mu.Unlock()

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-inv.done:
	case <-timer.C:
		f.mu.Lock()
		f.finishLocked(inv, timeoutResult(inv), nil)
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
	return inv.result, nil
}

// timeoutResult is the answer for an invocation whose deadline passed.
func timeoutResult(inv *invocation) *Result {
	return &Result{Error: &InvokeError{
		Message: fmt.Sprintf("Function time out after %s", inv.timeout),
		Type:    ErrorTypeTimeout,
		cause:   ErrTimeout,
	}}
}

// Close fails every pending invocation with ErrClosed, stops the processes
// (SIGTERM, then SIGKILL after Config.StopGrace) and stops the runtime API.
// It is safe to call more than once.
func (f *Function) Close() error {
	f.closeOnce.Do(func() {
		f.restartMu.Lock()
		f.mu.Lock()
		f.closed = true
		for _, inv := range f.active {
			f.finishLocked(inv, nil, ErrClosed)
		}
		f.queue = nil
		var live []*process
		for _, inst := range f.instances {
			if inst.proc != nil && !inst.proc.dead {
				live = append(live, inst.proc)
			}
		}
		f.broadcastLocked()
		f.mu.Unlock()
		f.restartMu.Unlock()

		var errs []error
		for _, p := range live {
			if err := p.cmd.Process.Signal(sigterm); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("fcemu: close %s: signal pid %d: %w", f.cfg.Name, p.pid, err))
			}
		}
		grace := time.NewTimer(f.cfg.StopGrace)
		defer grace.Stop()
		for _, p := range live {
			select {
			case <-p.exited:
				continue
			case <-grace.C:
				// Fire again immediately for the remaining processes.
				grace.Reset(0)
			}
			if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("fcemu: close %s: kill pid %d: %w", f.cfg.Name, p.pid, err))
			}
			<-p.exited
		}
		f.watchers.Wait()
		f.closeErr = errors.Join(errs...)
	})
	return f.closeErr
}

// Logs returns the trailing output of all processes, stdout and stderr
// interleaved, bounded by Config.LogLimit.
func (f *Function) Logs() string { return f.logs.String() }

// runtimeAPI returns the runtime API handler serving process p.
func (f *Function) runtimeAPI(p *process) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2020-11-11/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		f.serveNext(p, w, r)
	})
	mux.HandleFunc("POST /2020-11-11/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		f.serveAnswer(p, w, r, false)
	})
	mux.HandleFunc("POST /2020-11-11/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		f.serveAnswer(p, w, r, true)
	})
	return mux
}

// serveNext long-polls until an invocation can be handed to p.
func (f *Function) serveNext(p *process, w http.ResponseWriter, r *http.Request) {
	<-p.spawned
	p.readyOnce.Do(func() {
		f.mu.Lock()
		p.readyAt = time.Now()
		f.broadcastLocked()
		f.mu.Unlock()
		close(p.ready)
	})
	for {
		f.mu.Lock()
		var inv *invocation
		if !p.dead && !f.closed && (f.cfg.InstanceConcurrency == 0 || len(p.inflight) < f.cfg.InstanceConcurrency) {
			inv = f.popLocked()
		}
		if inv != nil {
			inv.state = stateRunning
			inv.proc = p
			inv.dispatchedAt = time.Now()
			p.inflight[inv.id] = inv
			p.inst.served++
			if n := len(p.inflight); n > p.inst.peakRunning {
				p.inst.peakRunning = n
			}
			f.broadcastLocked()
			f.mu.Unlock()
			f.writeInvocation(w, inv)
			return
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}

// popLocked removes and returns the oldest queued invocation, or nil.
func (f *Function) popLocked() *invocation {
	for len(f.queue) > 0 {
		inv := f.queue[0]
		f.queue[0] = nil
		f.queue = f.queue[1:]
		if inv.state == stateQueued {
			return inv
		}
	}
	f.queue = nil // drop the drained backing array
	return nil
}

// writeInvocation sends inv to the polling process with the headers
// Function Compute sends.
func (f *Function) writeInvocation(w http.ResponseWriter, inv *invocation) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-fc-request-id", inv.id)
	h.Set("x-fc-function-deadline", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("x-fc-function-timeout", strconv.Itoa(timeoutSeconds(f.cfg.Timeout)))
	h.Set("x-fc-function-name", f.cfg.Name)
	h.Set("x-fc-function-handler", f.cfg.Handler)
	h.Set("x-fc-function-memory", strconv.Itoa(f.cfg.MemoryMB))
	h.Set("x-fc-access-key-id", f.cfg.Credentials.AccessKeyID)
	h.Set("x-fc-access-key-secret", f.cfg.Credentials.AccessKeySecret)
	h.Set("x-fc-security-token", f.cfg.Credentials.SecurityToken)
	h.Set("x-fc-region", f.cfg.Region)
	h.Set("x-fc-account-id", f.cfg.AccountID)
	h.Set("x-fc-retry-count", strconv.Itoa(inv.retryCount))
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	// A failed write means the process went away; its exit fails the
	// invocation, or the deadline does.
	_, _ = w.Write(inv.payload)
}

// timeoutSeconds renders a timeout for x-fc-function-timeout, which the SDK
// parses as whole seconds.
func timeoutSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// serveAnswer records a response or error posted by process p.
func (f *Function) serveAnswer(p *process, w http.ResponseWriter, r *http.Request, isError bool) {
	<-p.spawned
	id := r.PathValue("id")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, fmt.Sprintf("read answer body: %v", err), http.StatusBadRequest)
		return
	}
	now := time.Now()

	f.mu.Lock()
	defer f.mu.Unlock()
	inv := f.active[id]
	if inv == nil || inv.state != stateRunning || inv.proc != p {
		f.counts.lateAnswers++
		http.Error(w, fmt.Sprintf("invocation %s is not running on this instance (finished, timed out or unknown)", id), http.StatusGone)
		return
	}
	if p.firstAnswerAt.IsZero() {
		p.firstAnswerAt = now
		f.coldStarts = append(f.coldStarts, now.Sub(p.startedAt))
	}
	var res *Result
	switch {
	case !now.Before(inv.deadline):
		// The answer raced the deadline and lost, as it would on FC.
		f.counts.lateAnswers++
		res = timeoutResult(inv)
	case isError:
		ie := &InvokeError{}
		if err := json.Unmarshal(body, ie); err != nil || (ie.Message == "" && ie.Type == "") {
			ie = &InvokeError{Message: string(body), Type: "InvalidErrorPayload"}
		}
		res = &Result{Payload: body, Error: ie}
	default:
		res = &Result{Payload: body}
	}
	f.finishLocked(inv, res, nil)
	w.WriteHeader(http.StatusOK)
}

// newID returns a random identifier shaped like a Function Compute request
// ID, with prefix.
func newID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("fcemu: read random bytes: %v", err))
	}
	s := hex.EncodeToString(b[:])
	return prefix + s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
