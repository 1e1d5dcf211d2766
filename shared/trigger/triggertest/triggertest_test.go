package triggertest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediastate/shared/signature"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
)

// TestShapesUnwrap checks that every payload the package builds is
// recognised by trigger.Unwrap as the envelope it means, and gives back
// the bodies it carries, byte for byte.
func TestShapesUnwrap(t *testing.T) {
	a := []byte(`{"EventType":"FileUploadComplete","VideoId":"a1","Status":"success"}`)
	b := []byte(`{"EventType":"TranscodeComplete","VideoId":"<b&2>","Status":"success"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/upload?x=1&x=2", bytes.NewReader(a))
	req.Header = tt.SignedHeaders(signature.VOD, "http://127.0.0.1:9/upload", "k", time.Unix(1700000000, 0))
	req.RemoteAddr = "203.0.113.7:41000"
	binary := []byte{0xff, 0xfe, '{'}
	long := []byte(`{"EventType":"TranscodeComplete","VideoId":"` + strings.Repeat("c", 200) + `"}`)
	cases := []struct {
		name    string
		payload []byte
		kind    trigger.Kind
		bodies  [][]byte
	}{
		{"cloudevents plain", tt.CloudEvents(tt.Plain, a, b), trigger.KindEventBridgeMNS, [][]byte{a, b}},
		{"cloudevents base64", tt.CloudEvents(tt.Base64, a), trigger.KindEventBridgeMNS, [][]byte{a}},
		{"cloudevents object", tt.CloudEvents(tt.Object, b), trigger.KindEventBridgeMNS, [][]byte{b}},
		{"rawdata plain", tt.RawData(tt.Plain, a, b), trigger.KindEventBridgeRaw, [][]byte{a, b}},
		{"rawdata base64", tt.RawData(tt.Base64, b), trigger.KindEventBridgeRaw, [][]byte{b}},
		{"topic", tt.TopicJSON(tt.NewID(), a, false), trigger.KindMNSTopic, [][]byte{a}},
		{"topic base64", tt.TopicJSON(tt.NewID(), b, true), trigger.KindMNSTopic, [][]byte{b}},
		{"bare", a, trigger.KindBare, [][]byte{a}},
		{"bare base64", tt.BareBase64(b), trigger.KindBare, [][]byte{b}},
		{"bare mime base64", []byte(tt.MIMEBase64(long)), trigger.KindBare, [][]byte{long}},
		{"http event", tt.JSON(tt.HTTPEventOf(req, a, "r-1", time.Now())), trigger.KindHTTP, [][]byte{a}},
		{"http event binary body", tt.JSON(tt.HTTPEventOf(req, binary, "r-2", time.Now())), trigger.KindHTTP, [][]byte{binary}},
		{"posted event", tt.JSON(tt.PostEvent("http://127.0.0.1:9/media", b, req.Header, "127.0.0.1:1", "r-4", time.Now())), trigger.KindHTTP, [][]byte{b}},
		{"example http event", tt.JSON(tt.ExampleHTTPEvent(tt.B64(b), true, map[string]string{"a": "b"}, "r-3")), trigger.KindHTTP, [][]byte{b}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batch, err := trigger.Unwrap(c.payload)
			if err != nil {
				t.Fatalf("Unwrap: %v\n%s", err, c.payload)
			}
			if batch.Kind != c.kind || len(batch.Items) != len(c.bodies) {
				t.Fatalf("Unwrap: kind %s with %d items, want %s with %d\n%s", batch.Kind, len(batch.Items), c.kind, len(c.bodies), c.payload)
			}
			for i, it := range batch.Items {
				if it.Err != nil || !bytes.Equal(it.Delivery.Body, c.bodies[i]) {
					t.Fatalf("item %d: %v, body %q, want %q", i, it.Err, it.Delivery.Body, c.bodies[i])
				}
			}
		})
	}
}

// TestHTTPEventOf checks the request facts an HTTP event carries.
func TestHTTPEventOf(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "http://callback-abc.example.com/upload?x=1&x=2", nil)
	req.Header = tt.SignedHeaders(signature.IMS, "http://callback-abc.example.com/upload", "k", time.Unix(1700000000, 0))
	req.Header.Add("X-Many", "a")
	req.Header.Add("X-Many", "b")
	req.RemoteAddr = "203.0.113.7:41000"
	batch, err := trigger.Unwrap(tt.JSON(tt.HTTPEventOf(req, []byte(`{"EventType":"X"}`), "r-1", time.UnixMilli(1700000000123))))
	if err != nil {
		t.Fatal(err)
	}
	d := batch.Items[0].Delivery
	h := d.HTTP
	if h.SourceIP != "203.0.113.7" || h.Query.Get("x") != "1,2" || h.DomainPrefix != "callback-abc" || h.RequestID != "r-1" ||
		h.Path != "/upload" || !h.Time.Equal(time.UnixMilli(1700000000123)) {
		t.Fatalf("request facts %+v", h)
	}
	sig := signature.IMS.Sign("http://callback-abc.example.com/upload", 1700000000, "k")
	if d.Headers.Get("X-Ice-Timestamp") != "1700000000" || d.Headers.Get("X-Ice-Signature") != sig || d.Headers.Get("X-Many") != "a,b" {
		t.Fatalf("headers %v", d.Headers)
	}
}

// TestNewID checks that ids look like MNS message ids and do not repeat.
func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := tt.NewID()
		if len(id) != 32 || strings.ToUpper(id) != id || seen[id] {
			t.Fatalf("id %q (len %d, seen %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
}
