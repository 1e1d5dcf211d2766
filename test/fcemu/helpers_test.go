package fcemu

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogBufferKeepsTail(t *testing.T) {
	t.Parallel()
	b := newLogBuffer(8)
	b.append([]byte("abc"))
	b.append([]byte("defgh"))
	if got := b.String(); got != "abcdefgh" {
		t.Errorf("at the limit: %q", got)
	}
	b.append([]byte("ij"))
	if got := b.String(); got != "cdefghij" {
		t.Errorf("after overflow: %q, want cdefghij", got)
	}
	b.append([]byte("0123456789"))
	if got := b.String(); got != "23456789" {
		t.Errorf("after an oversized write: %q, want 23456789", got)
	}
	if got := b.tail(3); got != "789" {
		t.Errorf("tail(3) = %q", got)
	}
	var sink strings.Builder
	w := b.tee(&sink, new(sync.Mutex))
	if n, err := w.Write([]byte("xy")); n != 2 || err != nil || sink.String() != "xy" || !strings.HasSuffix(b.String(), "xy") {
		t.Errorf("tee write: n %d, err %v, sink %q, buffer %q", n, err, sink.String(), b.String())
	}
}

func TestInvokeErrorAndTimeoutHeader(t *testing.T) {
	t.Parallel()
	posted := &InvokeError{Message: "bad", Type: "ValidationError"}
	if posted.Error() != "ValidationError: bad" || !posted.FromFunction() || errors.Unwrap(posted) != nil {
		t.Errorf("posted error: %q, from function %v", posted.Error(), posted.FromFunction())
	}
	if untyped := (&InvokeError{Message: "raw"}); untyped.Error() != "raw" {
		t.Errorf("untyped error: %q", untyped.Error())
	}
	to := timeoutResult(&invocation{timeout: 3 * time.Second}).Error
	if !errors.Is(to, ErrTimeout) || to.FromFunction() || to.Message != "Function time out after 3s" {
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
