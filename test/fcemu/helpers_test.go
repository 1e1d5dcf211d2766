package fcemu

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogBufferKeepsTail(t *testing.T) {
	t.Parallel()
	b := NewLogBuffer(8)
	b.Write([]byte("abc"))
	b.Write([]byte("defgh"))
	if got := b.String(); got != "abcdefgh" {
		t.Errorf("at the limit: %q", got)
	}
	b.Write([]byte("ij"))
	if got := b.String(); got != "cdefghij" {
		t.Errorf("after overflow: %q, want cdefghij", got)
	}
	b.Write([]byte("0123456789"))
	if got := b.String(); got != "23456789" {
		t.Errorf("after an oversized write: %q, want 23456789", got)
	}
	if got := b.Tail(3); got != "789" {
		t.Errorf("tail(3) = %q", got)
	}
	var sink strings.Builder
	w := b.tee(&sink, new(sync.Mutex))
	if n, err := w.Write([]byte("xy")); n != 2 || err != nil || sink.String() != "xy" || !strings.HasSuffix(b.String(), "xy") {
		t.Errorf("tee write: n %d, err %v, sink %q, buffer %q", n, err, sink.String(), b.String())
	}
}

func TestLogBufferWaitFor(t *testing.T) {
	t.Parallel()
	b := NewLogBuffer(0)
	done := make(chan string)
	go func() {
		out, err := b.WaitFor(context.Background(), func(out string) bool { return strings.Contains(out, "ready") })
		if err != nil {
			out = err.Error()
		}
		done <- out
	}()
	b.Write([]byte("starting\n"))
	b.Write([]byte("ready\n"))
	if out := <-done; out != "starting\nready\n" {
		t.Errorf("WaitFor returned %q", out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.WaitFor(ctx, func(string) bool { return false }); err != context.Canceled {
		t.Errorf("WaitFor after cancel: %v", err)
	}
	if got := b.String(); got != "starting\nready\n" {
		t.Errorf("unbounded buffer kept %q", got)
	}
}

func TestInvokeErrorAndTimeoutHeader(t *testing.T) {
	t.Parallel()
	posted := &InvokeError{Message: "bad", Type: "ValidationError"}
	if posted.Error() != "ValidationError: bad" || errors.Unwrap(posted) != nil {
		t.Errorf("posted error: %q", posted.Error())
	}
	if untyped := (&InvokeError{Message: "raw"}); untyped.Error() != "raw" {
		t.Errorf("untyped error: %q", untyped.Error())
	}
	to := timeoutResult(3 * time.Second).Error
	if !errors.Is(to, ErrTimeout) || to.Message != "Function time out after 3s" {
		t.Errorf("timeout error: %v", to)
	}
	for d, want := range map[time.Duration]int{
		0: 1, 300 * time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60,
	} {
		if got := timeoutSeconds(d); got != want {
			t.Errorf("timeoutSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}
