package pipeline

import (
	"context"
	"slices"
	"time"

	"mediastate/shared/apierr"
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

// MaxFuture is how far ahead of our clock an event time may lie: the
// default SIGNATURE_MAX_SKEW (5 minutes) plus a 10-minute margin. Under
// "latest EventTime wins" an event from further ahead could never be
// superseded, so it is refused (EventTimeInFuture) and dead-lettered.
const MaxFuture = 15 * time.Minute

// now is the clock Apply compares event times with.
var now = time.Now

// Apply returns the innermost handler: decode the delivery's body (with
// its content identity, when a middleware computed it: d.EventID) and
// apply the event. families are the families the function is meant for; events
// of other families are applied all the same (the Applier refuses those it
// cannot hold, e.g. Live events in media state) and flagged Foreign. An
// event whose time lies more than MaxFuture ahead is never applied.
func Apply(a Applier, families ...callback.Family) Handler {
	return func(ctx context.Context, d *trigger.Delivery) *Result {
		e, err := callback.DecodeIdentified(d.Body, d.EventID)
		if err != nil {
			return Fail(err, nil)
		}
		if limit := now().Add(MaxFuture); e.Time.After(limit) {
			return Fail(apierr.Field(apierr.EventTimeInFuture, e.Type, "EventTime",
				"is %s, more than %s ahead of our clock (%s): a time that far ahead cannot be trusted",
				e.Time.UTC().Format(time.RFC3339), MaxFuture, now().UTC().Format(time.RFC3339)), e)
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
