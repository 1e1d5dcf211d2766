package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
)

// Answer is what an invocation returned.
type Answer struct {
	Payload []byte
	// Failed: the function returned an error (or timed out, or crashed).
	Failed bool
	Err    string
	// Instance identifies the process that served it ("" when unknown).
	Instance string
}

// Invoker runs one invocation of a function.
type Invoker interface {
	Invoke(ctx context.Context, fn string, payload []byte, requestID string) (Answer, error)
}

// Keys are the callback keys and URLs the functions are configured with.
type Keys struct {
	URL func(fn string) string
	VOD string
	IMS string
}

// SenderOptions configure the senders.
type SenderOptions struct {
	Senders  int
	Attempts int // per delivery, the first included
	Scenario string
	Keys     Keys
	Seed     uint64
}

// ItemOutcome is the final answer for one message of a delivery.
type ItemOutcome struct {
	Outcome string // applied, duplicate, dead-lettered, retry, or "" when unanswered
	Code    string
	Version uint64
	Status  int // HTTP status, for HTTP deliveries
}

// AttemptRecord is one invocation of a delivery.
type AttemptRecord struct {
	Delivery  *Delivery
	N         int
	RequestID string
	Instance  string
	Failed    bool
	Done      int64 // completion order among all attempts
	Start     time.Time
	Duration  time.Duration
	Items     []ItemOutcome
}

// DeliveryRecord is what became of one delivery.
type DeliveryRecord struct {
	Delivery *Delivery
	Latency  time.Duration // first send to final answer
	Attempts []*AttemptRecord
	Final    []ItemOutcome
	GaveUp   bool
	Problems []string
}

// SendResult gathers the records of a run.
type SendResult struct {
	Records []*DeliveryRecord
	Wall    time.Duration
}

// Send delivers every delivery of the plan with o.Senders concurrent
// senders, in plan order, retrying failed deliveries as VOD and
// EventBridge do (bounded).
func Send(ctx context.Context, inv Invoker, p *Plan, o SenderOptions) *SendResult {
	res := &SendResult{Records: make([]*DeliveryRecord, len(p.Deliveries))}
	var done atomic.Int64
	next := make(chan *Delivery)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Senders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(o.Seed, uint64(w)))
			for d := range next {
				res.Records[d.ID] = deliver(ctx, inv, d, o, rng, &done)
			}
		}(w)
	}
feed:
	for _, d := range p.Deliveries {
		select {
		case next <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	res.Wall = time.Since(start)
	return res
}

func deliver(ctx context.Context, inv Invoker, d *Delivery, o SenderOptions, rng *rand.Rand, done *atomic.Int64) *DeliveryRecord {
	rec := &DeliveryRecord{Delivery: d}
	start := time.Now()
	var payload []byte
	if !d.HTTP {
		payload = buildPayload(o.Scenario, d)
	}
	for n := 0; n < o.Attempts; n++ {
		if n > 0 {
			// The sender's backoff (VOD and EventBridge retry after a
			// while); kept short so that runs stay short.
			backoff := time.Duration(rng.Int64N(int64(min(10*time.Millisecond<<n, 200*time.Millisecond))))
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		reqID := fmt.Sprintf("h-%s-%d-%d", o.Scenario, d.ID, n)
		if d.HTTP {
			payload = httpPayload(d, o.Keys, reqID, time.Now())
		}
		t0 := time.Now()
		ans, err := inv.Invoke(ctx, d.Fn, payload, reqID)
		a := &AttemptRecord{Delivery: d, N: n, RequestID: reqID, Instance: ans.Instance, Start: t0, Duration: time.Since(t0)}
		a.Done = done.Add(1)
		rec.Attempts = append(rec.Attempts, a)
		if err != nil {
			a.Failed = true
			rec.Problems = append(rec.Problems, fmt.Sprintf("attempt %d: %v", n, err))
			continue
		}
		a.Items, a.Failed = parseAnswer(d, ans, &rec.Problems)
		if !a.Failed {
			rec.Final = a.Items
			rec.Latency = time.Since(start)
			return rec
		}
	}
	rec.GaveUp = true
	rec.Latency = time.Since(start)
	if len(rec.Attempts) > 0 {
		rec.Final = rec.Attempts[len(rec.Attempts)-1].Items
	}
	return rec
}

// parseAnswer reads the outcome of each message and whether the delivery
// must be retried.
func parseAnswer(d *Delivery, ans Answer, problems *[]string) ([]ItemOutcome, bool) {
	items := make([]ItemOutcome, len(d.Items))
	if ans.Failed {
		// A failed batch: EventBridge delivers all of it again.
		return items, true
	}
	if d.HTTP {
		var hr trigger.HTTPResponse
		if err := json.Unmarshal(ans.Payload, &hr); err != nil || hr.StatusCode == 0 {
			*problems = append(*problems, fmt.Sprintf("HTTP answer is not an HTTP response: %.200s", ans.Payload))
			return items, true
		}
		var body struct {
			Outcome string `json:"outcome"`
			Version uint64 `json:"version"`
			Code    string `json:"code"`
		}
		_ = json.Unmarshal([]byte(hr.Body), &body)
		items[0] = ItemOutcome{Outcome: body.Outcome, Code: body.Code, Version: body.Version, Status: hr.StatusCode}
		switch {
		case hr.StatusCode == http.StatusOK:
			return items, false
		case hr.StatusCode >= 500:
			return items, true // 503 Retry-After: VOD sends it again
		}
		if items[0].Outcome == "" {
			items[0].Outcome = "dead-lettered"
		}
		return items, false // 4xx: the sender gives up, the letter is kept
	}
	var sum pipeline.Summary
	if err := json.Unmarshal(ans.Payload, &sum); err != nil {
		*problems = append(*problems, fmt.Sprintf("answer is not a summary: %.200s", ans.Payload))
		return items, true
	}
	if len(sum.Results) != len(d.Items) {
		*problems = append(*problems, fmt.Sprintf("summary has %d results for %d messages", len(sum.Results), len(d.Items)))
	}
	retry := false
	for _, r := range sum.Results {
		if r.Index < 0 || r.Index >= len(items) {
			continue
		}
		items[r.Index] = ItemOutcome{Outcome: string(r.Outcome), Code: r.Code, Version: r.Version}
		if r.Outcome == pipeline.Retry {
			retry = true
		}
	}
	return items, retry
}

// buildPayload returns the invocation payload of a non-HTTP delivery: a
// JSON array of CloudEvents, or the raw bad payload.
func buildPayload(scenario string, d *Delivery) []byte {
	if d.Raw {
		return d.Items[0].Bad.Body
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	evs := make([]tt.CloudEvent, len(d.Items))
	for i, it := range d.Items {
		enc := tt.Plain
		if it.Base64 {
			enc = tt.Base64
		}
		data := tt.MNSData{RequestID: fmt.Sprintf("R%s%08X%04X", scenario, d.ID, i),
			MessageID: fmt.Sprintf("M%s%08X%04X", scenario, d.ID, i), MessageBody: enc.Body(itemBody(it))}
		evs[i] = tt.NewCloudEvent(fmt.Sprintf("%s-%d-%d", scenario, d.ID, i), data)
		evs[i].Time, evs[i].AliyunPublishTime = now, now
	}
	return tt.JSON(evs)
}

func itemBody(it *Item) []byte {
	if it.Bad != nil {
		return it.Bad.Body
	}
	return it.Event.Body
}

// httpPayload returns the FC HTTP trigger event of a signed callback, as
// the front door of the local stack builds it: VOD's or IMS's signature
// over the configured callback URL, the timestamp now.
func httpPayload(d *Delivery, k Keys, reqID string, now time.Time) []byte {
	it := d.Items[0]
	url := k.URL(d.Fn)
	scheme, key := signature.VOD, k.VOD
	if it.Event != nil && it.Event.Source == callback.SourceIMS || it.Bad != nil {
		scheme, key = signature.IMS, k.IMS
	}
	if it.Bad != nil && it.Bad.Kind == BadSignature {
		key = "not-the-key"
	}
	h := tt.SignedHeaders(scheme, url, key, now)
	h.Set("User-Agent", "mediastate-harness")
	return tt.JSON(tt.PostEvent(url, itemBody(it), h, "203.0.113.7:41000", reqID, now))
}
