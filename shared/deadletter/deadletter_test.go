package deadletter

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactEnvelope(t *testing.T) {
	env := []byte(`{"version":"v1","body":"!!","isBase64Encoded":true,"headers":{"X-Vod-Signature":"abc123","X-Vod-Timestamp":"1"},"requestContext":{"requestId":"r"}}`)
	out, ok := redactEnvelope(env)
	if !ok || bytes.Contains(out, []byte("abc123")) || !bytes.Contains(out, []byte(`"X-Vod-Timestamp":"1"`)) || !strings.Contains(string(out), `"body":"!!"`) {
		t.Fatalf("redactEnvelope = %s, %v", out, ok)
	}
	for _, body := range []string{`{"EventType":"X","headers":{"Authorization":"x"}}`, `{"headers":{"Date":"x"},"requestContext":{}}`, `not json`, ``} {
		if _, ok := redactEnvelope([]byte(body)); ok {
			t.Errorf("redacted %q, which is no envelope with secrets", body)
		}
	}
}

func TestParseKey(t *testing.T) {
	for key, want := range map[string]Entry{
		"p/deadletter/media/0123456789abcdef0123456789abcdef.v.MissingField.json":     {Known: true, Verified: true, Code: "MissingField"},
		"p/deadletter/media/0123456789abcdef0123456789abcdef.u.MissingSignature.json": {Known: true, Code: "MissingSignature"},
		"p/deadletter/media/0123456789abcdef0123456789abcdef.json":                    {}, // written before keys said more
		"p/deadletter/media/0123456789abcdef0123456789abcdef.x.Bad-Code.json":         {},
	} {
		want.Key = key
		if got := ParseKey(key); got != want {
			t.Errorf("ParseKey(%s) = %+v, want %+v", key, got, want)
		}
	}
}

func TestTextual(t *testing.T) {
	for b, want := range map[string]bool{"{\"a\":\"b\"}\n": true, "\x01": false, "\xff": false, "tab\there": true, "del\x7f": false} {
		if textual([]byte(b)) != want {
			t.Errorf("textual(%q) != %v", b, want)
		}
	}
}
