package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	tt "mediastate/shared/trigger/triggertest"
)

// wantItem is what one delivered item must be. Exactly one of body, text,
// objectOf and code is set.
type wantItem struct {
	body     string      // the Body must equal this file of testdata/bodies byte for byte
	text     string      // the Body must equal this text
	objectOf string      // the Body must be a verbatim part of the payload, JSON-equal to this file of testdata/bodies
	code     apierr.Code // the item must fail with this code; its Body must be the raw JSON of its envelope
	field    string      // the failed item's error names this field
	id       string      // the DeliveryID
}

// wantBatch is what unwrapping a fixture must give: a batch, or an error
// with code (whose message contains msg).
type wantBatch struct {
	kind  Kind
	items []wantItem
	code  apierr.Code
	msg   string
}

const (
	mid0 = "C6DB60D1574661357FA2272774450000"
	mid1 = "C6DB60D1574661357FA2272774450010"
	mid2 = "C6DB60D1574661357FA2272774450020"
	tid  = "3405CA51807661353B3000000000A001"
)

// fixtureWants holds the expected outcome of every fixture.
var fixtureWants = map[string]wantBatch{
	"http-plain.json":             {kind: KindHTTP, items: []wantItem{{body: "vod-transcode-complete.json", id: "1-64f6cd87-0000000000000001"}}},
	"http-base64.json":            {kind: KindHTTP, items: []wantItem{{body: "ims-file-upload-complete.json", id: "1-64f6cd87-0000000000000002"}}},
	"http-live.json":              {kind: KindHTTP, items: []wantItem{{body: "live-record-file.json", id: "1-64f6cd87-0000000000000003"}}},
	"http-bad-base64.json":        {kind: KindHTTP, items: []wantItem{{code: apierr.InvalidField, field: "body", id: "1-64f6cd87-0000000000000004"}}},
	"http-empty-body.json":        {kind: KindHTTP, items: []wantItem{{code: apierr.MissingField, field: "body", id: "1-64f6cd87-0000000000000005"}}},
	"malformed-http-headers.json": {code: apierr.MalformedJSON, msg: "FC HTTP trigger event: headers: is a JSON array; expected a JSON object"},

	"eventbridge-cloudevents.json": {kind: KindEventBridgeMNS, items: []wantItem{
		{body: "ims-media-base-change-complete.json", id: mid0},
		{body: "vod-transcode-complete.json", id: mid1},
		{body: "vod-delete-media-complete-fail.json", id: mid2},
	}},
	"eventbridge-object-body.json": {kind: KindEventBridgeMNS, items: []wantItem{
		{objectOf: "ims-file-upload-complete.json", id: mid0},
		{body: "vod-upload-unicode.json", id: mid1},
	}},
	"eventbridge-single-object.json": {kind: KindEventBridgeMNS, items: []wantItem{{body: "vod-upload-unicode.json", id: mid0}}},
	"eventbridge-plain-text.json":    {kind: KindEventBridgeMNS, items: []wantItem{{text: "TEST", id: mid0}}},
	"eventbridge-partial-bad.json": {kind: KindEventBridgeMNS, items: []wantItem{
		{body: "ims-file-upload-complete.json", id: mid0},
		{code: apierr.MissingField, field: "data.messageBody", id: mid1},
		{code: apierr.MalformedJSON},
		{code: apierr.UnsupportedEnvelope, id: "C6DB60D1574661357FA2272774450030"},
		{body: "vod-transcode-complete.json", id: "C6DB60D1574661357FA2272774450040"},
		{code: apierr.InvalidField, field: "data.messageBody", id: "C6DB60D1574661357FA2272774450050"},
		{code: apierr.InvalidField, field: "data", id: "bffb9722-9c48-407b-9895-b038f78f0006"},
	}},
	"eventbridge-rawdata.json": {kind: KindEventBridgeRaw, items: []wantItem{
		{body: "vod-produce-media-complete.json", id: mid0},
		{body: "ims-stream-upload-complete.json", id: mid1},
		{body: "live-record-started.json", id: mid2},
	}},

	"mns-topic-json.json":           {kind: KindMNSTopic, items: []wantItem{{body: "ims-file-upload-complete.json", id: tid}}},
	"mns-topic-base64.json":         {kind: KindMNSTopic, items: []wantItem{{body: "vod-transcode-complete.json", id: tid}}},
	"mns-topic-md5-of-decoded.json": {kind: KindMNSTopic, items: []wantItem{{body: "vod-delete-media-complete-fail.json", id: tid}}},
	"mns-topic-md5-mismatch.json":   {kind: KindMNSTopic, items: []wantItem{{code: apierr.InvalidField, field: "MessageMD5", id: tid}}},
	"mns-topic-no-message.json":     {kind: KindMNSTopic, items: []wantItem{{code: apierr.MissingField, field: "Message", id: tid}}},

	"bare-vod.json":           {kind: KindBare, items: []wantItem{{body: "vod-transcode-complete.json"}}},
	"bare-ims.json":           {kind: KindBare, items: []wantItem{{body: "ims-file-upload-complete.json"}}},
	"bare-live.json":          {kind: KindBare, items: []wantItem{{body: "live-record-file.json"}}},
	"bare-base64.txt":         {kind: KindBare, items: []wantItem{{body: "ims-media-base-change-complete.json"}}},
	"bare-base64-mime.txt":    {kind: KindBare, items: []wantItem{{body: "vod-transcode-complete.json"}}},
	"bare-quoted-base64.json": {kind: KindBare, items: []wantItem{{body: "live-record-started.json"}}},

	"unsupported-empty.txt":            {code: apierr.UnsupportedEnvelope, msg: "invocation payload is empty; expected an FC HTTP trigger event"},
	"unsupported-whitespace.txt":       {code: apierr.UnsupportedEnvelope, msg: "invocation payload is empty"},
	"unsupported-number.json":          {code: apierr.UnsupportedEnvelope, msg: "invocation payload is a JSON number; expected"},
	"unsupported-empty-array.json":     {code: apierr.UnsupportedEnvelope, msg: "empty JSON array; expected a JSON array of 1 or more EventBridge MNS events"},
	"unsupported-array-of-bodies.json": {code: apierr.UnsupportedEnvelope, msg: "none of which is an EventBridge MNS event; expected CloudEvents"},
	"unsupported-oss-event.json":       {code: apierr.UnsupportedEnvelope, msg: `keys ["events"], which match no trigger shape; expected`},
	"unsupported-timer-event.json":     {code: apierr.UnsupportedEnvelope, msg: `keys ["payload" "triggerName" "triggerTime"]`},
	"unsupported-quoted-text.json":     {code: apierr.UnsupportedEnvelope, msg: "JSON string that is neither a bare callback body nor standard base64 of one"},
	"unsupported-base64-of-object.txt": {code: apierr.UnsupportedEnvelope, msg: "base64 of a JSON object that is not a bare callback body"},
	"malformed-truncated.json":         {code: apierr.MalformedJSON, msg: "starts with '{' but is not a valid JSON object"},
	"malformed-not-json.txt":           {code: apierr.MalformedJSON, msg: "neither JSON nor standard base64; expected"},
	"malformed-base64-not-json.txt":    {code: apierr.MalformedJSON, msg: "standard base64 but its decoding is not JSON"},
}

func TestUnwrapFixtures(t *testing.T) {
	payloads := loadFixtures(t)
	if len(payloads) != len(fixtureWants) {
		t.Errorf("%d fixtures but %d expectations", len(payloads), len(fixtureWants))
	}
	for name, payload := range payloads {
		want, ok := fixtureWants[name]
		if !ok {
			t.Errorf("fixture %s has no expectation", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			got, err := Unwrap(payload)
			if want.code != "" {
				checkWholeError(t, got, err, want.code, want.msg)
				return
			}
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			checkBatch(t, payload, got, want)
		})
	}
}

// checkWholeError checks that Unwrap rejected the payload as a whole with a
// permanent error of code whose message contains msg.
func checkWholeError(t *testing.T, got *Batch, err error, code apierr.Code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Unwrap succeeded with %+v; want error %s", got, code)
	}
	if got != nil {
		t.Errorf("Unwrap returned a batch with its error")
	}
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
	}
	if ae.Code != code {
		t.Errorf("code = %s, want %s (%v)", ae.Code, code, err)
	}
	if ae.Fault != smithy.FaultClient {
		t.Errorf("fault = %v, want client (permanent)", ae.Fault)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

// checkBatch checks a batch against want, reading expected bodies from
// testdata/bodies.
func checkBatch(t *testing.T, payload []byte, got *Batch, want wantBatch) {
	t.Helper()
	if got.Kind != want.kind {
		t.Errorf("Kind = %q, want %q", got.Kind, want.kind)
	}
	if len(got.Items) != len(want.items) {
		t.Fatalf("%d items, want %d", len(got.Items), len(want.items))
	}
	for i, it := range got.Items {
		w := want.items[i]
		d := it.Delivery
		if d == nil {
			t.Fatalf("item %d: nil Delivery", i)
		}
		if d.Kind != want.kind || d.Index != i || d.DeliveryID != w.id {
			t.Errorf("item %d: Kind %q Index %d DeliveryID %q; want %q %d %q", i, d.Kind, d.Index, d.DeliveryID, want.kind, i, w.id)
		}
		if (d.HTTP != nil) != (want.kind == KindHTTP) || (d.Headers != nil) != (want.kind == KindHTTP) {
			t.Errorf("item %d: HTTP %v Headers %v for kind %s", i, d.HTTP != nil, d.Headers != nil, want.kind)
		}
		if w.code != "" {
			checkItemError(t, i, it, w, envelopeOf(t, payload, i))
			continue
		}
		if it.Err != nil {
			t.Errorf("item %d: unexpected error %v", i, it.Err)
			continue
		}
		switch {
		case w.body != "":
			if wb := seedBody(t, w.body); !bytes.Equal(d.Body, wb) {
				t.Errorf("item %d: Body =\n%s\nwant %s byte for byte:\n%s", i, d.Body, w.body, wb)
			}
		case w.objectOf != "":
			if !bytes.Contains(payload, d.Body) || bytes.Count(d.Body, []byte("{")) < 2 {
				t.Errorf("item %d: Body %q is not the verbatim object of the payload", i, d.Body)
			}
			if !jsonEqual(t, d.Body, seedBody(t, w.objectOf)) {
				t.Errorf("item %d: Body %s is not JSON-equal to %s", i, d.Body, w.objectOf)
			}
		default:
			if string(d.Body) != w.text {
				t.Errorf("item %d: Body = %q, want %q", i, d.Body, w.text)
			}
		}
	}
}

// checkItemError checks a failed item: its typed error and that its Body
// is the raw JSON of the message's envelope.
func checkItemError(t *testing.T, i int, it Item, w wantItem, envelope []byte) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(it.Err, &ae) {
		t.Errorf("item %d: error %v (%T) is not an *apierr.Error", i, it.Err, it.Err)
		return
	}
	if ae.Code != w.code || ae.Field != w.field {
		t.Errorf("item %d: code %s field %q, want %s %q (%v)", i, ae.Code, ae.Field, w.code, w.field, it.Err)
	}
	if !apierr.IsPermanent(it.Err) {
		t.Errorf("item %d: error is not permanent", i)
	}
	if !strings.Contains(ae.Message, "expected") {
		t.Errorf("item %d: message %q does not say what was expected", i, ae.Message)
	}
	if !bytes.Equal(it.Delivery.Body, envelope) {
		t.Errorf("item %d: Body = %q, want the raw envelope %q", i, it.Delivery.Body, envelope)
	}
}

// envelopeOf returns the raw JSON of message i of payload: element i of a
// JSON array, or the whole (trimmed) payload otherwise.
func envelopeOf(t *testing.T, payload []byte, i int) []byte {
	t.Helper()
	p := bytes.TrimSpace(payload)
	if p[0] != '[' {
		return p
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(p, &elems); err != nil {
		t.Fatal(err)
	}
	return elems[i]
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// unwrapOne unwraps payload and returns its only item.
func unwrapOne(t *testing.T, payload string) (Kind, Item) {
	t.Helper()
	b, err := Unwrap([]byte(payload))
	if err != nil {
		t.Fatalf("Unwrap(%s): %v", payload, err)
	}
	if len(b.Items) != 1 {
		t.Fatalf("Unwrap(%s): %d items, want 1", payload, len(b.Items))
	}
	return b.Kind, b.Items[0]
}

func TestHTTPRequestMetadata(t *testing.T) {
	payloads := loadFixtures(t)
	b, err := Unwrap(payloads["http-plain.json"])
	if err != nil {
		t.Fatal(err)
	}
	d := b.Items[0].Delivery
	wantTime := time.UnixMilli(1693896071895).UTC()
	wantReq := &HTTPRequest{
		Method: "POST", RawPath: "/callback", Path: "/callback", Protocol: "HTTP/1.1",
		Query:    map[string][]string{"source": {"vod"}, "tag": {"a,b"}},
		SourceIP: "203.0.113.7", UserAgent: "Apache-HttpClient/4.5.13 (Java/1.8.0_152)",
		RequestID: "1-64f6cd87-0000000000000001", AccountID: "1234567890000000",
		DomainName: "callback-abc.cn-shanghai.fcapp.run", DomainPrefix: "callback-abc", Time: wantTime,
	}
	if !reflect.DeepEqual(d.HTTP, wantReq) {
		t.Errorf("HTTP = %+v\nwant %+v", d.HTTP, wantReq)
	}
	if !d.Time.Equal(wantTime) {
		t.Errorf("Time = %v, want %v", d.Time, wantTime)
	}
	wantHeaders := http.Header{
		"Content-Type":    {"application/json"},
		"X-Vod-Timestamp": {"1519375990"},
		"X-Vod-Signature": {"c72b60894140fa98920f1279219b7ed4"},
		"X-Forwarded-For": {"203.0.113.7, 10.0.0.1"},
		"Accept-Encoding": {"gzip,deflate"},
	}
	if !reflect.DeepEqual(d.Headers, wantHeaders) {
		t.Errorf("Headers = %v\nwant %v", d.Headers, wantHeaders)
	}
	if got := d.Headers.Get("X-VOD-TIMESTAMP"); got != "1519375990" {
		t.Errorf("Headers.Get(X-VOD-TIMESTAMP) = %q", got)
	}

	b, err = Unwrap(payloads["http-live.json"])
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Items[0].Delivery.Headers["Ali-Live-Signature"]; !reflect.DeepEqual(got, []string{"fedcba9876543210fedcba9876543210", "second-spelling"}) {
		t.Errorf("merged header values = %q, want both spellings in key order", got)
	}

	// A failed HTTP item keeps the request metadata, so the caller can answer.
	b, err = Unwrap(payloads["http-empty-body.json"])
	if err != nil {
		t.Fatal(err)
	}
	d = b.Items[0].Delivery
	if d.HTTP == nil || d.HTTP.Method != "GET" || d.Headers.Get("User-Agent") != "curl/8.0" {
		t.Errorf("failed HTTP item lost its metadata: %+v", d)
	}
}

func TestHTTPVariants(t *testing.T) {
	const ctx = `"requestContext":{"requestId":"r1","time":"2023-09-05T06:41:11Z","http":{"method":"POST"}}`
	tests := []unwrapCase{
		{"time falls back to requestContext.time",
			`{"version":"v1","body":"{\"EventType\":\"X\"}",` + ctx + `}`, `{"EventType":"X"}`, "", "",
			time.Date(2023, 9, 5, 6, 41, 11, 0, time.UTC)},
		{"numeric timeEpoch",
			`{"rawPath":"/","body":"x","requestContext":{"timeEpoch":1693896071895}}`, "x", "", "",
			time.UnixMilli(1693896071895).UTC()},
		{"array-valued headers and null values",
			`{"rawPath":"/","body":"x","headers":{"x-a":["1","2"],"x-b":null},` + ctx + `}`, "x", "", "",
			time.Date(2023, 9, 5, 6, 41, 11, 0, time.UTC)},
		{"null body is empty", `{"rawPath":"/","body":null,` + ctx + `}`, "", apierr.MissingField, "body", time.Time{}},
		{"empty base64 body is empty", `{"rawPath":"/","body":"","isBase64Encoded":true,` + ctx + `}`, "", apierr.MissingField, "body", time.Time{}},
		{"base64 without padding is rejected", `{"rawPath":"/","body":"eyJhIjoxfQ","isBase64Encoded":true,` + ctx + `}`, "", apierr.InvalidField, "body", time.Time{}},
		{"base64 flag false keeps base64 text", `{"rawPath":"/","body":"eyJhIjoxfQ==","isBase64Encoded":false,` + ctx + `}`, "eyJhIjoxfQ==", "", "",
			time.Date(2023, 9, 5, 6, 41, 11, 0, time.UTC)},
	}
	checkUnwrapCases(t, KindHTTP, tests, false)
	_, it := unwrapOne(t, `{"rawPath":"/","body":"x","headers":{"x-a":["1","2"]},`+ctx+`}`)
	if got := it.Delivery.Headers["X-A"]; !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("array header = %q", got)
	}
}

func TestHTTPEnvelopeErrors(t *testing.T) {
	tests := []struct{ name, payload, msg string }{
		{"requestContext not an object", `{"rawPath":"/","requestContext":"x"}`, "requestContext: is a JSON string; expected a JSON object"},
		{"http not an object", `{"rawPath":"/","requestContext":{"http":[1]}}`, "requestContext.http: is a JSON array"},
		{"isBase64Encoded a string", `{"rawPath":"/","isBase64Encoded":"true","requestContext":{}}`, "isBase64Encoded: is a JSON string; expected a boolean"},
		{"body a number", `{"rawPath":"/","body":12,"requestContext":{}}`, "body: is a JSON number; expected the request body as a string"},
		{"header value a number", `{"rawPath":"/","headers":{"x-a":1},"requestContext":{}}`, "headers.x-a: is a JSON number"},
		{"query value an object", `{"rawPath":"/","queryParameters":{"a":{}},"requestContext":{}}`, "queryParameters.a: is a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Unwrap([]byte(tc.payload))
			checkWholeError(t, b, err, apierr.MalformedJSON, tc.msg)
		})
	}
}

func TestMessageBodyDecoding(t *testing.T) {
	enc := func(s string) string { return tt.B64([]byte(s)) }
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	tests := []struct {
		name  string
		body  string // the messageBody JSON value
		want  string
		code  apierr.Code
		field string
	}{
		{"plain JSON string", quote(`{"EventType":"X"}`), `{"EventType":"X"}`, "", ""},
		{"JSON kept with its whitespace", quote(" {\"EventType\":\"X\"}\n"), " {\"EventType\":\"X\"}\n", "", ""},
		{"base64 of an object", quote(enc(`{"EventType":"X"}`)), `{"EventType":"X"}`, "", ""},
		{"base64 with a trailing newline", quote(enc(`{"EventType":"X"}`) + "\n"), `{"EventType":"X"}`, "", ""},
		{"base64 of an array is kept", quote(enc(`[]`)), enc(`[]`), "", ""},
		{"base64 of plain text is kept", quote(enc("hello")), enc("hello"), "", ""},
		{"plain text is kept", quote("TEST"), "TEST", "", ""},
		{"JSON number text is kept", quote("1234"), "1234", "", ""},
		{"JSON object value", `{"EventType":"X", "Status":"success"}`, `{"EventType":"X", "Status":"success"}`, "", ""},
		{"empty string", quote(""), "", apierr.MissingField, "messageBody"},
		{"null", "null", "", apierr.MissingField, "messageBody"},
		{"array", `[{"EventType":"X"}]`, "", apierr.InvalidField, "messageBody"},
		{"boolean", `true`, "", apierr.InvalidField, "messageBody"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := `[{"requestId":"r","messageId":"m","messageBody":` + tc.body + `}]`
			kind, it := unwrapOne(t, payload)
			if kind != KindEventBridgeRaw || it.Delivery.DeliveryID != "m" {
				t.Fatalf("kind %s id %q", kind, it.Delivery.DeliveryID)
			}
			if tc.code != "" {
				var ae *apierr.Error
				if !errors.As(it.Err, &ae) || ae.Code != tc.code || ae.Field != tc.field {
					t.Fatalf("err = %v, want %s on %s", it.Err, tc.code, tc.field)
				}
				if !strings.HasPrefix(ae.Message, `EventBridge MNS RawData message 0 of 1 (id "m"): `+tc.field+": ") {
					t.Errorf("message %q does not say where", ae.Message)
				}
				return
			}
			if it.Err != nil || string(it.Delivery.Body) != tc.want {
				t.Fatalf("Body = %q, err %v; want %q", it.Delivery.Body, it.Err, tc.want)
			}
		})
	}
}

func TestBatchShapes(t *testing.T) {
	t.Run("lone RawData object", func(t *testing.T) {
		kind, it := unwrapOne(t, `{"requestId":"r","messageId":"m","messageBody":"{\"EventType\":\"X\"}"}`)
		if kind != KindEventBridgeRaw || it.Err != nil || string(it.Delivery.Body) != `{"EventType":"X"}` {
			t.Fatalf("got %s %q %v", kind, it.Delivery.Body, it.Err)
		}
	})
	t.Run("first recognised element sets the kind", func(t *testing.T) {
		b, err := Unwrap([]byte(`[7, {"messageId":"m","messageBody":"{}"}, {"specversion":"1.0","id":"e","data":{"messageBody":"{}"}}]`))
		if err != nil {
			t.Fatal(err)
		}
		if b.Kind != KindEventBridgeRaw || len(b.Items) != 3 {
			t.Fatalf("kind %s, %d items", b.Kind, len(b.Items))
		}
		codes := []apierr.Code{apierr.CodeOf(b.Items[0].Err), apierr.CodeOf(b.Items[1].Err), apierr.CodeOf(b.Items[2].Err)}
		if !reflect.DeepEqual(codes, []apierr.Code{apierr.MalformedJSON, "", apierr.UnsupportedEnvelope}) {
			t.Errorf("codes = %v", codes)
		}
		if id := b.Items[2].Delivery.DeliveryID; id != "e" {
			t.Errorf("mismatched element id = %q, want the CloudEvent id", id)
		}
	})
	t.Run("every element bad still delivers a batch", func(t *testing.T) {
		b, err := Unwrap([]byte(`[{"specversion":"1.0"},null,{"x":1}]`))
		if err != nil {
			t.Fatal(err)
		}
		codes := []apierr.Code{apierr.CodeOf(b.Items[0].Err), apierr.CodeOf(b.Items[1].Err), apierr.CodeOf(b.Items[2].Err)}
		if !reflect.DeepEqual(codes, []apierr.Code{apierr.MissingField, apierr.MalformedJSON, apierr.UnsupportedEnvelope}) {
			t.Errorf("codes = %v", codes)
		}
		if string(b.Items[1].Delivery.Body) != "null" {
			t.Errorf("Body of null element = %q", b.Items[1].Delivery.Body)
		}
	})
	t.Run("CloudEvent time and id fallback", func(t *testing.T) {
		_, it := unwrapOne(t, `[{"specversion":"1.0","id":"e1","time":"2021-04-08T06:28:17.093Z","data":{"messageBody":"{}"}}]`)
		if it.Delivery.DeliveryID != "e1" || !it.Delivery.Time.Equal(time.Date(2021, 4, 8, 6, 28, 17, 93e6, time.UTC)) {
			t.Errorf("id %q time %v", it.Delivery.DeliveryID, it.Delivery.Time)
		}
	})
	t.Run("unparsable CloudEvent time is zero, not an error", func(t *testing.T) {
		_, it := unwrapOne(t, `[{"specversion":"1.0","time":"yesterday","data":{"messageBody":"{}"}}]`)
		if it.Err != nil || !it.Delivery.Time.IsZero() {
			t.Errorf("err %v time %v", it.Err, it.Delivery.Time)
		}
	})
	for _, bad := range []string{`[{"specversion":"1.0"},`, `[`, `[1,]`, `[1 2]`, `[1]]`, `[1] [2]`, `[1] x`, `[,1]`} {
		t.Run("invalid array "+bad, func(t *testing.T) {
			b, err := Unwrap([]byte(bad))
			checkWholeError(t, b, err, apierr.MalformedJSON, "starts with '[' but is not a valid JSON array")
		})
	}
}

func TestMaxBatchItems(t *testing.T) {
	batch := func(n int) []byte {
		elems := make([]string, n)
		for i := range elems {
			elems[i] = "0"
		}
		elems[0] = `{"messageId":"m","messageBody":"{}"}`
		return []byte("[" + strings.Join(elems, ",") + "]")
	}
	b, err := Unwrap(batch(MaxBatchItems))
	if err != nil {
		t.Fatalf("batch of MaxBatchItems: %v", err)
	}
	if len(b.Items) != MaxBatchItems || b.Items[0].Err != nil || apierr.CodeOf(b.Items[MaxBatchItems-1].Err) != apierr.MalformedJSON {
		t.Fatalf("%d items, first err %v, last err %v", len(b.Items), b.Items[0].Err, b.Items[MaxBatchItems-1].Err)
	}
	b, err = Unwrap(batch(MaxBatchItems + 1))
	checkWholeError(t, b, err, apierr.PayloadTooLarge, "JSON array of more than 10000 elements; expected at most 10000")
}

func TestMNSTopic(t *testing.T) {
	payloads := loadFixtures(t)
	b, err := Unwrap(payloads["mns-topic-json.json"])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Items[0].Delivery.Time, time.UnixMilli(1658235558094).UTC(); !got.Equal(want) {
		t.Errorf("PublishTime = %v, want %v", got, want)
	}
	tests := []unwrapCase{
		{"no MD5, PublishTime as a string", `{"TopicName":"t","Message":"{\"EventType\":\"X\"}","PublishTime":"1658235558094","MessageId":"m"}`,
			`{"EventType":"X"}`, "", "", time.UnixMilli(1658235558094).UTC()},
		{"empty MD5 is absent", `{"TopicOwner":"o","Message":"hello","MessageMD5":""}`, "hello", "", "", time.Time{}},
		{"MD5 of plain text", `{"TopicOwner":"o","Message":"hello","MessageMD5":"5D41402ABC4B2A76B9719D911017C592"}`, "hello", "", "", time.Time{}},
		{"Message as an object", `{"SubscriptionName":"s","Message":{"EventType":"X"}}`, `{"EventType":"X"}`, "", "", time.Time{}},
		{"MD5 a number", `{"TopicName":"t","Message":"hello","MessageMD5":5}`, "", apierr.InvalidField, "MessageMD5", time.Time{}},
		{"MD5 wrong", `{"TopicName":"t","Message":"hello","MessageMD5":"00000000000000000000000000000000"}`, "", apierr.InvalidField, "MessageMD5", time.Time{}},
		{"Message empty", `{"TopicName":"t","Message":""}`, "", apierr.MissingField, "Message", time.Time{}},
		{"Message absent", `{"TopicName":"t"}`, "", apierr.MissingField, "Message", time.Time{}},
		{"Message a number", `{"TopicName":"t","Message":3}`, "", apierr.InvalidField, "Message", time.Time{}},
	}
	checkUnwrapCases(t, KindMNSTopic, tests, true)
}

// unwrapCase is a payload holding one message and what Unwrap must make
// of it: the error code and field when code is set, otherwise the body and
// the delivery time.
type unwrapCase struct {
	name, payload, body string
	code                apierr.Code
	field               string
	time                time.Time
}

// checkUnwrapCases unwraps every case's payload, which must be of kind.
// With keepsPayload, a failed message must keep the whole payload as its
// Body, for its dead letter.
func checkUnwrapCases(t *testing.T, kind Kind, tests []unwrapCase, keepsPayload bool) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, it := unwrapOne(t, tc.payload)
			if got != kind {
				t.Fatalf("kind %s, want %s", got, kind)
			}
			if tc.code != "" {
				var ae *apierr.Error
				if !errors.As(it.Err, &ae) || ae.Code != tc.code || ae.Field != tc.field {
					t.Fatalf("err = %v, want %s on %s", it.Err, tc.code, tc.field)
				}
				if keepsPayload && string(it.Delivery.Body) != tc.payload {
					t.Errorf("failed Body = %q, want the payload", it.Delivery.Body)
				}
				return
			}
			if it.Err != nil || string(it.Delivery.Body) != tc.body || !it.Delivery.Time.Equal(tc.time) {
				t.Fatalf("Body %q err %v time %v; want %q %v", it.Delivery.Body, it.Err, it.Delivery.Time, tc.body, tc.time)
			}
		})
	}
}

func TestBareBodies(t *testing.T) {
	ok := []struct{ name, payload, body string }{
		{"IMS MessageBody only", `{"MessageBody":{"MediaId":"m"}}`, `{"MessageBody":{"MediaId":"m"}}`},
		{"Live status event", `{"domain":"d","app":"a","stream":"s","event":"record_paused"}`, `{"domain":"d","app":"a","stream":"s","event":"record_paused"}`},
		// Any Live field makes a Live body (callback.DetectLive), as inside
		// an MNS message: decoding then names what is missing.
		{"Live body without app and stream", `{"domain":"d.com","event":"record_started"}`, `{"domain":"d.com","event":"record_started"}`},
		{"Live body with domain and app only", `{"domain":"d","app":"a"}`, `{"domain":"d","app":"a"}`},
		{"surrounding whitespace kept", "\n {\"EventType\":\"X\"} \n", "\n {\"EventType\":\"X\"} \n"},
		{"JSON string holding a body", `"{\"EventType\":\"X\"}"`, `{"EventType":"X"}`},
		{"base64 with surrounding space", "  " + tt.B64([]byte(`{"EventType":"X"}`)) + "\r\n", `{"EventType":"X"}`},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			kind, it := unwrapOne(t, tc.payload)
			if kind != KindBare || it.Err != nil || string(it.Delivery.Body) != tc.body || it.Delivery.DeliveryID != "" {
				t.Fatalf("got %s %q %v %q", kind, it.Delivery.Body, it.Err, it.Delivery.DeliveryID)
			}
		})
	}
	bad := []struct {
		name, payload string
		code          apierr.Code
	}{
		{"no Live field", `{"Domains":"d","application":"a"}`, apierr.UnsupportedEnvelope},
		{"Live fields null", `{"domain":null,"event":null}`, apierr.UnsupportedEnvelope},
		{"keys are case-sensitive", `{"eventtype":"X","messagebody":{}}`, apierr.UnsupportedEnvelope},
		{"empty object", `{}`, apierr.UnsupportedEnvelope},
		{"null", `null`, apierr.UnsupportedEnvelope},
		{"boolean", `true`, apierr.UnsupportedEnvelope},
		{"trailing garbage", `{"EventType":"X"} x`, apierr.MalformedJSON},
		{"bad JSON string", `"abc`, apierr.MalformedJSON},
		{"base64 without padding", tt.B64([]byte(`{"EventType":"X"}`))[:23], apierr.MalformedJSON},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Unwrap([]byte(tc.payload))
			checkWholeError(t, b, err, tc.code, "expected")
		})
	}
}

func TestPayloadTooLarge(t *testing.T) {
	prefix, suffix := `{"EventType":"X","Pad":"`, `"}`
	atLimit := make([]byte, 0, MaxPayloadSize+1)
	atLimit = append(atLimit, prefix...)
	atLimit = append(atLimit, bytes.Repeat([]byte("a"), MaxPayloadSize-len(prefix)-len(suffix))...)
	atLimit = append(atLimit, suffix...)
	if len(atLimit) != MaxPayloadSize {
		t.Fatalf("built %d bytes", len(atLimit))
	}
	b, err := Unwrap(atLimit)
	if err != nil {
		t.Fatalf("payload of exactly MaxPayloadSize: %v", err)
	}
	if len(b.Items[0].Delivery.Body) != MaxPayloadSize {
		t.Errorf("Body is %d bytes", len(b.Items[0].Delivery.Body))
	}
	over := append(atLimit, ' ')
	b, err = Unwrap(over)
	checkWholeError(t, b, err, apierr.PayloadTooLarge, "invocation payload is 33554433 bytes; expected at most 33554432 bytes")
}

func TestJSONResponse(t *testing.T) {
	r := JSONResponse(http.StatusAccepted, map[string]any{"accepted": 2, "failed": []string{"m1"}})
	if r.StatusCode != 202 || r.IsBase64Encoded || r.Body != `{"accepted":2,"failed":["m1"]}` ||
		r.Headers["Content-Type"] != "application/json; charset=utf-8" {
		t.Errorf("got %+v", r)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"statusCode":202,"headers":{"Content-Type":"application/json; charset=utf-8"},"isBase64Encoded":false,"body":"{\"accepted\":2,\"failed\":[\"m1\"]}"}`
	if string(out) != want {
		t.Errorf("wire form %s\nwant %s", out, want)
	}
	if out, _ := json.Marshal(HTTPResponse{StatusCode: 200}); string(out) != `{"statusCode":200,"isBase64Encoded":false,"body":""}` {
		t.Errorf("headers not omitted when empty: %s", out)
	}

	r = JSONResponse(http.StatusOK, map[string]any{"c": make(chan int)})
	if r.StatusCode != http.StatusInternalServerError {
		t.Errorf("unmarshallable value: status %d, want 500", r.StatusCode)
	}
	var body struct{ Code, Message string }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Code != "Internal" || !strings.Contains(body.Message, "chan int") {
		t.Errorf("unmarshallable value: body %s (%v)", r.Body, err)
	}
}

func TestEpochMillis(t *testing.T) {
	tests := []struct {
		raw  string
		want time.Time
	}{
		{`1658235558094`, time.UnixMilli(1658235558094).UTC()},
		{`"1658235558094"`, time.UnixMilli(1658235558094).UTC()},
		{`1.658235558094e12`, time.UnixMilli(1658235558094).UTC()},
		{`0`, time.Time{}},
		{`-5`, time.Time{}},
		{`"NaN"`, time.Time{}},
		{`"soon"`, time.Time{}},
		{`null`, time.Time{}},
		{``, time.Time{}},
		{`{}`, time.Time{}},
	}
	for _, tc := range tests {
		if got := epochMillis(json.RawMessage(tc.raw)); !got.Equal(tc.want) {
			t.Errorf("epochMillis(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

func TestDescribeKeys(t *testing.T) {
	m := map[string]json.RawMessage{}
	for _, k := range []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a", strings.Repeat("z", 40)} {
		m[k] = nil
	}
	want := `["a" "b" "c" "d" "e" "f" "g" "h" and 3 more]`
	if got := describeKeys(m); got != want {
		t.Errorf("describeKeys = %s, want %s", got, want)
	}
	if got := describeKeys(map[string]json.RawMessage{strings.Repeat("z", 40): nil}); got != `["`+strings.Repeat("z", 32)+`..."]` {
		t.Errorf("long key: %s", got)
	}
}

// TestLiveBodyEverywhere: whether a body is a Live callback is one rule
// (callback.DetectLive), so a body arrives the same bare or inside an MNS
// message, and decoding then refuses it for the same reason.
func TestLiveBodyEverywhere(t *testing.T) {
	for _, body := range []string{
		`{"domain":"d.com","event":"record_started"}`,
		`{"domain":"d.com","app":"a","stream":"s","event":"record_started"}`,
		`{"uri":"x.m3u8"}`,
	} {
		t.Run(body, func(t *testing.T) {
			_, live := callback.DetectLive([]byte(body))
			_, want := callback.Decode([]byte(body))
			for name, payload := range map[string]string{
				"bare":         body,
				"raw data":     string(tt.RawData(tt.Plain, []byte(body))),
				"cloud events": string(tt.CloudEvents(tt.Plain, []byte(body))),
			} {
				kind, it := unwrapOne(t, payload)
				if !live || it.Err != nil || string(it.Delivery.Body) != body {
					t.Fatalf("%s (%s): live %v, body %q, err %v", name, kind, live, it.Delivery.Body, it.Err)
				}
				if _, err := callback.Decode(it.Delivery.Body); apierr.CodeOf(err) != apierr.CodeOf(want) {
					t.Fatalf("%s: decoded with %v, want %v", name, err, want)
				}
			}
		})
	}
}
