package fcemu

import (
	"context"
	"io"
	"sync"
)

// LogBuffer keeps the trailing output of processes, at most limit bytes
// (all of it when limit is 0). It is an io.Writer safe for concurrent use,
// and lets a caller wait, without sleeping, for output it expects.
type LogBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	changed chan struct{} // closed and replaced at every write
}

// NewLogBuffer returns a buffer keeping the last limit bytes (all when 0).
func NewLogBuffer(limit int) *LogBuffer {
	return &LogBuffer{limit: limit, changed: make(chan struct{})}
}

// Write records p, dropping the oldest bytes beyond the limit.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; b.limit > 0 && over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// String returns the kept output.
func (b *LogBuffer) String() string { return b.Tail(-1) }

// Tail returns at most the last n bytes of the kept output (all for n < 0).
func (b *LogBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 {
		n = len(b.buf)
	}
	return string(b.buf[max(0, len(b.buf)-n):])
}

// WaitFor blocks until cond holds for the kept output, evaluated again at
// every write, and returns that output; or returns ctx's error (and the
// output) when ctx ends first.
func (b *LogBuffer) WaitFor(ctx context.Context, cond func(out string) bool) (string, error) {
	for {
		b.mu.Lock()
		out, ch := string(b.buf), b.changed
		b.mu.Unlock()
		if cond(out) {
			return out, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

// tee returns a writer that records into b and also writes to w (when not
// nil) holding mu, so that a writer shared by stdout and stderr never sees
// concurrent writes from one Function. w's errors are ignored: a broken
// sink must not stall a function.
func (b *LogBuffer) tee(w io.Writer, mu *sync.Mutex) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		b.Write(p)
		if w != nil {
			mu.Lock()
			w.Write(p)
			mu.Unlock()
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
