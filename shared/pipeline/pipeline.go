// Package pipeline processes the deliveries of one invocation: unwrap the
// trigger envelope, verify the signature (HTTP only), decode, apply to
// state, answer. Each concern is a Middleware in a file of its own; Chain
// puts them together and Invoke runs them over an invocation payload.
package pipeline

import (
	"context"
	"net/http"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
)

// Outcome is what became of one delivery.
type Outcome string

// The outcomes.
const (
	// Applied: the event is now part of the state (a new version was written).
	Applied Outcome = "applied"
	// Duplicate: the event was already part of the state; nothing written.
	Duplicate Outcome = "duplicate"
	// DeadLettered: the delivery can never be processed as is; it was kept
	// in the dead-letter area with the reason.
	DeadLettered Outcome = "dead-lettered"
	// Retry: a transient failure; the sender must deliver it again.
	Retry Outcome = "retry"
	// Refused: an HTTP delivery that failed permanently before anyone
	// vouched for it (no valid signature): answered with its error, logged
	// and counted, but nothing of it is stored, so that an anonymous caller
	// cannot make us write (see DeadLetter).
	Refused Outcome = "refused"
)

// Result is the outcome of one delivery, with what the log line reports.
type Result struct {
	Outcome Outcome
	// Err is the failure, for DeadLettered and Retry.
	Err error
	// Event is the decoded event, when decoding got that far.
	Event *callback.Event
	// Foreign is true when the event belongs to another function's family
	// (it is applied all the same: the state is shared).
	Foreign bool
	// Verified is true when the delivery needed no signature or its
	// signature verified.
	Verified bool
	// Store reports the state update.
	Store statestore.Result
	// DeadLetter is the key of the letter written, if any.
	DeadLetter string
}

// Handler processes one delivery. It never returns nil.
type Handler func(ctx context.Context, d *trigger.Delivery) *Result

// Middleware wraps a Handler with one concern.
type Middleware func(Handler) Handler

// Chain wraps h with the middlewares; the first is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Fail returns the Result of a failed delivery: Retry when err is
// transient, otherwise DeadLettered-to-be (the DeadLetter middleware writes
// the letter; until then Outcome says DeadLettered).
func Fail(err error, e *callback.Event) *Result {
	if apierr.IsPermanent(err) {
		return &Result{Outcome: DeadLettered, Err: err, Event: e}
	}
	return &Result{Outcome: Retry, Err: err, Event: e}
}

// StatusCode is the HTTP status that answers a result.
func (r *Result) StatusCode() int {
	switch r.Outcome {
	case Applied, Duplicate:
		return http.StatusOK
	case Retry:
		return http.StatusServiceUnavailable
	}
	switch apierr.CodeOf(r.Err) {
	case apierr.MissingSignature, apierr.SignatureMismatch, apierr.RequestExpired:
		return http.StatusUnauthorized
	case apierr.PayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case apierr.WrongFamily:
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}
