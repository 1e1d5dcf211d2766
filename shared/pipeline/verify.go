package pipeline

import (
	"context"

	"mediastate/shared/signature"
	"mediastate/shared/trigger"
)

// Verify checks the signature of HTTP deliveries with the configured
// schemes. Deliveries of other kinds (MNS) carry no signature and pass as
// verified, and so do replayed deliveries (d.Letter set: verified when
// they arrived, or checked by an operator; their timestamps have expired
// since). With off set, nothing is checked and HTTP deliveries pass as
// unverified.
func Verify(set *signature.Set, off bool) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			if d.Kind != trigger.KindHTTP {
				r := next(ctx, d)
				r.Verified = true
				return r
			}
			if d.Letter != "" {
				r := next(ctx, d)
				r.Verified = true
				return r
			}
			if off {
				return next(ctx, d)
			}
			if _, err := set.Verify(d.Headers); err != nil {
				return Fail(err, nil)
			}
			r := next(ctx, d)
			r.Verified = true
			return r
		}
	}
}
