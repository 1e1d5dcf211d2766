package pipeline

import (
	"context"

	"mediastate/shared/signature"
	"mediastate/shared/trigger"
)

// Verify checks the signature of HTTP deliveries with the configured
// schemes. Deliveries of other kinds (MNS) carry no signature and pass as
// verified. With off set, nothing is checked and HTTP deliveries pass as
// unverified.
func Verify(set *signature.Set, off bool) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			if d.Kind != trigger.KindHTTP {
				r := next(ctx, d)
				r.Verified = true
				return r
			}
			if skip, _ := ctx.Value(skipVerifyKey{}).(bool); skip {
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

type skipVerifyKey struct{}

// Verified returns a context in which Verify lets HTTP deliveries through
// as verified: replay uses it for letters whose signature was verified when
// they arrived (the timestamp has expired since).
func Verified(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipVerifyKey{}, true)
}
