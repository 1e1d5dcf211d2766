package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/signature"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

const body = `{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","Status":"success","MediaId":"m-1","ProjectId":"p"}`

// core is a stub innermost handler that records it was called.
func core(called *int, r *Result) Handler {
	return func(ctx context.Context, d *trigger.Delivery) *Result {
		*called++
		c := *r
		return &c
	}
}

func httpDelivery(h http.Header) *trigger.Delivery {
	return &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(body), Headers: h, HTTP: &trigger.HTTPRequest{Method: "POST", RawPath: "/media"}}
}

func signed(url, key string, now time.Time) http.Header {
	return tt.SignedHeaders(signature.VOD, url, key, now)
}

func TestVerify(t *testing.T) {
	set, err := signature.NewSet(&signature.Verifier{Scheme: signature.VOD, CallbackURL: "https://cb/media", Keys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	ok := &Result{Outcome: Applied}
	tests := []struct {
		name     string
		off      bool
		d        *trigger.Delivery
		calls    int
		code     apierr.Code
		verified bool
	}{
		{"signed", false, httpDelivery(signed("https://cb/media", "k", time.Now())), 1, "", true},
		{"unsigned", false, httpDelivery(http.Header{}), 0, apierr.MissingSignature, false},
		{"wrong key", false, httpDelivery(signed("https://cb/media", "x", time.Now())), 0, apierr.SignatureMismatch, false},
		{"MNS needs none", false, &trigger.Delivery{Kind: trigger.KindEventBridgeMNS, Body: []byte(body)}, 1, "", true},
		{"auth off", true, httpDelivery(http.Header{}), 1, "", false},
		{"replay of a verified letter", false, replayed(httpDelivery(signed("https://cb/media", "k", time.Now().Add(-time.Hour)))), 1, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			r := Verify(set, tc.off)(core(&calls, ok))(context.Background(), tc.d)
			if calls != tc.calls || apierr.CodeOf(r.Err) != tc.code || r.Verified != tc.verified {
				t.Fatalf("calls=%d code=%q verified=%v, want %d %q %v", calls, apierr.CodeOf(r.Err), r.Verified, tc.calls, tc.code, tc.verified)
			}
			if tc.code != "" && (r.Outcome != DeadLettered || r.StatusCode() != http.StatusUnauthorized) {
				t.Fatalf("outcome %s status %d", r.Outcome, r.StatusCode())
			}
		})
	}
}

// replayed marks d as replayed from a dead letter.
func replayed(d *trigger.Delivery) *trigger.Delivery {
	d.Letter = "media/x.json"
	return d
}

func TestBudget(t *testing.T) {
	budgets := map[string]time.Duration{"vod": 4 * time.Second, "ims": 2500 * time.Millisecond}
	var left time.Duration
	var has bool
	h := Budget(budgets)(func(ctx context.Context, d *trigger.Delivery) *Result {
		var dl time.Time
		dl, has = ctx.Deadline()
		left = time.Until(dl)
		return &Result{Outcome: Applied}
	})
	ims := http.Header{}
	ims.Set("X-ICE-SIGNATURE", "x")
	h(context.Background(), httpDelivery(ims))
	if !has || left > 2500*time.Millisecond || left < 2*time.Second {
		t.Fatalf("IMS delivery: deadline in %v (set %v), want about 2.5 s", left, has)
	}
	h(context.Background(), httpDelivery(http.Header{}))
	if left > 2500*time.Millisecond {
		t.Fatalf("unsigned delivery got %v, want the smallest budget", left)
	}
	h(context.Background(), &trigger.Delivery{Kind: trigger.KindBare})
	if has {
		t.Fatal("a non-HTTP delivery got a budget")
	}
}

func TestRecover(t *testing.T) {
	r := Recover()(func(context.Context, *trigger.Delivery) *Result { panic("boom") })(context.Background(), &trigger.Delivery{})
	if r.Outcome != Retry || !apierr.Is(r.Err, apierr.Internal) || !strings.Contains(r.Err.Error(), "boom") {
		t.Fatalf("panic result: %+v", r)
	}
}

func TestDeadLetter(t *testing.T) {
	env := osstest.Start(t) // over the OSS protocol and the real SDK
	dl := deadletter.New(env.Bucket(t), "p/", "media")
	bad := apierr.Field(apierr.MissingField, "X", "MediaId", "required")
	d := httpDelivery(signed("https://cb/media", "k", time.Now()))
	d.RequestID = "req-1"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	calls := 0
	r := DeadLetter(dl, false)(core(&calls, &Result{Outcome: DeadLettered, Err: bad, Verified: true}))(ctx, d)
	if r.Outcome != DeadLettered || r.DeadLetter != dl.Key("http", nil, d.Body, true, apierr.MissingField) {
		t.Fatalf("result %+v", r)
	}
	l, err := dl.Get(ctx, r.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	if string(l.Raw()) != body || l.Code != "MissingField" || l.Function != "media" || !l.Verified || l.RequestID != "req-1" ||
		l.Headers.Get("X-Vod-Signature") != "[redacted]" || l.Headers.Get("X-Vod-Timestamp") == "" || l.Method != "POST" {
		t.Fatalf("letter %+v", l)
	}
	// The same delivery again is kept once.
	r2 := DeadLetter(dl, false)(core(&calls, &Result{Outcome: DeadLettered, Err: bad, Verified: true}))(ctx, d)
	if r2.DeadLetter != r.DeadLetter {
		t.Fatalf("second letter %s != %s", r2.DeadLetter, r.DeadLetter)
	}
	// An unverified HTTP delivery is refused and counted, never kept,
	// unless CALLBACK_AUTH=off trusts them all.
	before := RefusedTotal()
	du := httpDelivery(http.Header{})
	du.Body = []byte(`{"unsigned":1}`)
	ru := DeadLetter(dl, false)(core(&calls, &Result{Outcome: DeadLettered, Err: apierr.New(apierr.MissingSignature, "none")}))(ctx, du)
	if ru.Outcome != Refused || ru.DeadLetter != "" || ru.StatusCode() != http.StatusUnauthorized || RefusedTotal() != before+1 {
		t.Fatalf("unverified delivery: %+v (refused %d -> %d)", ru, before, RefusedTotal())
	}
	if _, err := dl.Find(ctx, "http", nil, du.Body); !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("a letter was kept for an unverified delivery: %v", err)
	}
	rt := DeadLetter(dl, true)(core(&calls, &Result{Outcome: DeadLettered, Err: bad}))(ctx, du)
	if rt.Outcome != DeadLettered || !strings.HasSuffix(rt.DeadLetter, ".u.MissingField.json") {
		t.Fatalf("trusted unverified delivery: %+v", rt)
	}
	// Success passes untouched.
	if r := DeadLetter(dl, false)(core(&calls, &Result{Outcome: Applied}))(ctx, d); r.DeadLetter != "" {
		t.Fatal("an applied delivery was dead-lettered")
	}
	// When the letter cannot be written, the delivery must be retried, not lost.
	if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	d3 := &trigger.Delivery{Kind: trigger.KindBare, Body: []byte("{other}")}
	r3 := DeadLetter(dl, false)(core(&calls, &Result{Outcome: DeadLettered, Err: bad}))(short, d3)
	if r3.Outcome != Retry || apierr.IsPermanent(r3.Err) || r3.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("letter write failed but result is %+v", r3)
	}
}

func TestLogLine(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	e := &callback.Event{Source: callback.SourceVOD, Type: "ProduceMediaComplete", ID: "m-1", EventID: "e1-x"}
	h := Log(logger, "editing")(func(ctx context.Context, d *trigger.Delivery) *Result {
		return &Result{Outcome: Applied, Event: e, Store: statestore.Result{Version: 3, Conflicts: 1}}
	})
	d := httpDelivery(signed("https://cb/editing", "secret-key", time.Now()))
	d.RequestID = "req-9"
	h(context.Background(), d)
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	for k, want := range map[string]any{"requestId": "req-9", "function": "editing", "outcome": "applied", "eventType": "ProduceMediaComplete",
		"id": "m-1", "eventId": "e1-x", "version": 3.0, "conflicts": 1.0, "status": 200.0, "ossRequests": 0.0} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	if strings.Contains(buf.String(), "ProjectId") || strings.Contains(buf.String(), "X-Vod") {
		t.Fatalf("log line carries the body or headers: %s", buf.String())
	}
}

// invoker builds a pipeline whose core decodes and returns outcome/err.
func invoker(t *testing.T, outcome Outcome, err error) (*Invoker, *deadletter.Store) {
	env := osstest.Memory(nil)
	dl := deadletter.New(env.Bucket(t), "p/", "media")
	c := func(ctx context.Context, d *trigger.Delivery) *Result {
		e, derr := callback.Decode(d.Body)
		if derr != nil {
			return Fail(derr, nil)
		}
		if err != nil {
			return Fail(err, e)
		}
		return &Result{Outcome: outcome, Event: e}
	}
	return NewInvoker(c, []Middleware{Recover(), DeadLetter(dl, false)}, nil, nil), dl
}

func TestInvokeHTTP(t *testing.T) {
	iv, _ := invoker(t, Applied, nil)
	ev := tt.JSON(tt.ExampleHTTPEvent(body, false, map[string]string{}, "r1"))
	out, err := iv.Invoke(context.Background(), ev, "req-i")
	resp, ok := out.(trigger.HTTPResponse)
	if err != nil || !ok || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"outcome":"applied"`) {
		t.Fatalf("answer %+v %v", out, err)
	}
	iv, _ = invoker(t, "", apierr.Transient(apierr.StorageUnavailable, errors.New("dial: refused"), "state of m-1"))
	out, err = iv.Invoke(context.Background(), ev, "req-i")
	resp = out.(trigger.HTTPResponse)
	if err != nil || resp.StatusCode != 503 || resp.Headers["Retry-After"] != "1" || strings.Contains(resp.Body, "dial") || !strings.Contains(resp.Body, TransientMessage) {
		t.Fatalf("transient answer %+v %v (the cause must not leak)", resp, err)
	}
}

func TestInvokeBatch(t *testing.T) {
	batch := tt.Batch(tt.MNSEvent("m1", []byte(body), tt.Plain), tt.MNSEvent("m2", []byte("{not json"), tt.Plain))
	iv, dl := invoker(t, Applied, nil)
	out, err := iv.Invoke(context.Background(), batch, "req-i")
	sum, ok := out.(Summary)
	if err != nil || !ok || len(sum.Results) != 2 || sum.Results[0].Outcome != Applied || sum.Results[1].Outcome != DeadLettered ||
		sum.Results[1].Code != "MalformedJSON" {
		t.Fatalf("summary %+v %v", out, err)
	}
	var keys []string
	dl.Each(context.Background(), func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 1 {
		t.Fatalf("%d dead letters, want 1", len(keys))
	}
	if l, err := dl.Get(context.Background(), keys[0]); err != nil || l.RequestID != "req-i" {
		t.Fatalf("letter %+v, %v: want the invocation's request id req-i", l, err)
	}
	iv, _ = invoker(t, "", apierr.Transient(apierr.Conflict, nil, "busy"))
	if _, err := iv.Invoke(context.Background(), []byte(batch), "req-i"); err == nil || apierr.IsPermanent(err) {
		t.Fatalf("a batch with a message to retry must fail transiently: %v", err)
	}
	// A payload that is no envelope at all is kept whole.
	out, err = iv.Invoke(context.Background(), []byte("\x00garbage"), "req-i")
	if sum := out.(Summary); err != nil || sum.Results[0].Outcome != DeadLettered || sum.Trigger != "invocation" {
		t.Fatalf("garbage: %+v %v", out, err)
	}
}

func TestReplay(t *testing.T) {
	iv, dl := invoker(t, Applied, nil)
	ctx := context.Background()
	good := &trigger.Delivery{Kind: trigger.KindEventBridgeMNS, Body: []byte(body)}
	if _, err := dl.Put(ctx, good, "", true, apierr.Transient(apierr.StorageUnavailable, nil, "was down")); err != nil {
		t.Fatal(err)
	}
	if _, err := dl.Put(ctx, httpDelivery(http.Header{}), "", false, apierr.New(apierr.MissingSignature, "unsigned")); err != nil {
		t.Fatal(err)
	}
	if _, err := dl.Put(ctx, &trigger.Delivery{Kind: trigger.KindBare, Body: []byte("{bad")}, "", true, apierr.New(apierr.MalformedJSON, "bad")); err != nil {
		t.Fatal(err)
	}
	rep, err := Replay(ctx, iv, dl, ReplayOptions{})
	if err != nil || rep.Seen != 3 || rep.Replayed != 1 || rep.Skipped != 1 || rep.Kept != 1 {
		t.Fatalf("replay %+v %v", rep, err)
	}
	rep, err = Replay(ctx, iv, dl, ReplayOptions{IncludeUnverified: true})
	if err != nil || rep.Seen != 2 || rep.Replayed != 1 || rep.Kept != 1 {
		t.Fatalf("second replay %+v %v", rep, err)
	}
}

func TestReady(t *testing.T) {
	calls := 0
	notReady := apierr.New(apierr.InvalidConfig, "bucket has versioning Enabled")
	r := Ready(func(context.Context) error { return notReady })(core(&calls, &Result{Outcome: Applied}))(context.Background(), httpDelivery(nil))
	if calls != 0 || r.Outcome != Retry || apierr.IsPermanent(r.Err) || r.StatusCode() != http.StatusServiceUnavailable ||
		!strings.Contains(apierr.MessageOf(r.Err), "versioning") {
		t.Fatalf("not ready: calls=%d %+v", calls, r)
	}
	r = Ready(func(context.Context) error { return nil })(core(&calls, &Result{Outcome: Applied}))(context.Background(), httpDelivery(nil))
	if calls != 1 || r.Outcome != Applied {
		t.Fatalf("ready: calls=%d %+v", calls, r)
	}
}

// TestFutureEventTime: an event whose time lies more than MaxFuture ahead
// is refused with EventTimeInFuture and never reaches the applier.
func TestFutureEventTime(t *testing.T) {
	applied := 0
	a := applierFunc(func(context.Context, *trigger.Delivery, *callback.Event) (statestore.Result, error) {
		applied++
		return statestore.Result{Written: true}, nil
	})
	h := Apply(a)
	at := func(ts time.Time) *trigger.Delivery {
		return &trigger.Delivery{Kind: trigger.KindBare, Body: []byte(`{"EventType":"ProduceMediaComplete","EventTime":"` +
			ts.UTC().Format(time.RFC3339) + `","Status":"success","MediaId":"m-1","ProjectId":"p"}`)}
	}
	if r := h(context.Background(), at(time.Now().Add(MaxFuture-time.Minute))); r.Outcome != Applied {
		t.Fatalf("an event within the bound: %+v", r)
	}
	r := h(context.Background(), at(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))
	if r.Outcome != DeadLettered || apierr.CodeOf(r.Err) != apierr.EventTimeInFuture || applied != 1 {
		t.Fatalf("an event from 9999: %+v (applied %d)", r, applied)
	}
}

type applierFunc func(context.Context, *trigger.Delivery, *callback.Event) (statestore.Result, error)

func (f applierFunc) Apply(ctx context.Context, d *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
	return f(ctx, d, e)
}

// TestInvokeOversizedHTTP: an HTTP event over the limit is answered 413
// before anything of it is parsed, and refused (nothing kept).
func TestInvokeOversizedHTTP(t *testing.T) {
	iv, dl := invoker(t, Applied, nil)
	ev := tt.JSON(tt.ExampleHTTPEvent(strings.Repeat("\x01", trigger.MaxHTTPPayloadSize/6+1), false, map[string]string{}, "r1"))
	out, err := iv.Invoke(context.Background(), ev, "req-i")
	resp, ok := out.(trigger.HTTPResponse)
	if err != nil || !ok || resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(resp.Body, `"outcome":"refused"`) {
		t.Fatalf("answer %+v %v", out, err)
	}
	n := 0
	if err := dl.Each(context.Background(), func(string) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d letters kept for a refused request (%v)", n, err)
	}
}

// TestApplyReusesIdentity: a content identity an earlier middleware
// computed (d.EventID, the Live recorder's) is used, not computed again.
func TestApplyReusesIdentity(t *testing.T) {
	var got string
	a := applierFunc(func(_ context.Context, _ *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
		got = e.EventID
		return statestore.Result{Written: true}, nil
	})
	d := &trigger.Delivery{Kind: trigger.KindBare, Body: []byte(body), EventID: "e1-given"}
	if r := Apply(a)(context.Background(), d); r.Outcome != Applied || got != "e1-given" {
		t.Fatalf("with d.EventID: %s, event id %q", r.Outcome, got)
	}
	d.EventID = ""
	want, _ := callback.Identity([]byte(body))
	if r := Apply(a)(context.Background(), d); r.Outcome != Applied || got != want {
		t.Fatalf("without: %s, event id %q, want %q", r.Outcome, got, want)
	}
}
