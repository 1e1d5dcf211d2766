package pipeline

import (
	"context"
	"sync/atomic"

	"mediastate/shared/deadletter"
	"mediastate/shared/trigger"
)

// refused counts the deliveries of this process refused without a letter.
var refused atomic.Int64

// RefusedTotal returns how many deliveries this process refused without
// storing anything (outcome Refused) since it started.
func RefusedTotal() int64 { return refused.Load() }

// DeadLetter keeps every delivery that failed permanently in the
// dead-letter store, with the reason. When the letter cannot be written,
// the delivery is turned into a Retry so that it is not lost.
//
// An HTTP delivery whose signature did not verify (missing, wrong or
// expired, or never checked because the request was unusable) is not
// kept: it becomes Refused, and only the log line and RefusedTotal tell of
// it, so that the number and size of objects written never depend on an
// anonymous caller. trustUnverified keeps them all the same; it is for
// CALLBACK_AUTH=off, where no HTTP delivery is verified.
func DeadLetter(s *deadletter.Store, trustUnverified bool) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			r := next(ctx, d)
			if r.Outcome != DeadLettered || r.DeadLetter != "" {
				return r
			}
			if d.Letter != "" {
				r.DeadLetter = d.Letter // replay keeps the letter it came from
				return r
			}
			if d.Kind == trigger.KindHTTP && !r.Verified && !trustUnverified {
				r.Outcome = Refused
				refused.Add(1)
				return r
			}
			key, err := s.Put(ctx, d, d.RequestID, r.Verified, r.Err)
			if err != nil {
				r.Outcome, r.Err = Retry, err
				return r
			}
			r.DeadLetter = key
			return r
		}
	}
}
