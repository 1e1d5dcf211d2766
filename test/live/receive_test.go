package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/signature"
	"mediastate/shared/statestore"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/schemacheck"
)

// TestSignedHTTPCallbacks sends every kind of Live recording callback over
// HTTP with the Live signature, then checks the answers, the records (every
// field) and the stream state.
func TestSignedHTTPCallbacks(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("http")
	start := time.Now().UTC().Truncate(time.Second)
	stop := time.Now().Unix()
	bodies := []string{
		fileBody(domain, "s1", "record/app1/s1/1.m3u8", stop),
		statusBody(domain, "s1", "record_started"),
		statusBody(domain, "s1", "record_paused"),
		statusBody(domain, "s1", "record_resumed"),
		fmt.Sprintf(`{"domain":%q,"app":"app1","stream":"s1","event":"record_error","description":"disk full"}`, domain),
		statusBody(domain, "s1", "record_force_transcode_fail"),
		statusBody(domain, "s1", "file_created"),
		statusBody(domain, "s1", "transformat_error"),
	}
	types := []string{"file_created", "record_started", "record_paused", "record_resumed", "record_error", "record_force_transcode_fail", "file_created", "transformat_error"}
	answers := map[string]string{}
	for i, b := range bodies {
		if i > 0 {
			afterReceived(t, domain, bodies[i-1])
		}
		a := sendSigned(t, b, "")
		var got struct{ Outcome, EventType, EventID string }
		if err := json.Unmarshal(a.body, &got); err != nil || a.status != 200 || got.Outcome != "applied" || got.EventType != types[i] ||
			got.EventID != identity(t, b) {
			t.Fatalf("callback %d: %d %s", i, a.status, a.body)
		}
		answers[b] = string(a.body)
	}
	end := time.Now().UTC()

	q := query(t, recent(domain), "")
	if q.status != 200 || q.TotalNum != len(bodies) || len(q.CallbackList) != len(bodies) || q.TotalPage != 1 || q.PageSize != 500 {
		t.Fatalf("query: %d %s", q.status, q.raw)
	}
	var sts []*notify.Stored
	for _, b := range bodies {
		sts = append(sts, stored(t, domain, b))
	}
	sortStored(sts)
	for i, r := range q.CallbackList {
		want := sts[i].Record
		if r != want {
			t.Fatalf("record %d\n%+v\nwant (stored)\n%+v", i, r, want)
		}
		body := r.NotifyContent
		nt, err := time.Parse(notify.TimeLayout, r.NotifyTime)
		if err != nil || nt.Before(start) || nt.After(end) {
			t.Errorf("NotifyTime %q not within [%v, %v]", r.NotifyTime, start, end)
		}
		if r.NotifyResponse != answers[body] {
			t.Errorf("NotifyResponse %s, but %s was answered", r.NotifyResponse, answers[body])
		}
		if r.DomainName != domain || r.AppName != "app1" || r.StreamName != "s1" || r.NotifyResult != "success" || r.Description != "success" ||
			r.NotifyUrl != callbackURL() {
			t.Errorf("record %+v", r)
		}
		var hdr map[string][]string
		if err := json.Unmarshal([]byte(r.NotifyHeader), &hdr); err != nil {
			t.Fatalf("NotifyHeader %q: %v", r.NotifyHeader, err)
		}
		if hdr["Ali-Live-Signature"][0] != "[redacted]" || hdr["Ali-Live-Timestamp"][0] == "" || hdr["Content-Type"][0] != "application/json; charset=utf-8" ||
			!strings.HasPrefix(r.NotifyHeader, "{\n  \"") {
			t.Errorf("NotifyHeader %s", r.NotifyHeader)
		}
	}
	for i, b := range bodies {
		if !hasType(q.CallbackList, b, types[i]) {
			t.Errorf("no record of type %s for %s", types[i], b)
		}
	}

	s, _, err := streams.Get(context.Background(), domain, "app1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := live.Codec.Marshal(s)
	schemacheck.Check(t, live.Schema, doc)
	if len(s.Files) != 1 || s.Files[0].URI != "record/app1/s1/1.m3u8" || s.Files[0].Duration != 60.5 || s.Files[0].StopTime.Unix() != stop {
		t.Errorf("files %+v", s.Files)
	}
	// The status is the status event received last (by stored receive time).
	var last *notify.Stored
	for _, b := range bodies[1:] {
		st := stored(t, domain, b)
		if last == nil || st.ReceivedAtMs > last.ReceivedAtMs || (st.ReceivedAtMs == last.ReceivedAtMs && st.EventID > last.EventID) {
			last = st
		}
	}
	if s.Status == nil || s.Status.EventID != last.EventID || s.Status.TimeSource != live.TimeFromReceived ||
		s.Status.Time.UnixMilli() != last.ReceivedAtMs {
		t.Errorf("status %+v, want the event %s received at %d", s.Status, last.EventID, last.ReceivedAtMs)
	}
	if s.State != live.StateError || s.LastError == nil || s.LastError.NotifyType != "transformat_error" {
		t.Errorf("state %s lastError %+v", s.State, s.LastError)
	}
}

// TestForgedCallback: an unsigned copy of a genuine callback, sent just
// before it, is refused and never recorded (the query shows only what the
// callers we trust sent); the genuine callback gets its record (success)
// and occurrence (receive time), and the stream state takes only it.
func TestForgedCallback(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("forged")
	body := statusBody(domain, "s1", "record_paused")
	started := statusBody(domain, "s1", "record_started")
	if a := sendSigned(t, started, ""); a.status != 200 {
		t.Fatalf("started: %d %s", a.status, a.body)
	}
	if a := post(t, body, map[string]string{"Content-Type": "application/json"}); a.status != 401 {
		t.Fatalf("forged: %d %s", a.status, a.body)
	}
	st, _, err := streams.Get(context.Background(), domain, "app1", "s1")
	if err != nil || st.State != live.StateRecording {
		t.Fatalf("state after the forged callback: %+v %v", st, err)
	}
	afterReceived(t, domain, started)
	genuine := sendSigned(t, body, "")
	if genuine.status != 200 || !strings.Contains(string(genuine.body), `"outcome":"applied"`) {
		t.Fatalf("genuine: %d %s", genuine.status, genuine.body)
	}
	q := query(t, recent(domain, "StreamName", "s1", "AppName", "app1"), "")
	if q.TotalNum != 2 {
		t.Fatalf("records: %s", q.raw)
	}
	var ok, failed int
	for _, r := range q.CallbackList {
		switch {
		case r.NotifyContent == body && r.NotifyResult == "success" && r.NotifyResponse == string(genuine.body):
			ok++
		case r.NotifyContent == body && r.NotifyResult == "failed" && strings.HasPrefix(r.Description, "MissingSignature"):
			failed++
		}
	}
	if ok != 1 || failed != 0 {
		t.Fatalf("records of the paused body: %d success, %d failed; %s", ok, failed, q.raw)
	}
	real := stored(t, domain, body)
	st, _, _ = streams.Get(context.Background(), domain, "app1", "s1")
	if st.State != live.StatePaused || st.Status.Time.UnixMilli() != real.ReceivedAtMs {
		t.Fatalf("state %+v, want paused at the genuine receive time %d", st.Status, real.ReceivedAtMs)
	}
}

func hasType(list []notify.Record, body, typ string) bool {
	for _, r := range list {
		if r.NotifyContent == body && r.NotifyType == typ {
			return true
		}
	}
	return false
}

// TestBadDeliveries: deliveries without a valid signature are answered
// with their error and neither kept nor recorded; signed ones that fail
// are dead-lettered, and recorded as failed when they name a domain; VOD
// events and bodies without a domain are dead-lettered only.
func TestBadDeliveries(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("bad")
	ctx := context.Background()
	dl := deadletter.New(stack.Client, stack.Prefix, "liverecord")
	// hasLetter looks for the letter by its body: the key of a claimed
	// delivery's letter also covers its occurrence.
	hasLetter := func(kind, body string) bool {
		found := false
		err := dl.Each(ctx, func(key string) error {
			l, err := dl.Get(ctx, key)
			if err != nil {
				return err
			}
			found = found || (l.Trigger == kind && string(l.Raw()) == body)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	cases := []struct {
		name, body string
		send       func(body string) answer
		status     int
		code       string
		recorded   bool
	}{
		// refused before processing (signature): neither kept nor recorded
		{"wrong key", statusBody(domain, "s1", "record_started"), func(b string) answer { return sendSigned(t, b, "not-the-key") }, 401, "SignatureMismatch", false},
		{"no signature", statusBody(domain, "s2", "record_started"), func(b string) answer {
			return post(t, b, map[string]string{"Content-Type": "application/json"})
		}, 401, "MissingSignature", false},
		{"expired timestamp", statusBody(domain, "s3", "record_started"), func(b string) answer {
			return do(t, signedAs(signature.Live, b, "", time.Now().Add(-time.Hour)))
		}, 401, "RequestExpired", false},
		{"no app", fmt.Sprintf(`{"domain":%q,"stream":"s4","event":"record_started"}`, domain), func(b string) answer { return sendSigned(t, b, "") }, 400, "MissingField", true},
		{"bad stream name", fmt.Sprintf(`{"domain":%q,"app":"app1","stream":"s 5","event":"record_paused"}`, domain), func(b string) answer { return sendSigned(t, b, "") }, 400, "InvalidId", true},
		{"file without stop_time", fmt.Sprintf(`{"domain":%q,"app":"app1","stream":"s6","uri":"x.m3u8"}`, domain), func(b string) answer { return sendSigned(t, b, "") }, 400, "MissingField", true},
		{"VOD event", `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v-live-1","Status":"success","FileUrl":"http://x/y.mp4"}`, func(b string) answer {
			return do(t, signedAs(signature.VOD, b, "", time.Now()))
		}, 422, "WrongFamily", false},
		{"not JSON", `domain=bad.example.com`, func(b string) answer { return sendSigned(t, b, "") }, 400, "MalformedJSON", false},
		{"domain not a name", `{"domain":"bad/x","app":"a","stream":"s","event":"record_started"}`, func(b string) answer { return sendSigned(t, b, "") }, 400, "InvalidId", false},
	}
	for _, c := range cases {
		a := c.send(c.body)
		var got struct{ Outcome, Code, Message string }
		json.Unmarshal(a.body, &got)
		unsigned := strings.Contains(c.code, "Signature") || c.code == "RequestExpired"
		want := "dead-lettered"
		if unsigned {
			want = "refused"
		}
		if a.status != c.status || got.Code != c.code || got.Outcome != want {
			t.Errorf("%s: %d %s, want %d %s %s", c.name, a.status, a.body, c.status, want, c.code)
			continue
		}
		if hasLetter("http", c.body) == unsigned {
			t.Errorf("%s: dead letter kept %v, want %v", c.name, !unsigned, unsigned)
		}
		id, idErr := callback.Identity([]byte(c.body))
		if !c.recorded {
			if idErr != nil {
				continue // not JSON: nothing can name a record
			}
			for _, rid := range []string{id, notify.RefusedID(id)} {
				if st, err := records.Get(ctx, domain, rid, 1); err == nil {
					t.Errorf("%s: recorded %+v", c.name, st.Record)
				}
			}
			continue
		}
		if strings.Contains(c.code, "Signature") || c.code == "RequestExpired" {
			id = notify.RefusedID(id)
		}
		st, err := records.Get(ctx, domain, id, 1)
		if err != nil {
			t.Errorf("%s: no record: %v", c.name, err)
			continue
		}
		r := st.Record
		if r.NotifyResult != "failed" || !strings.HasPrefix(r.Description, c.code+": ") || r.NotifyResponse != string(a.body) ||
			r.NotifyContent != c.body || r.DomainName != domain {
			t.Errorf("%s: record %+v", c.name, r)
		}
	}
	// The failed records are found with Status=failed, with the malformed
	// names as received; none is a success.
	q := query(t, recent(domain, "Status", "failed"), "")
	if q.status != 200 || q.TotalNum != 3 {
		t.Fatalf("failed records: %d %s", q.status, q.raw)
	}
	if q := query(t, recent(domain, "Status", "success"), ""); q.TotalNum != 0 {
		t.Fatalf("success records: %s", q.raw)
	}
	if q := query(t, recent(domain, "StreamName", "s4"), ""); q.TotalNum != 1 || q.CallbackList[0].AppName != "" || q.CallbackList[0].NotifyType != "record_started" {
		t.Fatalf("record without app: %s", q.raw)
	}
	// No stream state was written for refused events.
	if _, _, err := streams.Get(ctx, domain, "app1", "s1"); !errors.Is(err, statestore.ErrNotFound) {
		t.Fatalf("state of a refused callback: %v", err)
	}
}

// TestMNSShapes delivers Live callbacks in every MNS shape through the raw
// invoke door; a VOD event in a batch is dead-lettered, the others applied.
func TestMNSShapes(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("mns")
	stop := time.Now().Unix()
	vod := `{"EventType":"TranscodeComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v-mns-1","Status":"success"}`
	b := []string{
		statusBody(domain, "s1", "record_started"),
		fileBody(domain, "s1", "a.m3u8", stop),
		fileBody(domain, "s1", "b.m3u8", stop+60),
		statusBody(domain, "s1", "record_paused"),
		fileBody(domain, "s1", "c.m3u8", stop+120),
	}
	check := func(name string, s summary, outcomes ...string) {
		t.Helper()
		if len(s.Results) != len(outcomes) {
			t.Fatalf("%s: %+v", name, s)
		}
		for i, o := range outcomes {
			if s.Results[i].Outcome != o {
				t.Fatalf("%s: result %d is %+v, want %s", name, i, s.Results[i], o)
			}
		}
	}
	s := invoke(t, tt.CloudEvents(tt.Plain, []byte(b[0]), []byte(vod)))
	check("cloudevents", s, "applied", "dead-lettered")
	if s.Results[1].Code != "WrongFamily" || s.Trigger != "eventbridge-mns" {
		t.Fatalf("VOD in a Live batch: %+v", s)
	}
	check("cloudevents base64", invoke(t, tt.CloudEvents(tt.Base64, []byte(b[1]))), "applied")
	check("rawdata", invoke(t, tt.RawData(tt.Plain, []byte(b[2]))), "applied")
	afterReceived(t, domain, b[0])
	check("topic", invoke(t, tt.TopicJSON(tt.NewID(), []byte(b[3]), false)), "applied")
	check("bare", invoke(t, []byte(b[4])), "applied")
	// Redelivery of the whole first batch: duplicates, nothing new.
	check("redelivery", invoke(t, tt.CloudEvents(tt.Plain, []byte(b[0]), []byte(vod))), "duplicate", "dead-lettered")

	q := query(t, recent(domain), "")
	if q.TotalNum != len(b) {
		t.Fatalf("records: %s", q.raw)
	}
	for _, r := range q.CallbackList {
		if r.NotifyHeader != "{}" || r.NotifyResult != "success" || !strings.Contains(r.NotifyResponse, `"outcome":"applied"`) {
			t.Errorf("MNS record %+v", r)
		}
	}
	st, _, err := streams.Get(context.Background(), domain, "app1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 3 || st.Files[0].URI != "a.m3u8" || st.Files[2].URI != "c.m3u8" || st.State != live.StatePaused {
		t.Fatalf("state %+v", st)
	}
}

// TestOrderIndependence delivers a set of callbacks for several streams,
// each body two or three times over HTTP and MNS, shuffled, from several
// goroutines. Afterwards: one record per body; each stream's state equals
// the pure fold of its events with the occurrences the record store
// assigned; and where status events carry their own time, two streams fed
// the same events in opposite orders end in the same state.
func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("order")
	ctx := context.Background()
	base := time.Now().Unix() - 3600
	var bodies []string
	for _, s := range []string{"s1", "s2"} {
		for i := 0; i < 6; i++ {
			bodies = append(bodies, fileBody(domain, s, fmt.Sprintf("f%d.m3u8", i%4), base+int64(i)*60))
		}
		for _, ev := range []string{"record_started", "record_paused", "record_resumed", "record_error"} {
			bodies = append(bodies, statusBody(domain, s, ev))
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	var deliveries []string
	for _, b := range bodies {
		for n := 2 + r.IntN(2); n > 0; n-- {
			deliveries = append(deliveries, b)
		}
	}
	r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	var wg sync.WaitGroup
	errs := make(chan string, len(deliveries))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(deliveries); i += 4 {
				b := deliveries[i]
				if i%2 == 0 {
					if a, err := doErr(signedReq(b, "")); err != nil || a.status != 200 {
						errs <- fmt.Sprintf("HTTP %d %s %v", a.status, a.body, err)
					}
				} else {
					s, err := invokeErr(tt.RawData(tt.Plain, []byte(b)))
					if err != nil {
						errs <- err.Error()
					} else if o := s.Results[0].Outcome; o != "applied" && o != "duplicate" {
						errs <- fmt.Sprintf("MNS %+v", s)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
	q := query(t, recent(domain), "")
	if q.TotalNum != len(bodies) {
		t.Fatalf("%d records for %d distinct bodies delivered %d times", q.TotalNum, len(bodies), len(deliveries))
	}
	for _, stream := range []string{"s1", "s2"} {
		var want *live.Stream
		for _, b := range bodies {
			if !strings.Contains(b, `"stream":"`+stream+`"`) {
				continue
			}
			st := stored(t, domain, b)
			ev := decodeEvent(t, b)
			occ := live.Occurrence{Domain: domain, EventID: st.EventID, Seq: st.Seq, ReceivedAt: st.ReceivedAt()}
			var err error
			if want, _, err = live.Apply(want, ev, occ); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := streams.Get(ctx, domain, "app1", stream)
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := live.Codec.Marshal(got)
		wb, _ := live.Codec.Marshal(want)
		schemacheck.Check(t, live.Schema, gb)
		if string(gb) != string(wb) {
			t.Fatalf("%s: stored state\n%s\nwant (fold of the recorded occurrences)\n%s", stream, gb, wb)
		}
		if len(got.Files) != 4 {
			t.Fatalf("%s: %d files, want 4 (one per uri)", stream, len(got.Files))
		}
	}

	// Timed status events: arrival order does not matter.
	timed := func(stream string) []string {
		return []string{
			fmt.Sprintf(`{"domain":%q,"app":"app1","stream":%q,"event":"record_started","start_time":%d}`, domain, stream, base),
			fmt.Sprintf(`{"domain":%q,"app":"app1","stream":%q,"event":"record_resumed","stop_time":%d}`, domain, stream, base+300),
			fmt.Sprintf(`{"domain":%q,"app":"app1","stream":%q,"event":"record_paused","stop_time":%d}`, domain, stream, base+200),
			fileBody(domain, stream, "t.m3u8", base+100),
		}
	}
	fwd, rev := timed("t1"), timed("t2")
	for i := range fwd {
		sendSigned(t, fwd[i], "")
		invoke(t, tt.RawData(tt.Plain, []byte(rev[len(rev)-1-i])))
	}
	a, _, err1 := streams.Get(ctx, domain, "app1", "t1")
	b, _, err2 := streams.Get(ctx, domain, "app1", "t2")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a.State != live.StateRecording || b.State != a.State || a.Status.NotifyType != "record_resumed" || b.Status.NotifyType != "record_resumed" ||
		a.Status.TimeSource != live.TimeFromEvent || !a.Status.Time.Equal(b.Status.Time) || len(a.Files) != 1 || len(b.Files) != 1 {
		t.Fatalf("timed status events in opposite orders:\n%+v\n%+v", a, b)
	}
}

// TestRetryJoinsTheCallback: the same callback delivered again over HTTP
// (a sender's retry) is answered as a duplicate and keeps its one record
// with the first answer.
func TestRetryJoinsTheCallback(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("retry")
	body := statusBody(domain, "s1", "record_started")
	first := sendSigned(t, body, "")
	second := sendSigned(t, body, "")
	third := invoke(t, tt.TopicJSON(tt.NewID(), []byte(body), false))
	if first.status != 200 || second.status != 200 || !strings.Contains(string(second.body), `"outcome":"duplicate"`) || third.Results[0].Outcome != "duplicate" {
		t.Fatalf("answers %s / %s / %+v", first.body, second.body, third)
	}
	q := query(t, recent(domain), "")
	if q.TotalNum != 1 || q.CallbackList[0].NotifyResponse != string(first.body) {
		t.Fatalf("records: %s", q.raw)
	}
}
