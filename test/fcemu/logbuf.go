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
	changed chan struct{} // closed and replaced on every write
}

// NewLogBuffer returns a buffer keeping the last limit bytes (all when 0).
func NewLogBuffer(limit int) *LogBuffer {
	return &LogBuffer{limit: limit, changed: make(chan struct{})}
}

// Write records p, dropping the oldest bytes beyond the limit. It never
// fails.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.limit > 0 && len(p) >= b.limit:
		b.buf = append(b.buf[:0], p[len(p)-b.limit:]...)
	case b.limit > 0 && len(b.buf)+len(p) > b.limit:
		over := len(b.buf) + len(p) - b.limit
		b.buf = append(append(b.buf[:0], b.buf[over:]...), p...)
	default:
		b.buf = append(b.buf, p...)
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// String returns the kept output.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Tail returns at most the last n bytes of the kept output.
func (b *LogBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf[max(0, len(b.buf)-n):])
}

// WaitFor blocks until cond holds for the kept output, waking up on every
// write, and returns that output; or returns ctx's error when ctx ends
// first.
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

// tee returns a writer that records into b and, when w is not nil, also
// writes to w while holding mu. Stdout and stderr of all processes of one
// Function share mu, so a writer used for both never sees concurrent writes
// from that Function.
func (b *LogBuffer) tee(w io.Writer, mu *sync.Mutex) io.Writer {
	return &teeWriter{buf: b, w: w, mu: mu}
}

// teeWriter is the writer returned by LogBuffer.tee.
type teeWriter struct {
	buf *LogBuffer
	w   io.Writer
	mu  *sync.Mutex
}

// Write records p and forwards it. Errors of the forward writer are ignored
// so that a broken log sink never stalls a function process.
func (t *teeWriter) Write(p []byte) (int, error) {
	_, _ = t.buf.Write(p)
	if t.w != nil {
		t.mu.Lock()
		_, _ = t.w.Write(p)
		t.mu.Unlock()
	}
	return len(p), nil
}
