package pipeline

import (
	"context"
	"slices"

	"mediastate/shared/callback"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
)

// Applier applies one decoded event, from delivery d, to the state it
// belongs to. What earlier middlewares learned of the delivery (such as
// its Live occurrence) travels in d.
type Applier interface {
	Apply(ctx context.Context, d *trigger.Delivery, e *callback.Event) (statestore.Result, error)
}

// Apply returns the innermost handler: decode the delivery's body and apply
// the event. families are the families the function is meant for; events
// of other families are applied all the same (the Applier refuses those it
// cannot hold, e.g. Live events in media state) and flagged Foreign.
func Apply(a Applier, families ...callback.Family) Handler {
	return func(ctx context.Context, d *trigger.Delivery) *Result {
		e, err := callback.Decode(d.Body)
		if err != nil {
			return Fail(err, nil)
		}
		res, err := a.Apply(ctx, d, e)
		if err != nil {
			r := Fail(err, e)
			r.Store = res
			return r
		}
		r := &Result{Outcome: Duplicate, Event: e, Store: res, Foreign: !slices.Contains(families, e.Family)}
		if res.Written {
			r.Outcome = Applied
		}
		return r
	}
}
