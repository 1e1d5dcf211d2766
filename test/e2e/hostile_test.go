package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// storedBytes lists everything under the stack's prefix: object count and
// total size.
func storedBytes(t *testing.T, s *localstack.Stack) (int, int64) {
	t.Helper()
	n, size := 0, int64(0)
	token := ""
	for {
		page, err := s.Client.List(ctxT(t), ossx.ListOptions{Prefix: s.Prefix, ContinuationToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			n++
			size += o.Size
		}
		if page.NextToken == "" {
			return n, size
		}
		token = page.NextToken
	}
}

// TestHostileCallersStoreNothing drives the findings of issue 13 through the
// real media binary, in a stack of its own so that every object written is
// counted: unsigned requests (distinct, identical and empty bodies, a 1 MiB
// control-character body), and oversized ones, signed or not, must not
// write anything; the answers say why with the documented status.
func TestHostileCallersStoreNothing(t *testing.T) {
	t.Parallel()
	s, lb := startStack(t, "media")
	// One signed event first, so that the bucket check and anything a cold
	// start writes are behind us.
	id := newID()
	ok := vodUpload(id)
	if r := mustPostHTTP(t, s, "media", ok, signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey)); r.Status != 200 {
		t.Fatalf("signed event: %d %s", r.Status, r.Body)
	}
	n0, size0 := storedBytes(t, s)
	s.OSS.ResetStats()

	plain := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i < 200; i++ {
		body := []byte(fmt.Sprintf(`{"EventType":"FileUploadComplete","VideoId":"%s","n":%d}`, newID(), i))
		if i%4 == 0 {
			body = nil // identical empty POSTs
		}
		r := mustPostHTTP(t, s, "media", body, plain)
		if r.Status != http.StatusUnauthorized && !(body == nil && r.Status == http.StatusBadRequest) {
			t.Fatalf("unsigned request %d: %d %s", i, r.Status, r.Body)
		}
	}
	// 1 MiB of control characters: escaped six times over in the FC event,
	// refused by size before anything is parsed.
	ctrl := bytes.Repeat([]byte{0x01}, 1<<20)
	if r := mustPostHTTP(t, s, "media", ctrl, plain); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("1 MiB control-character body: %d %s", r.Status, r.Body)
	}
	// 10 MiB, signed: 413 as README promises (it was 200 with a summary).
	big := bytes.Repeat([]byte("a"), 10<<20)
	r := mustPostHTTP(t, s, "media", big, signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey))
	if r.Status != http.StatusRequestEntityTooLarge || !bytes.Contains(r.Body, []byte(`"PayloadTooLarge"`)) {
		t.Fatalf("10 MiB signed body: %d %.200s", r.Status, r.Body)
	}
	// A forged Live callback naming a victim domain, to a media function.
	if r := mustPostHTTP(t, s, "media", []byte(`{"domain":"victim.example.com","app":"a","stream":"s","event":"record_started"}`), plain); r.Status != http.StatusUnauthorized {
		t.Fatalf("unsigned Live callback: %d %s", r.Status, r.Body)
	}

	n1, size1 := storedBytes(t, s)
	if n1 != n0 || size1 != size0 {
		t.Fatalf("hostile requests wrote %d objects, %d bytes; want none", n1-n0, size1-size0)
	}
	if puts := s.OSS.Stats().Requests["PutObject"]; puts != 0 {
		t.Fatalf("hostile requests made %d PutObject requests", puts)
	}
	// Logged and counted: one line each, outcome refused, no body.
	out := waitLog(t, lb, 30*time.Second, "refused lines", func(out string) bool {
		return strings.Count(out, `"outcome":"refused"`) >= 203
	})
	if strings.Contains(out, "victim.example.com") {
		t.Fatal("a refused body reached the log")
	}
	if !strings.Contains(out, `"refusedTotal":203`) {
		t.Fatalf("no line counts 203 refused deliveries")
	}
}

// TestSignedButUnusableDeliveries: what a signed sender gets for bodies we
// refuse: an over-limit body is 413 and kept as a small excerpt with its
// size and SHA-256; a future EventTime, case-variant keys and deep nesting
// each have their code and are dead-lettered, never applied; the letter
// keeps allowed headers only and no query values; a transient failure is
// answered without internals.
func TestSignedButUnusableDeliveries(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media")
	signed := func() http.Header {
		h := signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey)
		h.Set("Api-Key", "api-key-value")
		h.Set("X-Auth-Key", "auth-key-value")
		h.Set("X-Oss-Access-Key-Id", "oss-key-value")
		return h
	}
	dl := deadletter.New(s.Client, s.Prefix, "media")

	// Over the body limit, under the HTTP event limit: 413, a small letter.
	over := append(bytes.Repeat([]byte{0x01}, 1000), bytes.Repeat([]byte("a"), trigger.MaxHTTPBodySize)...)
	r := mustPostHTTP(t, s, "media", over, signed())
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over-limit body: %d %s", r.Status, r.Body)
	}
	key, err := dl.Find(ctxT(t), "http", nil, over)
	if err != nil {
		t.Fatalf("no letter for a signed over-limit body: %v", err)
	}
	raw := getObject(t, s, key)
	var l deadletter.Letter
	if err := json.Unmarshal(raw, &l); err != nil {
		t.Fatal(err)
	}
	if len(raw) > 16<<10 || !l.Truncated || l.BodySize != len(over) || len(l.BodySHA256) != 64 || len(l.Raw()) != deadletter.ExcerptSize || l.BodyText != "" {
		t.Fatalf("letter of %d bytes: truncated %v size %d sha %q excerpt %d", len(raw), l.Truncated, l.BodySize, l.BodySHA256, len(l.Raw()))
	}
	for _, leak := range []string{"api-key-value", "auth-key-value", "oss-key-value"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Fatalf("letter keeps header value %q: %s", leak, raw)
		}
	}
	if e := deadletter.ParseKey(key); !e.Known || !e.Verified || e.Code != string(apierr.PayloadTooLarge) {
		t.Fatalf("key %s does not say verified PayloadTooLarge: %+v", key, e)
	}

	id := newID()
	future := []byte(`{"EventType":"FileUploadComplete","EventTime":"9999-12-31T23:59:59Z","VideoId":"` + id + `","Status":"success","Size":1}`)
	twoMeanings := []byte(`{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"` + id + `","Status":"success","status":"fail"}`)
	deep := []byte(`{"EventType":"SnapshotComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"` + id + `","X":` +
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
	for _, c := range []struct {
		name string
		body []byte
		code apierr.Code
	}{
		{"future EventTime", future, apierr.EventTimeInFuture},
		{"case-variant keys", twoMeanings, apierr.DuplicateKey},
		{"10,000-deep body", deep, apierr.NestingTooDeep},
	} {
		r := mustPostHTTP(t, s, "media", c.body, signed())
		b := mustHTTPBody(t, r)
		if r.Status != http.StatusBadRequest || b.Code != string(c.code) || b.Outcome != pipeline.DeadLettered {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		if l, _ := letter(t, s, "media", "http", c.body); l.Code != string(c.code) || !l.Verified {
			t.Fatalf("%s: letter %+v", c.name, l)
		}
	}
	checkNoState(t, s, id)

	// Query strings are named, never kept.
	q := []byte(`{"EventType":"FileUploadComplete","VideoId":"` + newID() + `"}`) // no EventTime
	if r, err := do(http.MethodPost, s.URL+"/media?token=query-secret&x=1", q, signed()); err != nil || r.Status != http.StatusBadRequest {
		t.Fatalf("query string request: %v %v", err, r)
	}
	ql, qraw := letter(t, s, "media", "http", q)
	if bytes.Contains(qraw, []byte("query-secret")) || len(ql.Query["token"]) != 1 || ql.Query["token"][0] != "[redacted]" {
		t.Fatalf("letter query %v: %s", ql.Query, qraw)
	}

	// A transient failure: the answer names no key, bucket or cause.
	if err := s.OSS.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	r = mustPostHTTP(t, s, "media", vodUpload(newID()), signed())
	_ = s.OSS.SetFaults(ossserver.Faults{})
	b := mustHTTPBody(t, r)
	if r.Status != http.StatusServiceUnavailable || b.Message != pipeline.TransientMessage ||
		bytes.Contains(r.Body, []byte(s.Bucket)) || bytes.Contains(r.Body, []byte(s.Prefix)) {
		t.Fatalf("transient answer: %d %s", r.Status, r.Body)
	}
}

// TestReplayFromListing: a dry run decides every letter from the listing
// (no GET), unverified letters are skipped without reading them, and the
// control payload is read as JSON whatever white space surrounds it.
func TestReplayFromListing(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "upload")
	dl := deadletter.New(s.Client, s.Prefix, "upload")
	reason := apierr.New(apierr.StorageUnavailable, "simulated")
	for i := 0; i < 20; i++ {
		d := &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(fmt.Sprintf(`{"attacker":%d}`, i)), HTTP: &trigger.HTTPRequest{Method: "POST"}}
		if _, err := dl.Put(ctxT(t), d, "staged", false, apierr.New(apierr.MissingSignature, "none")); err != nil {
			t.Fatal(err)
		}
	}
	good := vodUpload(newID())
	if _, err := dl.Put(ctxT(t), &trigger.Delivery{Kind: trigger.KindBare, Body: good}, "staged", true, reason); err != nil {
		t.Fatal(err)
	}
	s.OSS.ResetStats()
	r := mustInvoke(t, s, "upload", []byte("\n  {\"mediastate\": {\"action\": \"replay-dead-letters\", \"dryRun\": true}}\n"))
	var rep pipeline.ReplayReport
	if err := json.Unmarshal(r.Body, &rep); err != nil || rep.Seen != 21 || rep.Skipped != 20 {
		t.Fatalf("dry run: %v %s", err, r.Body)
	}
	if gets := s.OSS.Stats().Requests["GetObject"]; gets != 0 {
		t.Fatalf("dry run made %d GETs, want 0 (everything is in the keys)", gets)
	}
	rep = replay(t, s, "upload", "")
	if rep.Replayed != 1 || rep.Skipped != 20 {
		t.Fatalf("replay: %+v", rep)
	}
	if gets := s.OSS.Stats().Requests["GetObject"]; gets > 3 {
		t.Fatalf("replay made %d GETs for 1 verified letter", gets)
	}
}

// TestEveryHTTPDeliveryWithinBudget: with OSS slower than the senders'
// patience, an unsigned request is refused at once (it writes nothing), and
// a signed one that must be dead-lettered is answered 503 within VOD's
// budget, its letter write included (it used to run outside the budget:
// 401 after 10 s).
func TestEveryHTTPDeliveryWithinBudget(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media")
	if r := mustPostHTTP(t, s, "media", vodUpload(newID()), signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey)); r.Status != 200 {
		t.Fatalf("warm-up: %d %s", r.Status, r.Body)
	}
	if err := s.OSS.SetFaults(ossserver.Faults{Latency: 6 * time.Second, Ops: []string{"PutObject"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := mustPostHTTP(t, s, "media", []byte(`{"EventType":"FileUploadComplete","VideoId":"`+newID()+`"}`), http.Header{"Content-Type": {"application/json"}})
	if took := time.Since(start); r.Status != http.StatusUnauthorized || took > 2*time.Second {
		t.Fatalf("unsigned request with slow OSS: %d %s after %v", r.Status, r.Body, took)
	}
	start = time.Now()
	bad := []byte(`{"EventType":"FileUploadComplete","VideoId":"` + newID() + `"}`) // no EventTime: dead-lettered
	r = mustPostHTTP(t, s, "media", bad, signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey))
	if took := time.Since(start); r.Status != http.StatusServiceUnavailable || took >= 5*time.Second {
		t.Fatalf("signed bad request with slow OSS: %d %s after %v; want 503 within VOD's 5 s", r.Status, r.Body, took)
	}
}
