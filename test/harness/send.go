package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
)

// Attempt is one invocation of a delivery.
type Attempt struct {
	Delivery  *Delivery
	RequestID string
	Instance  string
	Done      int64 // completion order among all attempts
}

// DeliveryRecord is what became of one delivery.
type DeliveryRecord struct {
	Delivery *Delivery
	Latency  time.Duration // first send to final answer
	Attempts []*Attempt
	Final    []pipeline.ItemSummary // per message; an HTTP answer's body as its one item
	GaveUp   bool
	Problems []string
}

// Send delivers every delivery of the plan with senders concurrent
// senders, in plan order, retrying failed deliveries up to attempts times
// as VOD and EventBridge do (bounded), and returns the records and the
// wall time.
func Send(ctx context.Context, env *Env, p *Plan, senders, attempts int, tag string) ([]*DeliveryRecord, time.Duration) {
	recs := make([]*DeliveryRecord, len(p.Deliveries))
	var done atomic.Int64
	start := time.Now()
	forEach(senders, len(p.Deliveries), func(i int) {
		recs[i] = deliver(ctx, env, p.Deliveries[i], attempts, tag, &done)
	})
	return recs, time.Since(start)
}

func deliver(ctx context.Context, env *Env, d *Delivery, attempts int, tag string, done *atomic.Int64) *DeliveryRecord {
	rec := &DeliveryRecord{Delivery: d, GaveUp: true}
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(d.ID), 1))
	for n := 0; n < attempts && ctx.Err() == nil; n++ {
		if n > 0 {
			// The sender's backoff, kept short so that runs stay short.
			select {
			case <-time.After(time.Duration(rng.Int64N(int64(min(10*time.Millisecond<<n, 200*time.Millisecond))))):
			case <-ctx.Done():
			}
		}
		reqID := fmt.Sprintf("h-%s-%d-%d", tag, d.ID, n)
		res, err := env.Invoke(ctx, d.Fn, payload(env, d, tag, reqID), reqID)
		a := &Attempt{Delivery: d, RequestID: reqID, Done: done.Add(1)}
		rec.Attempts = append(rec.Attempts, a)
		if err != nil {
			rec.Problems = append(rec.Problems, fmt.Sprintf("attempt %d: %v", n, err))
			continue
		}
		if res.Instance >= 0 {
			a.Instance = fmt.Sprintf("%s#%d/%d", d.Fn, res.Instance, res.PID)
		}
		var retry bool
		if rec.Final, retry = parseAnswer(d, res, &rec.Problems); !retry {
			rec.GaveUp = false
			break
		}
	}
	rec.Latency = time.Since(start)
	return rec
}

// parseAnswer reads the outcome of each message and whether the delivery
// must be sent again.
func parseAnswer(d *Delivery, ans *fcemu.Result, problems *[]string) ([]pipeline.ItemSummary, bool) {
	items := make([]pipeline.ItemSummary, len(d.Items))
	if ans.Error != nil {
		return items, true // a failed batch: EventBridge delivers all of it again
	}
	var hr trigger.HTTPResponse
	var sum pipeline.Summary
	switch {
	case d.HTTP && json.Unmarshal(ans.Payload, &hr) == nil && hr.StatusCode != 0:
		_ = json.Unmarshal([]byte(hr.Body), &items[0])
		return items, hr.StatusCode >= 500 // 503 Retry-After: VOD sends it again; 4xx: it gives up
	case !d.HTTP && json.Unmarshal(ans.Payload, &sum) == nil && len(sum.Results) == len(d.Items):
		retry := false
		for _, r := range sum.Results {
			if r.Index >= 0 && r.Index < len(items) {
				items[r.Index], retry = r, retry || r.Outcome == pipeline.Retry
			}
		}
		return items, retry
	}
	*problems = append(*problems, fmt.Sprintf("answer is not an HTTP response or a summary of %d results: %.200s", len(d.Items), ans.Payload))
	return items, true
}

// payload returns the invocation payload of a delivery: a JSON array of
// CloudEvents, or a signed FC HTTP trigger event (VOD's or IMS's signature
// over the function's callback URL, the timestamp now).
func payload(env *Env, d *Delivery, tag, reqID string) []byte {
	if e := d.Items[0].Event; d.HTTP {
		scheme, key := signature.VOD, localstack.LocalVODKey
		if e.Source == callback.SourceIMS {
			scheme, key = signature.IMS, localstack.LocalIMSKey
		}
		return httpEvent(env, d.Fn, e.Body, tt.SignedHeaders(scheme, env.callbackURL(d.Fn), key, time.Now()), reqID, "203.0.113.7:41000")
	}
	evs := make([][]byte, len(d.Items))
	for i, it := range d.Items {
		evs[i] = tt.MNSEvent(tt.NewID(), it.Event.Body, map[bool]tt.Encoding{false: tt.Plain, true: tt.Base64}[it.Base64])
	}
	return tt.Batch(evs...)
}

// httpEvent returns the FC HTTP trigger event of a POST of body to fn's
// callback URL with headers h from remote, as the front door builds it.
func httpEvent(env *Env, fn string, body []byte, h http.Header, reqID, remote string) []byte {
	if h == nil {
		h = http.Header{"Content-Type": {"application/json"}}
	}
	return tt.JSON(tt.PostEvent(env.callbackURL(fn), body, h, remote, reqID, time.Now()))
}
