package pipeline

import (
	"context"

	"mediastate/shared/deadletter"
	"mediastate/shared/trigger"
)

// DeadLetter keeps every delivery that failed permanently in the
// dead-letter store, with the reason. When the letter cannot be written,
// the delivery is turned into a Retry so that it is not lost.
func DeadLetter(s *deadletter.Store, requestID func(context.Context) string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			r := next(ctx, d)
			if r.Outcome != DeadLettered || r.DeadLetter != "" {
				return r
			}
			key, err := s.Put(ctx, d, requestID(ctx), r.Verified, r.Err)
			if err != nil {
				r.Outcome, r.Err = Retry, err
				return r
			}
			r.DeadLetter = key
			return r
		}
	}
}
