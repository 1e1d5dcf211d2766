package pipeline

import (
	"context"
	"fmt"
	"runtime/debug"

	"mediastate/shared/apierr"
	"mediastate/shared/trigger"
)

// Recover turns a panic while processing a delivery into a Retry result
// (a bug must not drop the delivery, nor take the other deliveries of the
// batch down with it). The stack goes into the error for the log line.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) (r *Result) {
			defer func() {
				if p := recover(); p != nil {
					r = &Result{Outcome: Retry, Err: apierr.Transient(apierr.Internal, fmt.Errorf("%v\n%s", p, debug.Stack()), "panic while processing the delivery")}
				}
			}()
			return next(ctx, d)
		}
	}
}
