package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/test/localstack"
)

// Env is a running system under test: the local stack (the functions as
// their binaries behind the FC emulator, or in process as their main
// builds them) and the sink of their log lines.
type Env struct {
	*localstack.Stack
	Logs *LogSink
}

// StartEnv starts the local stack with the functions fns.
func StartEnv(ctx context.Context, cfg *Config, fns []string, extraEnv []string) (*Env, error) {
	sink := NewLogSink()
	st, err := localstack.Start(ctx, localstack.Options{Root: cfg.Root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: fns,
		Instances: cfg.Instances, Timeout: functionTimeout, Log: sink, Env: extraEnv, BinCache: cfg.BinCache, InProcess: cfg.InProcess})
	if err != nil {
		return nil, err
	}
	return &Env{st, sink}, nil
}

// callbackURL is the URL the function fn verifies callbacks against.
func (e *Env) callbackURL(fn string) string { return e.URL + "/" + fn }

// PeakRSS returns, per function, the largest peak RSS (VmHWM) of its
// instances and the most invocations one of them ran at once (nil in
// process).
func (e *Env) PeakRSS() (map[string]int64, map[string]int) {
	if len(e.Functions) == 0 {
		return nil, nil
	}
	rss, running := map[string]int64{}, map[string]int{}
	for name, f := range e.Functions {
		rss[name] = slices.Max(append(f.PeakRSS(), 0))
		for _, in := range f.Stats().Instances {
			running[name] = max(running[name], in.PeakRunning)
		}
	}
	return rss, running
}

// LogLine is the part of a function's per-delivery log line the harness
// uses.
type LogLine struct {
	Msg       string           `json:"msg"`
	RequestID string           `json:"requestId"`
	Index     int              `json:"index"`
	Outcome   string           `json:"outcome"`
	OSS       map[string]int64 `json:"oss"`
	Conflicts int              `json:"conflicts"`
	Retries   int              `json:"retries"`
	EventID   string           `json:"eventId"`
	Version   uint64           `json:"version"`
}

// LogSink collects the functions' delivery log lines. The stack gives
// every function the same writer, and a function's output reaches it in
// chunks read from a pipe, which may end inside a line: a chunk that does
// not start a line is joined to the pending partial line it completes
// (the one that makes valid JSON).
type LogSink struct {
	mu       sync.Mutex
	pending  [][]byte
	lines    []LogLine
	unparsed int
	changed  chan struct{}
}

// NewLogSink returns an empty sink.
func NewLogSink() *LogSink { return &LogSink{changed: make(chan struct{})} }

// Write takes a chunk of output.
func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	segs := bytes.Split(p, []byte("\n")) // the last one is unfinished ("" when p ends a line)
	for i, seg := range segs {
		// slog's lines start with {"time": and the SDK's own with "FC "; a
		// chunk that starts with anything else continues a pending line.
		if i == 0 && len(s.pending) > 0 && !bytes.HasPrefix(p, []byte(`{"time":`)) && !bytes.HasPrefix(p, []byte("FC ")) {
			k := slices.IndexFunc(s.pending, func(pend []byte) bool { return len(segs) == 1 || json.Valid(append(slices.Clip(pend), seg...)) })
			if k < 0 {
				s.unparsed++
				continue
			}
			seg = append(s.pending[k], seg...)
			s.pending = slices.Delete(s.pending, k, k+1)
		}
		if i < len(segs)-1 {
			s.line(seg)
		} else if len(seg) > 0 {
			s.pending = append(s.pending, bytes.Clone(seg))
		}
	}
	return len(p), nil
}

// line keeps a complete line if it is a delivery log line (but the
// warm-up's, which may come after the scenario started).
func (s *LogSink) line(l []byte) {
	if len(l) == 0 || l[0] != '{' {
		return // the SDK's own lines
	}
	var ll LogLine
	if err := json.Unmarshal(l, &ll); err != nil {
		s.unparsed++
		return
	}
	if ll.Msg == "delivery" && !strings.HasPrefix(ll.RequestID, warmupPrefix) {
		s.lines = append(s.lines, ll)
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// Lines waits until at least want delivery lines came (or ctx ends: an
// error, as is an unreadable line), returns them by "requestId/index" and
// forgets them.
func (s *LogSink) Lines(ctx context.Context, want int) (map[string]*LogLine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.lines) < want && ctx.Err() == nil {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		s.mu.Lock()
	}
	var errs []error
	if len(s.lines) < want {
		errs = append(errs, fmt.Errorf("%d of %d delivery log lines: %w", len(s.lines), want, ctx.Err()))
	}
	if s.unparsed > 0 {
		errs = append(errs, fmt.Errorf("%d log lines could not be read", s.unparsed))
	}
	out := map[string]*LogLine{}
	for i, l := range s.lines {
		out[fmt.Sprintf("%s/%d", l.RequestID, l.Index)] = &s.lines[i]
	}
	s.lines, s.unparsed = nil, 0
	return out, errors.Join(errs...)
}

// forEach runs f(0..n-1) on workers goroutines and waits for them.
func forEach(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(max(1, workers), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// percentile returns the q-quantile (nearest rank) of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[max(0, min(len(s)-1, int(q*float64(len(s))+0.999999)-1))]
}
