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
	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// vodUpload returns a VOD FileUploadComplete body about id.
func vodUpload(id string) []byte {
	return []byte(fmt.Sprintf(`{
    "Status": "success",
    "EventTime": "2024-06-01T08:00:00Z",
    "EventType": "FileUploadComplete",
    "VideoId": %q,
    "Size": 1439213,
    "FileUrl": "http://outin-****.oss-cn-shanghai.aliyuncs.com/sv/x.mp4"
}
`, id))
}

// expectHTTPDeadLetter posts body, signed or not, and checks the answer
// and the letter; it returns the letter's raw JSON.
func expectHTTPDeadLetter(t *testing.T, fn string, body []byte, h http.Header, status int, code apierr.Code, verified bool) []byte {
	t.Helper()
	r := mustPostHTTP(t, stk, fn, body, h)
	if r.Status != status {
		t.Fatalf("answered %d, want %d: %s", r.Status, status, r.Body)
	}
	b := mustHTTPBody(t, r)
	if b.Outcome != pipeline.DeadLettered || b.Code != string(code) || b.Message == "" {
		t.Fatalf("answer %+v, want dead-lettered %s with a message", b, code)
	}
	if r.Header.Get("Retry-After") != "" {
		t.Fatalf("a permanent failure must not ask for a retry: %v", r.Header)
	}
	l, raw := letter(t, stk, fn, "http", body)
	if l.Code != string(code) || l.Verified != verified || !strings.Contains(l.Reason, string(code)) {
		t.Fatalf("letter code %q verified %v reason %q; want %s, verified %v", l.Code, l.Verified, l.Reason, code, verified)
	}
	if l.Method != http.MethodPost || l.Path != "/"+fn || l.RequestID != r.RequestID {
		t.Fatalf("letter method %q path %q request %q; want POST /%s %s", l.Method, l.Path, l.RequestID, fn, r.RequestID)
	}
	for _, sc := range signature.Schemes {
		if v := h.Get(sc.SignatureHeader); v != "" {
			checkRedacted(t, l, sc, h.Get(sc.TimestampHeader))
			if bytes.Contains(raw, []byte(v)) {
				t.Fatalf("letter holds the signature value %s", v)
			}
		}
	}
	return raw
}

// expectHTTPRefused posts an HTTP delivery nobody vouched for (no valid
// signature) and checks that it is answered with status and code, as
// outcome refused, and that nothing of it was stored.
func expectHTTPRefused(t *testing.T, fn string, body []byte, h http.Header, status int, code apierr.Code) {
	t.Helper()
	r := mustPostHTTP(t, stk, fn, body, h)
	b := mustHTTPBody(t, r)
	if r.Status != status || b.Outcome != pipeline.Refused || b.Code != string(code) || b.Message == "" {
		t.Fatalf("answered %d %+v, want %d refused %s with a message", r.Status, b, status, code)
	}
	noLetter(t, stk, fn, "http", body)
}

// expectInvocationDeadLetter invokes fn with a payload that is unusable as
// a whole and checks the one-line summary and the "invocation" letter.
func expectInvocationDeadLetter(t *testing.T, fn string, payload []byte, code apierr.Code) {
	t.Helper()
	sum := mustSummary(t, mustInvoke(t, stk, fn, payload))
	if sum.Trigger != "invocation" || len(sum.Results) != 1 {
		t.Fatalf("summary %+v, want one invocation result", sum)
	}
	if r := sum.Results[0]; r.Outcome != pipeline.DeadLettered || r.Code != string(code) || r.Message == "" {
		t.Fatalf("result %+v, want dead-lettered %s", r, code)
	}
	l, _ := letter(t, stk, fn, "invocation", payload)
	if l.Code != string(code) || l.Verified {
		t.Fatalf("letter code %q verified %v, want %s unverified", l.Code, l.Verified, code)
	}
}

// assertNoKeyContains asserts that no object key in the bucket contains
// token: a bad id must never reach a key.
func assertNoKeyContains(t *testing.T, s *localstack.Stack, token string) {
	t.Helper()
	keys := listKeys(t, s, "")
	for _, k := range keys {
		if strings.Contains(k, token) {
			t.Fatalf("object %q was written for a rejected id", k)
		}
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()

	// Signed HTTP callbacks whose body is unusable: dead-lettered,
	// answered with the status of their code, nothing stored.
	for _, c := range []struct {
		name   string
		src    callback.Source
		body   func(t *testing.T, id string) []byte
		status int
		code   apierr.Code
	}{
		{"malformed JSON body, signed", callback.SourceVOD, func(t *testing.T, id string) []byte {
			return []byte(`{"EventType":"FileUploadComplete","EventTime":"2024-06-01T08:00:00Z","VideoId":"` + id + `","Size":`)
		}, http.StatusBadRequest, apierr.MalformedJSON},
		{"missing MediaId", callback.SourceIMS, func(t *testing.T, id string) []byte {
			body := withID(t, readSeed(t, "ims-file-upload-complete.json"), "c321b3a0041a71eda1590674a2ce****", id)
			body = bytes.Replace(body, []byte(`"MediaId": "`+id+`",`), []byte(`"Note": "`+id+`",`), 1)
			if bytes.Contains(body, []byte("MediaId")) {
				t.Fatalf("test body still has a MediaId: %s", body)
			}
			return body
		}, http.StatusBadRequest, apierr.MissingField},
		{"oversized body", callback.SourceVOD, func(t *testing.T, id string) []byte {
			return []byte(fmt.Sprintf(`{"EventType":"FileUploadComplete","EventTime":"2024-06-01T08:00:00Z","VideoId":%q,"Status":"success","Extend":"%s"}`,
				id, strings.Repeat("x", callback.MaxBodySize)))
		}, http.StatusRequestEntityTooLarge, apierr.PayloadTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			id := newID()
			sc, key := schemeFor(c.src)
			expectHTTPDeadLetter(t, "upload", c.body(t, id), signedHeaders(stk, "upload", sc, key), c.status, c.code, true)
			checkNoState(t, stk, id)
		})
	}

	t.Run("malformed JSON payload, invoke", func(t *testing.T) {
		t.Parallel()
		id := newID()
		expectInvocationDeadLetter(t, "upload", []byte(`{"EventType":"FileUploadComplete","VideoId":"`+id+`",`), apierr.MalformedJSON)
		checkNoState(t, stk, id)
	})

	for name, unsafe := range map[string]func(tok string) string{
		"dot-dot":  func(tok string) string { return "../" + tok },
		"slash":    func(tok string) string { return tok + "/b" },
		"200-char": func(tok string) string { return tok + strings.Repeat("a", 200-len(tok)) },
	} {
		t.Run("unsafe id "+name, func(t *testing.T) {
			t.Parallel()
			tok := newID()
			id := unsafe(tok)
			h := signedHeaders(stk, "upload", signature.VOD, localstack.LocalVODKey)
			expectHTTPDeadLetter(t, "upload", vodUpload(id), h, http.StatusBadRequest, apierr.InvalidId, true)
			// The same through an EventBridge batch.
			body := append(vodUpload(id), ' ') // another body, another letter
			res, err := ebShape("", tt.Plain, false).send(stk, "media", [][]byte{body})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Outcome != pipeline.DeadLettered || res[0].Code != string(apierr.InvalidId) {
				t.Fatalf("batch result %+v, want dead-lettered InvalidId", res[0])
			}
			if l, _ := letter(t, stk, "media", "eventbridge-mns", body); l.Code != string(apierr.InvalidId) || !l.Verified {
				t.Fatalf("letter code %q verified %v, want InvalidId, verified (MNS needs no signature)", l.Code, l.Verified)
			}
			assertNoKeyContains(t, stk, tok)
		})
	}

	t.Run("unknown envelope", func(t *testing.T) {
		t.Parallel()
		expectInvocationDeadLetter(t, "transcode", []byte(`{"hello":"world","id":"`+newID()+`"}`), apierr.UnsupportedEnvelope)
		expectInvocationDeadLetter(t, "transcode", []byte(`[{"Records":[{"eventName":"`+newID()+`"}]}]`), apierr.UnsupportedEnvelope)
	})

	t.Run("wrong base64", func(t *testing.T) {
		t.Parallel()
		// A payload that is neither JSON nor base64.
		expectInvocationDeadLetter(t, "media", []byte("this is %% not base64 "+newID()), apierr.MalformedJSON)

		// An HTTP trigger event flagged base64 whose body is not.
		ev := tt.JSON(tt.ExampleHTTPEvent("%%%not-base64%%%"+newID(), true, map[string]string{"Content-Type": "application/json"}, "e2e-"+randHex(8)))
		r := mustInvoke(t, stk, "media", ev)
		var ans trigger.HTTPResponse
		// Unsigned: refused and not kept (TestDeadLetterOfUnusableHTTPEventHidesSignature
		// has the signed case).
		if err := json.Unmarshal(r.Body, &ans); err != nil || ans.StatusCode != http.StatusUnauthorized {
			t.Fatalf("HTTP event with bad base64: %v %s", err, r.Body)
		}
		var hb httpBody
		if err := json.Unmarshal([]byte(ans.Body), &hb); err != nil || hb.Outcome != pipeline.Refused || hb.Code != string(apierr.MissingSignature) {
			t.Fatalf("answer body %s (%v), want refused MissingSignature", ans.Body, err)
		}
		noLetter(t, stk, "media", "http", ev)

		// An MNS message body that is base64 of something that is not JSON.
		enc := []byte(tt.B64([]byte("not json " + newID())))
		res, err := invokeBatch(stk, "media", tt.Batch(tt.MNSRaw(tt.NewID(), enc, tt.Plain)), "eventbridge-raw", 1)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != pipeline.DeadLettered || res[0].Code != string(apierr.MalformedJSON) {
			t.Fatalf("result %+v, want dead-lettered MalformedJSON", res[0])
		}
		if l, _ := letter(t, stk, "media", "eventbridge-raw", enc); l.Code != string(apierr.MalformedJSON) {
			t.Fatalf("letter code %q", l.Code)
		}
	})

	t.Run("MNS topic notification with a wrong MessageMD5", func(t *testing.T) {
		t.Parallel()
		id := newID()
		body := vodUpload(id)
		n := tt.TopicJSON(tt.NewID(), body, false)
		n = bytes.Replace(n, []byte(`"MessageMD5":"`+tt.MD5Hex(string(body))+`"`), []byte(`"MessageMD5":"`+tt.MD5Hex("something else")+`"`), 1)
		res, err := invokeBatch(stk, "upload", n, "mns-topic", 1)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != pipeline.DeadLettered || res[0].Code != string(apierr.InvalidField) {
			t.Fatalf("result %+v, want dead-lettered InvalidField", res[0])
		}
		if l, _ := letter(t, stk, "upload", "mns-topic", n); l.Code != string(apierr.InvalidField) || !strings.Contains(l.Reason, "MessageMD5") {
			t.Fatalf("letter code %q reason %q", l.Code, l.Reason)
		}
		checkNoState(t, stk, id)
	})

	t.Run("wrong signature", func(t *testing.T) {
		t.Parallel()
		id := newID()
		h := signedHeaders(stk, "upload", signature.VOD, "not-the-key")
		expectHTTPRefused(t, "upload", vodUpload(id), h, http.StatusUnauthorized, apierr.SignatureMismatch)
		checkNoState(t, stk, id)

		// Signed for another function's URL.
		body := withID(t, readSeed(t, "ims-register-media-complete.json"), "71151b80f2d471ecb21b472190a9****", id)
		h = signedHeaders(stk, "transcode", signature.IMS, localstack.LocalIMSKey)
		expectHTTPRefused(t, "media", body, h, http.StatusUnauthorized, apierr.SignatureMismatch)

		// Signed ten minutes ago.
		h = tt.SignedHeaders(signature.VOD, stk.URL+"/upload", localstack.LocalVODKey, time.Now().Add(-10*time.Minute))
		rememberSecret(h.Get(signature.VOD.SignatureHeader))
		body = append(vodUpload(id), '\n')
		expectHTTPRefused(t, "upload", body, h, http.StatusUnauthorized, apierr.RequestExpired)
		checkNoState(t, stk, id)
	})

	t.Run("EventBridge batch with good and bad messages", func(t *testing.T) {
		t.Parallel()
		idA, idB := newID(), newID()
		goodA := withID(t, readSeed(t, "ims-file-upload-complete.json"), "c321b3a0041a71eda1590674a2ce****", idA)
		goodB := withID(t, readSeed(t, "vod-file-upload-complete.json"), "7a1c2e80ea1f71eda2b5f7e4d3c1****", idB)
		noBody := tt.JSON(tt.NewCloudEvent(strings.ToLower(randHex(8)), map[string]string{"requestId": "R", "messageId": tt.NewID()}))
		number := []byte(`42`)
		badID := vodUpload("../" + newID())
		live := []byte(`{"domain":"live.example.com","app":"liveApp","stream":"` + newID() + `","event":"record_started"}`)
		payload := tt.Batch(
			tt.MNSEvent(tt.NewID(), goodA, tt.Plain),
			noBody,
			number,
			tt.MNSEvent(tt.NewID(), goodB, tt.Base64),
			tt.MNSEvent(tt.NewID(), badID, tt.Plain),
			tt.MNSEvent(tt.NewID(), live, tt.Plain),
		)
		r := mustInvoke(t, stk, "upload", payload)
		if r.Header.Get("X-Fc-Error-Type") != "" {
			t.Fatalf("a batch with only permanent failures must not fail the invocation: %s", r.Body)
		}
		sum := mustSummary(t, r)
		want := []struct {
			outcome pipeline.Outcome
			code    apierr.Code
		}{
			{pipeline.Applied, ""}, {pipeline.DeadLettered, apierr.MissingField}, {pipeline.DeadLettered, apierr.MalformedJSON},
			{pipeline.Applied, ""}, {pipeline.DeadLettered, apierr.InvalidId}, {pipeline.DeadLettered, apierr.WrongFamily},
		}
		if sum.Trigger != "eventbridge-mns" || len(sum.Results) != len(want) {
			t.Fatalf("summary %s", r.Body)
		}
		for i, w := range want {
			if g := sum.Results[i]; g.Index != i || g.Outcome != w.outcome || g.Code != string(w.code) {
				t.Errorf("result %d: %+v, want %s %s", i, g, w.outcome, w.code)
			}
		}
		checkState(t, stk, idA, fold(t, goodA))
		checkState(t, stk, idB, fold(t, goodB))
		for _, c := range []struct {
			body []byte
			code apierr.Code
		}{{noBody, apierr.MissingField}, {number, apierr.MalformedJSON}, {badID, apierr.InvalidId}, {live, apierr.WrongFamily}} {
			if l, _ := letter(t, stk, "upload", "eventbridge-mns", c.body); l.Code != string(c.code) {
				t.Errorf("letter of %s: code %q, want %s", c.body, l.Code, c.code)
			}
		}
		noLetter(t, stk, "upload", "eventbridge-mns", goodA)
		noLetter(t, stk, "upload", "eventbridge-mns", goodB)
	})

	t.Run("Live event to the upload function", func(t *testing.T) {
		t.Parallel()
		live := []byte(`{"domain":"live.example.com","app":"liveApp","stream":"` + newID() + `","uri":"record/a.m3u8","duration":12.5,"start_time":1717228800,"stop_time":1717228812}`)
		sum := mustSummary(t, mustInvoke(t, stk, "upload", live))
		if sum.Trigger != "bare" || len(sum.Results) != 1 || sum.Results[0].Outcome != pipeline.DeadLettered || sum.Results[0].Code != string(apierr.WrongFamily) {
			t.Fatalf("summary %+v, want one dead-lettered WrongFamily", sum)
		}
		if l, _ := letter(t, stk, "upload", "bare", live); l.Code != string(apierr.WrongFamily) || !l.Verified {
			t.Fatalf("letter code %q verified %v", l.Code, l.Verified)
		}
		// Over HTTP, signed by Live.
		h := signedHeaders(stk, "upload", signature.Live, localstack.LocalLiveKey)
		expectHTTPDeadLetter(t, "upload", live, h, http.StatusUnprocessableEntity, apierr.WrongFamily, true)
	})
}

// findLetter returns the letter fn kept for the invocation requestID (for
// letters whose key the test cannot compute, because the front door built
// the body they hold), with its raw JSON.
func findLetter(t *testing.T, s *localstack.Stack, fn, requestID string) (*deadletter.Letter, []byte) {
	t.Helper()
	dl := deadletter.New(s.Client, s.Prefix, fn)
	keys := listKeys(t, s, dl.Prefix())
	for _, k := range keys {
		raw := getObject(t, s, k)
		var l deadletter.Letter
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("letter %s: %v", k, err)
		}
		if l.RequestID == requestID {
			return &l, raw
		}
	}
	t.Fatalf("no dead letter of %s for request %s among %d", fn, requestID, len(keys))
	return nil, nil
}

// TestDeadLetterOfUnusableHTTPEventHidesSignature: when an HTTP trigger
// event cannot be unwrapped (an empty body, or a body flagged base64 that
// is not), the delivery is dead-lettered and answered 400. Its letter must
// keep the request's headers WITHOUT secret values, like every other HTTP
// letter: the callback signature is an MD5 over the signing key.
func TestDeadLetterOfUnusableHTTPEventHidesSignature(t *testing.T) {
	t.Parallel()

	t.Run("empty body", func(t *testing.T) {
		t.Parallel()
		h := signedHeaders(stk, "upload", signature.VOD, localstack.LocalVODKey)
		sig := h.Get("X-Vod-Signature")
		r := mustPostHTTP(t, stk, "upload", nil, h)
		if b := mustHTTPBody(t, r); r.Status != http.StatusBadRequest || b.Outcome != pipeline.DeadLettered || b.Code != string(apierr.MissingField) {
			t.Fatalf("empty signed callback: %d %s", r.Status, r.Body)
		}
		l, raw := findLetter(t, stk, "upload", r.RequestID)
		if l.Code != string(apierr.MissingField) || l.Trigger != "http" {
			t.Fatalf("letter code %q trigger %q", l.Code, l.Trigger)
		}
		checkRedacted(t, l, signature.VOD, h.Get("X-Vod-Timestamp"))
		if bytes.Contains(raw, []byte(sig)) {
			t.Errorf("the dead letter of an empty signed callback holds the X-VOD-SIGNATURE value %s in clear (body/bodyText hold the whole HTTP trigger event, headers unredacted):\n%s", sig, raw)
		}
	})

	t.Run("body flagged base64 that is not", func(t *testing.T) {
		t.Parallel()
		h := signedHeaders(stk, "media", signature.IMS, localstack.LocalIMSKey)
		sig := h.Get("X-Ice-Signature")
		ev := httpEvent(stk, "media", []byte("%%% not base64 "+newID()), h, false)
		ev = bytes.Replace(ev, []byte(`"isBase64Encoded":false`), []byte(`"isBase64Encoded":true`), 1)
		r := mustInvoke(t, stk, "media", ev)
		if !bytes.Contains(r.Body, []byte(`"statusCode":400`)) {
			t.Fatalf("answer %s", r.Body)
		}
		l, raw := letter(t, stk, "media", "http", ev)
		if l.Code != string(apierr.InvalidField) {
			t.Fatalf("letter code %q", l.Code)
		}
		checkRedacted(t, l, signature.IMS, h.Get("X-Ice-Timestamp"))
		if bytes.Contains(raw, []byte(sig)) {
			t.Errorf("the dead letter of an HTTP event with a bad base64 body holds the X-ICE-SIGNATURE value %s in clear", sig)
		}
	})
}

// storedBytes counts the objects under the stack's prefix and their size.
func storedBytes(t *testing.T, s *localstack.Stack) (n int, size int64) {
	t.Helper()
	for _, o := range objects(t, s, s.Prefix) {
		n, size = n+1, size+o.Size
	}
	return n, size
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
