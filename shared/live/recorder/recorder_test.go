package recorder

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/retry"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

const statusJSON = `{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_paused"}`

func TestExtract(t *testing.T) {
	cases := []struct {
		body string
		ok   bool
		want Target
	}{
		{statusJSON, true, Target{Domain: "live.example.com", App: "app1", Stream: "s1", Type: "record_paused"}},
		{`{"domain":"d.com","app":"a","stream":"s","uri":"x.m3u8","stop_time":1}`, true, Target{Domain: "d.com", App: "a", Stream: "s", Type: "file_created"}},
		{` {"Domain":"d.com","APP":"a b","stream":7}`, true, Target{Domain: "d.com", App: "a b", Stream: "7"}},
		{`{"domain":"d.com","event":{"x":1}}`, true, Target{Domain: "d.com"}},
		{`{"domain":"d/x","app":"a"}`, false, Target{}},
		{`{"app":"a","stream":"s","event":"record_started"}`, false, Target{}},
		{`{"EventType":"FileUploadComplete","domain":"d.com"}`, false, Target{}},
		{`not json`, false, Target{}},
		{`{"domain":"d.com"`, false, Target{}},
		{`["d.com"]`, false, Target{}},
		{`{"domain":"d.com","pad":"` + strings.Repeat("x", callback.MaxBodySize) + `"}`, false, Target{}},
		{`{"domain":"D.Example.COM","app":"A","stream":"S"}`, true, Target{Domain: "d.example.com", App: "A", Stream: "S"}}, // domains are case-insensitive
	}
	for _, c := range cases {
		got, ok := Extract([]byte(c.body))
		if ok != c.ok || got != c.want {
			t.Errorf("Extract(%.60s) = %+v %v, want %+v %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

// clock is a settable clock for the stores.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }

var t0 = time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB, env *osstest.Env, o notify.Options) *notify.Store {
	t.Helper()
	if o.Retry == (retry.Policy{}) {
		o.Retry = osstest.Fast
	}
	s, err := notify.NewStore(env.Bucket(t), "p/", o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHeaderJSON(t *testing.T) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Ali-Live-Signature": {"abc123"}, "Ali-Live-Timestamp": {"1700000000"}}
	got := HeaderJSON(h)
	want := "{\n  \"Ali-Live-Signature\": [\n    \"[redacted]\"\n  ],\n  \"Ali-Live-Timestamp\": [\n    \"1700000000\"\n  ],\n  \"Content-Type\": [\n    \"application/json; charset=utf-8\"\n  ]\n}"
	if got != want {
		t.Fatalf("HeaderJSON:\n%s\nwant\n%s", got, want)
	}
	if HeaderJSON(nil) != "{}" {
		t.Fatal("no headers")
	}
}

// fakeCore is the inner pipeline: it records what it saw and answers r.
type fakeCore struct {
	calls   int
	eventID string // the identity the recorder passed on (d.EventID)
	occ     live.Occurrence
	r       func(d *trigger.Delivery) *pipeline.Result
}

func (f *fakeCore) handle(ctx context.Context, d *trigger.Delivery) *pipeline.Result {
	f.calls++
	f.eventID = d.EventID
	f.occ = live.Occurrence{}
	if o := d.Occurrence; o != nil {
		id, _ := callback.Identity(d.Body)
		f.occ = live.Occurrence{Domain: "live.example.com", EventID: id, Seq: o.Seq, ReceivedAt: o.ReceivedAt}
	}
	return f.r(d)
}

// chain is the recorder's place in the pipeline around a fake signature
// check (which refuses with *refuse when set) and core.
func chain(rc *Recorder, refuse *error, core *fakeCore) pipeline.Handler {
	verify := func(next pipeline.Handler) pipeline.Handler {
		return func(ctx context.Context, d *trigger.Delivery) *pipeline.Result {
			if *refuse != nil {
				return &pipeline.Result{Outcome: pipeline.DeadLettered, Err: *refuse, DeadLetter: "x"}
			}
			return next(ctx, d)
		}
	}
	return pipeline.Chain(core.handle, rc.Middleware(), verify, rc.Claimer())
}

func TestRecorderMiddleware(t *testing.T) {
	env := osstest.Memory(nil)
	c := newClock(t0)
	s := newStore(t, env, notify.Options{Now: c.now})
	rc := &Recorder{Store: s, NotifyURL: "https://cb.example.com/liverecord"}
	ctx := context.Background()
	ev, err := callback.Decode([]byte(statusJSON))
	if err != nil {
		t.Fatal(err)
	}
	core := &fakeCore{r: func(*trigger.Delivery) *pipeline.Result {
		return &pipeline.Result{Outcome: pipeline.Applied, Event: ev, Store: statestore.Result{Version: 3, Written: true}}
	}}
	var refuse error
	h := chain(rc, &refuse, core)
	d := &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(statusJSON), DeliveryID: "req-1",
		Headers: http.Header{"Ali-Live-Signature": {"deadbeef"}, "Content-Type": {"application/json"}}}
	if r := h(ctx, d); r.Outcome != pipeline.Applied {
		t.Fatalf("outcome %s %v", r.Outcome, r.Err)
	}
	if core.eventID != ev.EventID {
		t.Fatalf("identity passed on: %q, want %q", core.eventID, ev.EventID)
	}
	if core.occ.EventID != ev.EventID || core.occ.Seq != 1 || !core.occ.ReceivedAt.Equal(t0) {
		t.Fatalf("occurrence passed on: %+v", core.occ)
	}
	st, err := s.Get(ctx, "live.example.com", ev.EventID, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := notify.Record{AppName: "app1", Description: "success", DomainName: "live.example.com", NotifyContent: statusJSON,
		NotifyResult: notify.ResultSuccess, NotifyTime: "2024-04-10T12:00:00Z", NotifyType: "record_paused", NotifyUrl: rc.NotifyURL,
		NotifyHeader: "{\n  \"Ali-Live-Signature\": [\n    \"[redacted]\"\n  ],\n  \"Content-Type\": [\n    \"application/json\"\n  ]\n}",
		StreamName:   "s1",
		NotifyResponse: `{"index":0,"deliveryId":"req-1","outcome":"applied","eventType":"record_paused","id":"live.example.com/app1/s1","eventId":"` + ev.EventID +
			`","version":3}`}
	if st.Record != want {
		t.Fatalf("record\n%+v\nwant\n%+v", st.Record, want)
	}

	// A retry a minute later is the same occurrence: no second record, the
	// first answer kept.
	c.set(t0.Add(time.Minute))
	core.r = func(*trigger.Delivery) *pipeline.Result {
		return &pipeline.Result{Outcome: pipeline.Duplicate, Event: ev, Store: statestore.Result{Version: 3}}
	}
	h(ctx, d)
	if core.occ.Seq != 1 || !core.occ.ReceivedAt.Equal(t0) {
		t.Fatalf("retry occurrence %+v", core.occ)
	}
	page, _ := s.Query(ctx, notify.Query{Domain: "live.example.com", Start: t0, End: t0.Add(time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 1 || page.Records[0].NotifyResponse != want.NotifyResponse {
		t.Fatalf("after a retry: %+v", page)
	}

	// A refused delivery (bad signature) of the same body within the window
	// is recorded as failed, in its own namespace: the genuine record and
	// occurrence are untouched.
	c.set(t0.Add(90 * time.Second))
	refuse = apierr.New(apierr.SignatureMismatch, "live: bad signature")
	calls := core.calls
	h(ctx, &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(statusJSON)})
	if core.calls != calls {
		t.Fatal("a refused delivery reached the core")
	}
	page, _ = s.Query(ctx, notify.Query{Domain: "live.example.com", Result: notify.ResultFailed, Start: t0, End: t0.Add(2 * time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 1 || page.Records[0].Description != "SignatureMismatch: live: bad signature" || page.Records[0].NotifyType != "record_paused" ||
		page.Records[0].NotifyTime != "2024-04-10T12:01:30Z" || page.Records[0].NotifyHeader != "{}" ||
		!strings.Contains(page.Records[0].NotifyResponse, `"code":"SignatureMismatch"`) {
		t.Fatalf("refused record: %+v", page)
	}
	if st, err := s.Get(ctx, "live.example.com", notify.RefusedID(ev.EventID), 1); err != nil || st.Record.NotifyResult != notify.ResultFailed {
		t.Fatalf("refused occurrence: %+v %v", st, err)
	}
	// A forged delivery ahead of a genuine one cannot take its occurrence.
	forged := `{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_resumed"}`
	h(ctx, &trigger.Delivery{Body: []byte(forged)})
	refuse = nil
	c.set(t0.Add(100 * time.Second))
	core.r = func(*trigger.Delivery) *pipeline.Result { return &pipeline.Result{Outcome: pipeline.Applied} }
	h(ctx, &trigger.Delivery{Body: []byte(forged)})
	if core.occ.Seq != 1 || !core.occ.ReceivedAt.Equal(t0.Add(100*time.Second)) {
		t.Fatalf("genuine occurrence after a forged one: %+v", core.occ)
	}
	page, _ = s.Query(ctx, notify.Query{Domain: "live.example.com", Start: t0, End: t0.Add(2 * time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 4 || page.Records[0].NotifyResult != notify.ResultSuccess || page.Records[1].NotifyResult != notify.ResultFailed {
		t.Fatalf("records: %+v", page)
	}

	// A Retry outcome is not recorded; a body without a domain is passed on
	// without a claim.
	calls = core.calls
	core.r = func(*trigger.Delivery) *pipeline.Result {
		return &pipeline.Result{Outcome: pipeline.Retry, Err: apierr.Transient(apierr.StorageUnavailable, nil, "down")}
	}
	h(ctx, &trigger.Delivery{Body: []byte(`{"domain":"live.example.com","app":"a","stream":"s","event":"record_resumed"}`)})
	env.Server.ResetStats()
	h(ctx, &trigger.Delivery{Body: []byte(`{"EventType":"FileUploadComplete"}`)})
	if core.calls != calls+2 || core.occ != (live.Occurrence{}) {
		t.Fatalf("calls %d occurrence %+v", core.calls-calls, core.occ)
	}
	if n := len(env.Server.Stats().Requests); n != 0 {
		t.Fatalf("a body without a domain made requests: %v", env.Server.Stats().Requests)
	}
	page, _ = s.Query(ctx, notify.Query{Domain: "live.example.com", Start: t0, End: t0.Add(2 * time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 4 {
		t.Fatalf("records after a retry outcome: %d, want 4", page.Total)
	}
}

// TestRecorderStorageFailures: a claim that cannot be made stops the
// delivery as a Retry before it is processed; a lost answer to the claim
// is resolved; a record that cannot be written turns the outcome to Retry.
func TestRecorderStorageFailures(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env, notify.Options{})
	rc := &Recorder{Store: s}
	core := &fakeCore{r: func(*trigger.Delivery) *pipeline.Result { return &pipeline.Result{Outcome: pipeline.Applied} }}
	var refuse error
	h := chain(rc, &refuse, core)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := &trigger.Delivery{Body: []byte(statusJSON)}

	if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 1, Ops: []string{"PutObject"}}); err != nil {
		t.Fatal(err)
	}
	r := h(ctx, d)
	if r.Outcome != pipeline.Retry || core.calls != 0 || apierr.IsPermanent(r.Err) {
		t.Fatalf("claim failure: %s %v, core called %d times", r.Outcome, r.Err, core.calls)
	}

	// The claim lands, then storage fails: the record cannot be written.
	core.r = func(*trigger.Delivery) *pipeline.Result {
		if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 1, Ops: []string{"PutObject"}}); err != nil {
			t.Error(err)
		}
		return &pipeline.Result{Outcome: pipeline.Applied}
	}
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	r = h(ctx, d)
	if r.Outcome != pipeline.Retry || core.calls != 1 || !apierr.Is(r.Err, apierr.StorageUnavailable) {
		t.Fatalf("record write failure: %s %v, core called %d times", r.Outcome, r.Err, core.calls)
	}
	// The redelivery joins the claim and the record is written once.
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	core.r = func(*trigger.Delivery) *pipeline.Result { return &pipeline.Result{Outcome: pipeline.Applied} }
	if r = h(ctx, d); r.Outcome != pipeline.Applied || core.occ.Seq != 1 {
		t.Fatalf("redelivery: %s %v %+v", r.Outcome, r.Err, core.occ)
	}
	// Lost answers (the write landed, the client cannot know) are resolved.
	if err := env.Server.SetFaults(ossserver.Faults{LostResponseRate: 0.4, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	d2 := &trigger.Delivery{Body: []byte(`{"domain":"live.example.com","app":"app1","stream":"s2","event":"record_started"}`)}
	for i := 0; i < 3; i++ {
		if r = h(ctx, d2); r.Outcome != pipeline.Applied || core.occ.Seq != 1 {
			t.Fatalf("delivery %d with lost answers: %s %v %+v", i, r.Outcome, r.Err, core.occ)
		}
	}
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	if env.Server.Stats().Faults.LostResponses == 0 {
		t.Fatal("no answer was lost: the test tested nothing")
	}
	page, err := s.Query(ctx, notify.Query{Domain: "live.example.com", Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), PageSize: 10, PageNumber: 1})
	if err != nil || page.Total != 2 {
		t.Fatalf("records: %+v %v", page, err)
	}
	var resp map[string]any
	if err := json.Unmarshal([]byte(page.Records[0].NotifyResponse), &resp); err != nil || resp["outcome"] != "applied" {
		t.Fatalf("NotifyResponse %q", page.Records[0].NotifyResponse)
	}
}

// TestRecorderSkipsRefused: a delivery without a valid signature (outcome
// Refused) leaves no claim and no record, whatever it names.
func TestRecorderSkipsRefused(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env, notify.Options{})
	rc := &Recorder{Store: s}
	core := &fakeCore{r: func(*trigger.Delivery) *pipeline.Result { t.Fatal("core reached"); return nil }}
	refusing := func(next pipeline.Handler) pipeline.Handler {
		return func(ctx context.Context, d *trigger.Delivery) *pipeline.Result {
			return &pipeline.Result{Outcome: pipeline.Refused, Err: apierr.New(apierr.MissingSignature, "none")}
		}
	}
	h := pipeline.Chain(core.handle, rc.Middleware(), refusing, rc.Claimer())
	r := h(context.Background(), &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(statusJSON)})
	if r.Outcome != pipeline.Refused {
		t.Fatalf("outcome %s", r.Outcome)
	}
	page, err := env.Bucket(t).List(context.Background(), ossx.ListOptions{Prefix: "p/"})
	if err != nil || len(page.Objects) != 0 {
		t.Fatalf("a refused delivery wrote %+v (%v)", page.Objects, err)
	}
}
