package pipeline

import (
	"context"
	"time"

	"mediastate/shared/signature"
	"mediastate/shared/trigger"
)

// Budget bounds the processing of an HTTP delivery by how long its sender
// waits for the answer (VOD 5 s, IMS 3 s), so that a transient failure is
// answered with 503, and retried by the sender, before the sender gives up
// on its own. budgets maps a scheme name (vod, ims, live) to the time
// allowed; unsigned requests get the smallest. Other deliveries keep the
// invocation's deadline.
func Budget(budgets map[string]time.Duration) Middleware {
	smallest := time.Duration(0)
	for _, b := range budgets {
		if smallest == 0 || b < smallest {
			smallest = b
		}
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			if d.Kind != trigger.KindHTTP || smallest == 0 {
				return next(ctx, d)
			}
			b := smallest
			for _, s := range signature.Schemes {
				if s.Present(d.Headers) {
					if v, ok := budgets[s.Name]; ok {
						b = v
					}
				}
			}
			ctx, cancel := context.WithTimeout(ctx, b)
			defer cancel()
			return next(ctx, d)
		}
	}
}
