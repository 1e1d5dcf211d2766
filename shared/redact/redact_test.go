package redact

import (
	"net/http"
	"strings"
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
	h.Set("Api-Key", "k")
	h.Set("X-Auth-Key", "k")
	h.Set("X-Oss-Access-Key-Id", "k")
	h.Set("X-Padding", strings.Repeat("x", 1000))
	h.Set("User-Agent", strings.Repeat("u", 1000))
	out := Headers(h)
	want := map[string]string{"Authorization": Redacted, "X-Vod-Signature": Redacted, "X-Ice-Signature": Redacted,
		"Ali-Live-Signature": Redacted, "X-Vod-Timestamp": "1519375990", "Content-Type": "application/json",
		"User-Agent": strings.Repeat("u", MaxValue)}
	for k, v := range out {
		if len(v) != 1 || v[0] != want[k] {
			t.Errorf("%s = %q, want %q (headers off the allow-list are dropped)", k, v, want[k])
		}
	}
	if len(out) != len(want) {
		t.Errorf("kept %d headers, want %d: %v", len(out), len(want), out)
	}
	if h.Get("Authorization") != "secret-value" {
		t.Fatal("Headers modified its input")
	}
	if Headers(nil) != nil {
		t.Fatal("nil in, non-nil out")
	}
}
