package pipeline

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"mediastate/shared/apierr"
	"mediastate/shared/trigger"
)

// BatchConcurrency is how many messages of one batch are handled at once.
const BatchConcurrency = 8

// Invoker runs the pipeline over invocation payloads.
type Invoker struct {
	handle Handler
	reject Handler
	unwrap Handler
}

// NewInvoker builds the pipeline: outer middlewares (logging, panic
// recovery, answer budget, dead-lettering) apply to every delivery,
// including payloads that could not even be unwrapped; gate ones
// (signature verification) to every message found in a payload, so that
// a signed but unusable HTTP request counts as verified; inner ones
// (readiness, ...) only to deliveries that reach core.
func NewInvoker(core Handler, outer, gate, inner []Middleware) *Invoker {
	reject := func(ctx context.Context, d *trigger.Delivery) *Result {
		err := d.Unusable
		if err == nil {
			err = apierr.New(apierr.UnsupportedEnvelope, "unusable delivery")
		}
		r := Fail(err, nil)
		// Only HTTP deliveries carry signatures; MNS messages need none.
		r.Verified = d.Kind != "" && d.Kind != trigger.KindHTTP
		return r
	}
	return &Invoker{
		handle: Chain(core, append(append(append([]Middleware{}, outer...), gate...), inner...)...),
		reject: Chain(reject, append(append([]Middleware{}, outer...), gate...)...),
		unwrap: Chain(reject, outer...),
	}
}

// Handle runs one delivery through the pipeline.
func (iv *Invoker) Handle(ctx context.Context, d *trigger.Delivery) *Result { return iv.handle(ctx, d) }

// Reject runs a delivery that failed before decoding (err, which becomes
// d.Unusable) through the outer middlewares, so it is logged and
// dead-lettered.
func (iv *Invoker) Reject(ctx context.Context, d *trigger.Delivery, err error) *Result {
	d.Unusable = err
	return iv.reject(ctx, d)
}

// ItemSummary is one delivery's line in a batch answer.
type ItemSummary struct {
	Index      int     `json:"index"` // position in the batch; 0 for HTTP
	DeliveryID string  `json:"deliveryId,omitempty"`
	Outcome    Outcome `json:"outcome"`
	EventType  string  `json:"eventType,omitempty"`
	ID         string  `json:"id,omitempty"`
	EventID    string  `json:"eventId,omitempty"`
	Version    uint64  `json:"version,omitempty"`
	Code       string  `json:"code,omitempty"`
	Message    string  `json:"message,omitempty"`
}

// Summary answers a non-HTTP invocation.
type Summary struct {
	Trigger string        `json:"trigger"`
	Results []ItemSummary `json:"results"`
}

// Summarize returns the line that answers delivery d with result r: the
// whole body of an HTTP answer, one item of a batch answer.
func Summarize(d *trigger.Delivery, r *Result) ItemSummary {
	s := ItemSummary{Index: d.Index, DeliveryID: d.DeliveryID, Outcome: r.Outcome, Version: r.Store.Version}
	if e := r.Event; e != nil {
		s.EventType, s.ID, s.EventID = e.Type, e.ID, e.EventID
	}
	if r.Err != nil {
		s.Code = string(apierr.CodeOf(r.Err))
		s.Message = apierr.MessageOf(r.Err)
	}
	return s
}

// Invoke processes one invocation payload. For an HTTP trigger it returns
// the trigger.HTTPResponse to answer with (200 when applied or already
// applied, 4xx with a JSON error after the delivery was dead-lettered, 503
// when it must be retried) and never an error. For other triggers each
// message is handled on its own and a Summary is returned; the error is
// non-nil only when some message must be retried, so that the sender (MNS
// through EventBridge) delivers the batch again. Messages already applied
// are then recognised as duplicates. requestID is the FC request id of the
// invocation; every delivery carries it (trigger.Delivery.RequestID).
func (iv *Invoker) Invoke(ctx context.Context, payload []byte, requestID string) (any, error) {
	batch, err := trigger.Unwrap(payload)
	if err != nil {
		d := &trigger.Delivery{Body: payload, Unusable: err, RequestID: requestID}
		if trigger.LooksHTTP(payload) {
			// An unusable HTTP request: nobody vouched for it (its
			// headers were not even read), so it is refused, not kept.
			d.Kind = trigger.KindHTTP
			return httpAnswer(d, iv.unwrap(ctx, d)), nil
		}
		r := iv.unwrap(ctx, d)
		sum := Summary{Trigger: "invocation", Results: []ItemSummary{Summarize(d, r)}}
		if r.Outcome == Retry {
			return sum, fmt.Errorf("invocation payload could not be kept after %v: %w", err, r.Err)
		}
		return sum, nil
	}
	for _, it := range batch.Items {
		it.Delivery.RequestID = requestID
	}
	if batch.Kind == trigger.KindHTTP {
		it := batch.Items[0]
		var r *Result
		if it.Err != nil {
			r = iv.Reject(ctx, it.Delivery, it.Err)
		} else {
			r = iv.Handle(ctx, it.Delivery)
		}
		return httpAnswer(it.Delivery, r), nil
	}
	sum := Summary{Trigger: string(batch.Kind)}
	var retry []string
	// The messages of a batch are independent: handle them concurrently,
	// a few at a time. Updates of one id within this process take turns in
	// the state store, so this adds no contention.
	results := make([]*Result, len(batch.Items))
	var g errgroup.Group
	g.SetLimit(BatchConcurrency)
	for i, it := range batch.Items {
		g.Go(func() error {
			if it.Err != nil {
				results[i] = iv.Reject(ctx, it.Delivery, it.Err)
			} else {
				results[i] = iv.Handle(ctx, it.Delivery)
			}
			return nil
		})
	}
	_ = g.Wait() // the handlers report through results, never an error
	for i, r := range results {
		s := Summarize(batch.Items[i].Delivery, r)
		sum.Results = append(sum.Results, s)
		if r.Outcome == Retry {
			retry = append(retry, fmt.Sprintf("#%d %s: %s", s.Index, s.Code, s.Message))
		}
	}
	if len(retry) > 0 {
		return sum, apierr.Transient(apierr.StorageUnavailable, nil, "%d of %d messages must be retried (%s); the others were handled",
			len(retry), len(batch.Items), strings.Join(retry, "; "))
	}
	return sum, nil
}

// TransientMessage is the whole message of a transient failure in an HTTP
// answer: the details (object keys, the bucket, the cause) go to the log
// only, never to an anonymous caller.
const TransientMessage = "temporarily unable to process the callback; retry later"

// httpAnswer answers an HTTP trigger delivery: the same summary a batch
// item gets, as the JSON body of the status the outcome calls for; a
// transient failure gets its code and TransientMessage.
func httpAnswer(d *trigger.Delivery, r *Result) trigger.HTTPResponse {
	s := Summarize(d, r)
	if r.Outcome == Retry {
		s.Message = TransientMessage
	}
	resp := trigger.JSONResponse(r.StatusCode(), s)
	if r.Outcome == Retry {
		resp.Headers["Retry-After"] = "1"
	}
	return resp
}
