package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n, ceiling := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 4: 80 * time.Millisecond, 30: 80 * time.Millisecond} {
		for i := 0; i < 200; i++ {
			if d := p.Backoff(n); d < 0 || d > ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [0, %v]", n, d, ceiling)
			}
		}
	}
	if d := p.Backoff(0); d != 0 {
		t.Fatalf("Backoff(0) = %v", d)
	}
}

func TestDoStopsOnSuccessAndPermanent(t *testing.T) {
	p := Policy{Attempts: 5, Base: time.Microsecond, Max: time.Microsecond}
	calls := 0
	err := Do(context.Background(), p, func(int) (bool, error) {
		calls++
		if calls < 3 {
			return true, errors.New("transient")
		}
		return false, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d, want nil, 3", err, calls)
	}
	calls = 0
	perm := errors.New("permanent")
	if err := Do(context.Background(), p, func(int) (bool, error) { calls++; return false, perm }); err != perm || calls != 1 {
		t.Fatalf("err=%v calls=%d, want permanent after 1", err, calls)
	}
	calls = 0
	if err := Do(context.Background(), p, func(int) (bool, error) { calls++; return true, perm }); err != perm || calls != 5 {
		t.Fatalf("err=%v calls=%d, want last error after 5 attempts", err, calls)
	}
}

func TestWaitRespectsDeadlineReserve(t *testing.T) {
	p := Policy{Base: time.Millisecond, Max: time.Millisecond, Reserve: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if p.Wait(ctx, 1) {
		t.Fatal("Wait returned true although the reserve exceeds the time left")
	}
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if (Policy{}).Wait(cancelled, 1) {
		t.Fatal("Wait returned true on a cancelled context")
	}
}
