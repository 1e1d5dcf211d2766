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
