package pipeline

import (
	"context"

	"mediastate/shared/apierr"
	"mediastate/shared/trigger"
)

// Ready runs check (e.g. "the bucket is not versioned") before a delivery
// is processed, inside the answer budget. A failed check is never the
// delivery's fault: it becomes a Retry (503, or a failed batch), so the
// sender delivers again once storage answers or the configuration is
// fixed; nothing is dead-lettered into storage that is not fit for it.
func Ready(check func(context.Context) error) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			if err := check(ctx); err != nil {
				if apierr.IsPermanent(err) {
					err = apierr.Transient(apierr.CodeOf(err), err, "function not ready: %s", apierr.MessageOf(err))
				}
				return &Result{Outcome: Retry, Err: err}
			}
			return next(ctx, d)
		}
	}
}
