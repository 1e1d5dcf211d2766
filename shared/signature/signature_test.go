package signature

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
)

// The documented VOD example input; the expected value was computed
// independently with coreutils md5sum.
func TestDocumentedVODExample(t *testing.T) {
	got := VOD.Sign("https://www.example.com/your/callback", 1519375990, "test123")
	if want := "c72b60894140fa98920f1279219b7ed4"; got != want {
		t.Fatalf("VOD.Sign = %s, want %s", got, want)
	}
	if ims := IMS.Sign("https://www.example.com/your/callback", 1519375990, "test123"); ims != got {
		t.Fatalf("IMS.Sign = %s, want the VOD convention %s", ims, got)
	}
}

func TestLiveSignsHostOnly(t *testing.T) {
	a := Live.Sign("https://cb.example.com/live/notify?x=1", 100, "k")
	b := Live.Sign("http://cb.example.com/other", 100, "k")
	if a != b {
		t.Fatalf("live signatures differ for the same host: %s %s", a, b)
	}
	if VOD.Sign("https://cb.example.com/a", 100, "k") == VOD.Sign("https://cb.example.com/b", 100, "k") {
		t.Fatal("VOD signature ignores the URL path")
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	url := "https://cb.example.com/vod"
	override := "https://cb.example.com/vod/per-upload"
	v := &Verifier{Scheme: VOD, CallbackURL: url, OverrideURLs: []string{override}, Keys: []string{"new", "old"}, MaxSkew: time.Minute, Now: func() time.Time { return now }}
	hdr := func(ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set("X-VOD-TIMESTAMP", itoa(ts))
		h.Set("X-VOD-SIGNATURE", sig)
		return h
	}
	ts := now.Unix() - 30
	tests := []struct {
		name string
		h    http.Header
		code apierr.Code
	}{
		{"current key", hdr(ts, VOD.Sign(url, ts, "new")), ""},
		{"previous key during rotation", hdr(ts, VOD.Sign(url, ts, "old")), ""},
		{"upper-case hex", hdr(ts, upper(VOD.Sign(url, ts, "new"))), ""},
		{"wrong key", hdr(ts, VOD.Sign(url, ts, "guess")), apierr.SignatureMismatch},
		{"signed for another URL", hdr(ts, VOD.Sign("https://evil.example.com/vod", ts, "new")), apierr.SignatureMismatch},
		{"timestamp not the signed one", hdr(ts+1, VOD.Sign(url, ts, "new")), apierr.SignatureMismatch},
		{"too old", hdr(now.Unix()-61, VOD.Sign(url, now.Unix()-61, "new")), apierr.RequestExpired},
		{"too far ahead", hdr(now.Unix()+61, VOD.Sign(url, now.Unix()+61, "new")), apierr.RequestExpired},
		{"timestamp not a number", hdr(0, "x"), apierr.RequestExpired},
		{"no headers", http.Header{}, apierr.MissingSignature},
		{"per-upload override URL", hdr(ts, VOD.Sign(override, ts, "old")), ""},
	}
	tests[8].h.Set("X-VOD-TIMESTAMP", "yesterday")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(tc.h)
			if got := apierr.CodeOf(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if err != nil && !apierr.IsPermanent(err) {
				t.Fatalf("%v should be permanent", err)
			}
		})
	}
}

func TestSetPicksScheme(t *testing.T) {
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	set, err := NewSet(
		&Verifier{Scheme: VOD, CallbackURL: "https://a/vod", Keys: []string{"kv"}, Now: clock},
		&Verifier{Scheme: IMS, CallbackURL: "https://a/ims", Keys: []string{"ki"}, Now: clock},
		&Verifier{Scheme: Live}, // no key: left out
	)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-ICE-TIMESTAMP", itoa(now.Unix()))
	h.Set("X-ICE-SIGNATURE", IMS.Sign("https://a/ims", now.Unix(), "ki"))
	if sc, err := set.Verify(h); err != nil || sc.Name != "ims" {
		t.Fatalf("IMS request: %v %v", sc.Name, err)
	}
	live := http.Header{}
	live.Set("ALI-LIVE-TIMESTAMP", itoa(now.Unix()))
	live.Set("ALI-LIVE-SIGNATURE", Live.Sign("https://a/live", now.Unix(), "k"))
	if _, err := set.Verify(live); !apierr.Is(err, apierr.SignatureMismatch) {
		t.Fatalf("unconfigured scheme: %v", err)
	}
	if _, err := set.Verify(http.Header{}); !apierr.Is(err, apierr.MissingSignature) {
		t.Fatalf("unsigned: %v", err)
	}
	if _, err := NewSet(&Verifier{Scheme: VOD, Keys: []string{"k"}}); !apierr.Is(err, apierr.InvalidConfig) {
		t.Fatalf("key without URL: %v", err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func upper(s string) string { return strings.ToUpper(s) }
