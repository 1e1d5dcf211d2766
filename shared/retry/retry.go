// Package retry runs an operation again after transient failures, with
// jittered exponential backoff bounded by the context's deadline.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy says how often and how long to retry.
type Policy struct {
	// Attempts is the maximum number of attempts, the first included.
	// Zero means no limit other than the context.
	Attempts int
	// Base is the backoff before the second attempt; it doubles each time.
	Base time.Duration
	// Max caps one backoff.
	Max time.Duration
	// Reserve is time kept back before the context's deadline: no new
	// attempt starts when less than Reserve would remain after the backoff,
	// so the caller has time to answer.
	Reserve time.Duration
}

// Default is the policy used for object storage requests.
var Default = Policy{Attempts: 8, Base: 20 * time.Millisecond, Max: 800 * time.Millisecond, Reserve: 250 * time.Millisecond}

// Backoff returns the full-jitter backoff before attempt n (n >= 1 is the
// second attempt): a uniform random duration in [0, min(Max, Base*2^(n-1))].
func (p Policy) Backoff(n int) time.Duration {
	if n < 1 || p.Base <= 0 {
		return 0
	}
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Wait sleeps for the backoff before attempt n. It returns false, without
// sleeping through, when the policy's attempts are used up, the context
// ends, or the deadline (less Reserve) would pass before the attempt.
func (p Policy) Wait(ctx context.Context, n int) bool {
	if p.Attempts > 0 && n >= p.Attempts {
		return false
	}
	d := p.Backoff(n)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)-d < p.Reserve {
		return false
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Do calls op until it succeeds, returns a non-retryable error, or the
// policy gives up; it returns op's last error. op reports whether its error
// may be retried.
func Do(ctx context.Context, p Policy, op func(attempt int) (retryable bool, err error)) error {
	for n := 0; ; n++ {
		retryable, err := op(n)
		if err == nil || !retryable {
			return err
		}
		if !p.Wait(ctx, n+1) {
			return err
		}
	}
}
