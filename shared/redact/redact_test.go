package redact

import (
	"net/http"
	"testing"
)

func TestHeaders(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Authorization", "X-Vod-Signature", "X-Ice-Signature", "Ali-Live-Signature", "X-Fc-Security-Token",
		"X-Fc-Access-Key-Secret", "Cookie", "X-Oss-Security-Token"} {
		h.Set(k, "secret-value")
	}
	h.Set("X-Vod-Timestamp", "1519375990")
	h.Set("Content-Type", "application/json")
	out := Headers(h)
	for k, v := range out {
		secret := k != "X-Vod-Timestamp" && k != "Content-Type"
		if secret != (v[0] == Redacted) {
			t.Errorf("%s = %q (secret=%v)", k, v[0], secret)
		}
	}
	if h.Get("Authorization") != "secret-value" {
		t.Fatal("Headers modified its input")
	}
	if Headers(nil) != nil {
		t.Fatal("nil in, non-nil out")
	}
}
