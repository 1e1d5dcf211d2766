package fcemu

import (
	"io"
	"sync"
)

// logBuffer keeps the trailing output of the processes and forwards it to
// optional writers. It is safe for concurrent use.
type logBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

// newLogBuffer returns a buffer keeping the last limit bytes.
func newLogBuffer(limit int) *logBuffer {
	return &logBuffer{limit: limit}
}

// append records p, dropping the oldest bytes beyond the limit.
func (b *logBuffer) append(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) >= b.limit {
		b.buf = append(b.buf[:0], p[len(p)-b.limit:]...)
		return
	}
	if over := len(b.buf) + len(p) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
}

// String returns the kept output.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// tail returns at most the last n bytes of the kept output.
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > n {
		return string(b.buf[len(b.buf)-n:])
	}
	return string(b.buf)
}

// tee returns a writer that records into b and, when w is not nil, also
// writes to w while holding mu. Stdout and stderr of all processes of one
// Function share mu, so a writer used for both never sees concurrent writes
// from that Function.
func (b *logBuffer) tee(w io.Writer, mu *sync.Mutex) io.Writer {
	return &teeWriter{buf: b, w: w, mu: mu}
}

// teeWriter is the writer returned by logBuffer.tee.
type teeWriter struct {
	buf *logBuffer
	w   io.Writer
	mu  *sync.Mutex
}

// Write records p and forwards it. Errors of the forward writer are ignored
// so that a broken log sink never stalls a function process.
func (t *teeWriter) Write(p []byte) (int, error) {
	t.buf.append(p)
	if t.w != nil {
		t.mu.Lock()
		_, _ = t.w.Write(p)
		t.mu.Unlock()
	}
	return len(p), nil
}
