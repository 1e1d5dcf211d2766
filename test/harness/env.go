package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"mediastate/shared/fcapp"
	"mediastate/shared/ossx"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// Env is a running system under test: functions, the OSS server and a
// client of it.
type Env struct {
	Invoker
	OSS    *ossserver.Server
	Client *ossx.Bucket
	Prefix string
	Keys   Keys
	Logs   *LogSink
	// Stack is set when the functions run as processes.
	Stack *localstack.Stack
	close func() error
}

// Close stops everything.
func (e *Env) Close() error { return e.close() }

// PeakRSS returns, per function, the largest peak RSS of its instances
// (nil in process).
func (e *Env) PeakRSS() map[string]int64 {
	if e.Stack == nil {
		return nil
	}
	out := map[string]int64{}
	for name, f := range e.Stack.Functions {
		for _, v := range f.PeakRSS() {
			out[name] = max(out[name], v)
		}
	}
	return out
}

// PeakRunning returns, per function, the most invocations one instance ran
// at once (nil in process).
func (e *Env) PeakRunning() map[string]int {
	if e.Stack == nil {
		return nil
	}
	out := map[string]int{}
	for name, f := range e.Stack.Functions {
		for _, in := range f.Stats().Instances {
			out[name] = max(out[name], in.PeakRunning)
		}
	}
	return out
}

// EnvOptions configure an Env.
type EnvOptions struct {
	Root      string
	Functions []string
	Instances int
	Timeout   time.Duration
	InProcess bool
	ExtraEnv  []string
}

// StartEnv starts the functions as their built binaries behind the FC
// runtime-API emulator (the local stack), or in process with fcapp.New.
func StartEnv(ctx context.Context, o EnvOptions) (*Env, error) {
	if o.InProcess {
		return startInProcess(o)
	}
	sink := NewLogSink()
	st, err := localstack.Start(ctx, localstack.Options{
		Root: o.Root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: o.Functions,
		Instances: o.Instances, Timeout: o.Timeout, Log: sink, Env: o.ExtraEnv,
	})
	if err != nil {
		return nil, err
	}
	return &Env{
		Invoker: &stackInvoker{st: st}, OSS: st.OSS, Client: st.Client, Prefix: st.Prefix, Logs: sink, Stack: st,
		Keys:  Keys{URL: func(fn string) string { return st.URL + "/" + fn }, VOD: localstack.LocalVODKey, IMS: localstack.LocalIMSKey},
		close: st.Close,
	}, nil
}

type stackInvoker struct{ st *localstack.Stack }

func (s *stackInvoker) Invoke(ctx context.Context, fn string, payload []byte, requestID string) (Answer, error) {
	f, ok := s.st.Functions[fn]
	if !ok {
		return Answer{}, fmt.Errorf("no function %s", fn)
	}
	res, err := f.Invoke(ctx, payload, fcemu.WithRequestID(requestID))
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Payload: res.Payload, Instance: fmt.Sprintf("%s#%d/%d", fn, res.Instance, res.PID)}
	if res.Error != nil {
		a.Failed, a.Err = true, res.Error.Error()
	}
	return a, nil
}

// inProcess runs each function as fcapp Apps in this process, the
// pipeline the binaries run minus fc.Start.
type inProcess struct {
	apps    map[string][]*fcapp.App
	next    atomic.Uint64
	timeout time.Duration
}

func startInProcess(o EnvOptions) (*Env, error) {
	srv, err := ossserver.Start(ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: localstack.LocalAccessKeyID, AccessKeySecret: localstack.LocalAccessKeySecret}},
		Buckets:     []string{localstack.LocalBucket},
	}, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	key := ossx.Key{AccessKeyID: localstack.LocalAccessKeyID, AccessKeySecret: localstack.LocalAccessKeySecret}
	client, err := ossx.New(ossx.Config{Endpoint: srv.URL(), Bucket: localstack.LocalBucket, Credentials: ossx.NewCredentials(key)})
	if err != nil {
		srv.Close()
		return nil, err
	}
	sink := NewLogSink()
	base := "http://harness.invalid"
	ip := &inProcess{apps: map[string][]*fcapp.App{}, timeout: o.Timeout}
	for _, fn := range o.Functions {
		fam, ok := familyOfFunction[fn]
		if !ok {
			srv.Close()
			return nil, fmt.Errorf("in process: %s is not a media function", fn)
		}
		vars := map[string]string{
			"OSS_ENDPOINT": srv.URL(), "OSS_BUCKET": localstack.LocalBucket, "STATE_PREFIX": "mediastate/",
			"OSS_ACCESS_KEY_ID": key.AccessKeyID, "OSS_ACCESS_KEY_SECRET": key.AccessKeySecret,
			"CALLBACK_ALLOW_HTTP": "true", "VOD_CALLBACK_URL": base + "/" + fn, "VOD_CALLBACK_KEYS": localstack.LocalVODKey,
			"IMS_CALLBACK_URL": base + "/" + fn, "IMS_CALLBACK_KEYS": localstack.LocalIMSKey,
			"LIVE_CALLBACK_URL": base + "/" + fn, "LIVE_CALLBACK_KEYS": localstack.LocalLiveKey,
		}
		for _, kv := range o.ExtraEnv {
			if k, v, ok := strings.Cut(kv, "="); ok {
				vars[k] = v
			}
		}
		getenv := func(k string) string { return vars[k] }
		for i := 0; i < max(1, o.Instances); i++ {
			app, err := fcapp.New(fcapp.MediaSpec(fn, fam), getenv, slog.New(slog.NewJSONHandler(sink, nil)))
			if err != nil {
				srv.Close()
				return nil, fmt.Errorf("in process %s: %w", fn, err)
			}
			ip.apps[fn] = append(ip.apps[fn], app)
		}
	}
	return &Env{
		Invoker: ip, OSS: srv, Client: client, Prefix: "mediastate/", Logs: sink,
		Keys:  Keys{URL: func(fn string) string { return base + "/" + fn }, VOD: localstack.LocalVODKey, IMS: localstack.LocalIMSKey},
		close: srv.Close,
	}, nil
}

func (p *inProcess) Invoke(ctx context.Context, fn string, payload []byte, requestID string) (Answer, error) {
	apps := p.apps[fn]
	if len(apps) == 0 {
		return Answer{}, fmt.Errorf("no function %s", fn)
	}
	k := int(p.next.Add(1) % uint64(len(apps)))
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ctx = fccontext.NewContext(ctx, &fccontext.FcContext{RequestID: requestID, Credentials: fccontext.Credentials{
		AccessKeyId: localstack.LocalAccessKeyID, AccessKeySecret: localstack.LocalAccessKeySecret}})
	out, err := apps[k].Handle(ctx, payload)
	a := Answer{Instance: fmt.Sprintf("%s#%d", fn, k)}
	if err != nil {
		a.Failed, a.Err = true, err.Error()
		a.Payload, _ = json.Marshal(map[string]string{"errorMessage": err.Error()})
		return a, nil
	}
	a.Payload, err = json.Marshal(out)
	return a, err
}

// LogSink collects the functions' JSON log lines. The stack gives every
// function the same writer, and a function's output reaches it in chunks
// read from a pipe, which may split a line: a chunk that does not start a
// line is joined to the pending partial line it completes (the one that
// makes valid JSON).
type LogSink struct {
	mu       sync.Mutex
	pending  [][]byte
	lines    [][]byte
	unparsed int
	changed  chan struct{}
}

// NewLogSink returns an empty sink.
func NewLogSink() *LogSink { return &LogSink{changed: make(chan struct{})} }

// Write takes a chunk of output.
func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := p
	if len(data) > 0 && !startsLine(data) && len(s.pending) > 0 {
		nl := indexByte(data, '\n')
		head := data
		if nl >= 0 {
			head = data[:nl]
		}
		joined := -1
		for i, pend := range s.pending {
			cand := append(append([]byte(nil), pend...), head...)
			if nl < 0 || json.Valid(cand) {
				joined = i
				if nl < 0 {
					s.pending[i] = cand
				} else {
					s.line(cand)
					s.pending = slices.Delete(s.pending, i, i+1)
				}
				break
			}
		}
		if nl < 0 {
			if joined < 0 {
				s.unparsed++
			}
			return len(p), nil
		}
		if joined < 0 {
			s.unparsed++
		}
		data = data[nl+1:]
	}
	for len(data) > 0 {
		nl := indexByte(data, '\n')
		if nl < 0 {
			s.pending = append(s.pending, append([]byte(nil), data...))
			break
		}
		s.line(data[:nl])
		data = data[nl+1:]
	}
	return len(p), nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// startsLine reports whether a chunk starts a line: slog's JSON lines
// start with {"time": and the SDK's own lines with "FC " (FC Invoke Start
// RequestId: ...). A chunk that starts with anything else (even '{', as the
// "oss" object does) continues a line.
func startsLine(b []byte) bool {
	return bytes.HasPrefix(b, []byte(`{"time":`)) || bytes.HasPrefix(b, []byte("FC "))
}

// line keeps a complete line if it is a delivery log line.
func (s *LogSink) line(l []byte) {
	if len(l) == 0 || l[0] != '{' {
		return // the SDK's own lines
	}
	if !json.Valid(l) {
		s.unparsed++
		return
	}
	if strings.Contains(string(l), `"msg":"delivery"`) {
		s.lines = append(s.lines, append([]byte(nil), l...))
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// Count returns the number of delivery lines so far.
func (s *LogSink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// WaitFor blocks until at least n delivery lines arrived or ctx ends.
func (s *LogSink) WaitFor(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		have, ch := len(s.lines), s.changed
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d delivery log lines: %w", have, n, ctx.Err())
		}
	}
}

// LogLine is the part of a delivery log line the harness uses.
type LogLine struct {
	RequestID string           `json:"requestId"`
	Function  string           `json:"function"`
	Trigger   string           `json:"trigger"`
	Index     int              `json:"index"`
	Outcome   string           `json:"outcome"`
	Status    int              `json:"status"`
	OSS       map[string]int64 `json:"oss"`
	Requests  int64            `json:"ossRequests"`
	Conflicts int              `json:"conflicts"`
	Retries   int              `json:"retries"`
	Duration  float64          `json:"durationMs"`
	EventType string           `json:"eventType"`
	ID        string           `json:"id"`
	EventID   string           `json:"eventId"`
	Version   uint64           `json:"version"`
	Code      string           `json:"code"`
}

// Take returns the delivery lines so far, parsed, and forgets them, with
// the number of output lines that could not be read.
func (s *LogSink) Take() ([]LogLine, int, error) {
	s.mu.Lock()
	lines, unparsed := s.lines, s.unparsed
	s.lines, s.unparsed = nil, 0
	s.mu.Unlock()
	out := make([]LogLine, 0, len(lines))
	var errs []error
	for _, l := range lines {
		var ll LogLine
		if err := json.Unmarshal(l, &ll); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ll)
	}
	return out, unparsed, errors.Join(errs...)
}

var _ io.Writer = (*LogSink)(nil)
