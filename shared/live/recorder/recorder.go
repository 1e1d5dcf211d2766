// Package recorder provides the pipeline middlewares of the liverecord
// function that record every trusted Live recording callback, with the
// answer it got, in the notify records (package live/notify, which only
// stores them).
package recorder

import (
	"context"
	"encoding/json"
	"net/http"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/pipeline"
	"mediastate/shared/redact"
	"mediastate/shared/trigger"
)

// Recorder records every delivery of the liverecord function whose body
// names a valid Live domain. It is two pipeline middlewares:
//
//	Log, Recover, Budget, Middleware, DeadLetter | Verify | Ready, Claimer | decode + apply
//
// Middleware sits outside the dead-letter middleware, so that it sees the
// final outcome; after the delivery is handled it writes the record with
// the answer. A delivery without a valid signature (outcome
// pipeline.Refused) is never recorded: the query shows only what the
// callers we trust sent. Claimer sits after verification: it claims the
// delivery's occurrence (notify.Store.Claim: a queue redelivery joins its
// first delivery's) and sets it on the delivery (trigger.Delivery.Occurrence)
// for the stream state, the record and a dead letter; a replayed letter
// brings its occurrence along and is not claimed again. What Middleware
// learns of the body for Claimer (its target and content identity) travels
// in the delivery (trigger.Delivery.Live and EventID), and decoding reuses
// the identity: a Live body is hashed once.
//
// A trusted delivery that failed before it reached Claimer (a signed
// request or an MNS message whose envelope or body was unusable) gets its
// occurrence in a namespace of its own (notify.RefusedID), so that it can never
// take over the occurrence of a processed callback with the same body:
// neither its record (the first recorded outcome wins) nor its receive
// time (which orders status events).
//
// A failure to claim or to record turns the delivery into a Retry (503, or
// the batch is redelivered): the record is never silently missing for a
// delivery answered 200. Retry outcomes are not recorded.
type Recorder struct {
	Store *notify.Store
	// NotifyURL is the callback URL configured (LIVE_CALLBACK_URL).
	NotifyURL string
}

// Middleware returns the outer middleware (see Recorder).
func (rc *Recorder) Middleware() pipeline.Middleware {
	return func(next pipeline.Handler) pipeline.Handler {
		return func(ctx context.Context, d *trigger.Delivery) *pipeline.Result {
			tg, ok := Extract(d.Body)
			if !ok {
				return next(ctx, d)
			}
			if d.EventID == "" {
				id, err := callback.Identity(d.Body)
				if err != nil {
					return next(ctx, d) // unreachable: Extract accepts JSON objects within MaxBodySize only
				}
				d.EventID = id
			}
			eventID := d.EventID
			d.Live = &tg
			r := next(ctx, d)
			if r.Outcome == pipeline.Retry || r.Outcome == pipeline.Refused {
				// Refused: an HTTP callback nobody vouched for (no valid
				// signature). It never enters the records: the query shows
				// only what the callers we trust sent.
				return r
			}
			var occ live.Occurrence
			var err error
			if o := d.Occurrence; o != nil {
				occ = live.Occurrence{Domain: tg.Domain, EventID: eventID, Seq: o.Seq, ReceivedAt: o.ReceivedAt}
			} else {
				if occ, err = rc.Store.Claim(ctx, tg.Domain, notify.RefusedID(eventID), ""); err != nil {
					r.Err = apierr.Transient(apierr.StorageUnavailable, err, "the callback was refused (%s) but its notify record could not be written", r.Outcome)
					r.Outcome = pipeline.Retry
					return r
				}
			}
			if _, err := rc.Store.Put(ctx, occ, rc.record(d, r, tg)); err != nil {
				r.Err = apierr.Transient(apierr.StorageUnavailable, err, "the callback was processed (%s) but its notify record could not be written", r.Outcome)
				r.Outcome = pipeline.Retry
			}
			return r
		}
	}
}

// Claimer returns the inner middleware (see Recorder). Outside Middleware
// it passes deliveries on untouched.
func (rc *Recorder) Claimer() pipeline.Middleware {
	return func(next pipeline.Handler) pipeline.Handler {
		return func(ctx context.Context, d *trigger.Delivery) *pipeline.Result {
			if d.Live == nil || d.EventID == "" {
				return next(ctx, d)
			}
			if d.Occurrence == nil {
				// A replayed letter carries the occurrence its delivery was
				// claimed as; anything else is claimed now.
				occ, err := rc.Store.Claim(ctx, d.Live.Domain, d.EventID, d.MessageID())
				if err != nil {
					return &pipeline.Result{Outcome: pipeline.Retry, Err: err}
				}
				d.Occurrence = &trigger.Occurrence{Seq: occ.Seq, ReceivedAt: occ.ReceivedAt}
			}
			return next(ctx, d)
		}
	}
}

// record builds the record of a delivery and its result.
func (rc *Recorder) record(d *trigger.Delivery, r *pipeline.Result, tg Target) notify.Record {
	rec := notify.Record{AppName: tg.App, DomainName: tg.Domain, StreamName: tg.Stream, NotifyType: tg.Type,
		NotifyContent: string(d.Body), NotifyUrl: rc.NotifyURL, NotifyHeader: HeaderJSON(d.Headers),
		NotifyResponse: string(AnswerBody(d, r)), NotifyResult: notify.ResultSuccess, Description: "success"}
	if r.Event != nil && r.Event.Type != "" {
		rec.NotifyType = r.Event.Type
	}
	if r.Outcome != pipeline.Applied && r.Outcome != pipeline.Duplicate {
		rec.NotifyResult = notify.ResultFailed
		rec.Description = string(apierr.CodeOf(r.Err)) + ": " + apierr.MessageOf(r.Err)
	}
	return rec.Capped()
}

// Target is what a Live callback body says it is about, read leniently so
// that malformed callbacks can be recorded too (callback.DetectLive).
type Target = callback.LiveTarget

// Extract reads the domain, app, stream and type of a Live callback body.
// ok is false when the body is larger than callback.MaxBodySize, is no
// Live body (callback.DetectLive, the rule decoding follows too), or
// has no domain that is a valid id (callback.ValidateID): such deliveries
// are not recorded.
func Extract(body []byte) (Target, bool) {
	if len(body) > callback.MaxBodySize {
		return Target{}, false
	}
	tg, ok := callback.DetectLive(body)
	if !ok || callback.ValidateID("domain", tg.Domain) != nil {
		return Target{}, false
	}
	return tg, true
}

// HeaderJSON renders request headers as NotifyHeader: secrets redacted
// (package redact), an indented JSON object of arrays with sorted names,
// like the API's example; "{}" when there are none.
func HeaderJSON(h http.Header) string {
	if len(h) == 0 {
		return "{}"
	}
	b, err := json.MarshalIndent(redact.Headers(h), "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

// AnswerBody returns the JSON body the pipeline answers d with when its
// result is r: pipeline.Summarize, which is the whole body of an HTTP
// answer and the delivery's line in the answer to an MNS batch.
func AnswerBody(d *trigger.Delivery, r *pipeline.Result) []byte {
	b, _ := json.Marshal(pipeline.Summarize(d, r)) // strings and numbers only: cannot fail
	return b
}
