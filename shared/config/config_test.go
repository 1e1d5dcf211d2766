package config

import (
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
)

func env(kv ...string) Getenv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

var base = []string{"OSS_ENDPOINT", "http://127.0.0.1:9000", "OSS_BUCKET", "media-state"}

func TestLoadValid(t *testing.T) {
	c, err := Load(env(append(base, "VOD_CALLBACK_URL", "https://cb.example.com/vod", "VOD_CALLBACK_KEYS", "k1, k2",
		"IMS_ANSWER_BUDGET", "2s", "STATE_PREFIX", "p/q")...))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "p/q/" || len(c.Verifiers) != 1 || len(c.Verifiers[0].Keys) != 2 || c.AnswerBudget["ims"] != 2*time.Second ||
		c.AnswerBudget["vod"] != 4*time.Second || c.AuthOff || c.CacheTTL != 5*time.Minute {
		t.Fatalf("unexpected config %+v", c)
	}
	if strings.Contains(strings.Join(c.SecretsLoaded, ","), "k1") {
		t.Fatal("a secret value leaked into SecretsLoaded")
	}
	off, err := Load(env(append(base, "CALLBACK_AUTH", "off")...))
	if err != nil || !off.AuthOff || off.Prefix != "mediastate/" {
		t.Fatalf("auth off: %+v %v", off, err)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env  []string
		want string
	}{
		{nil, "OSS_ENDPOINT: required"},
		{[]string{"OSS_ENDPOINT", "ftp://x", "OSS_BUCKET", "b-1", "CALLBACK_AUTH", "off"}, "OSS_ENDPOINT: want an http(s) URL"},
		{[]string{"OSS_ENDPOINT", "http://x", "OSS_BUCKET", "Bad_Bucket", "CALLBACK_AUTH", "off"}, "OSS_BUCKET"},
		{base, "refusing to accept unsigned HTTP callbacks"},
		{append(base, "VOD_CALLBACK_KEYS", "k"), "VOD_CALLBACK_URL: required with VOD_CALLBACK_KEYS"},
		{append(base, "CALLBACK_AUTH", "maybe"), "CALLBACK_AUTH: want"},
		{append(base, "CALLBACK_AUTH", "off", "SIGNATURE_MAX_SKEW", "soon"), "SIGNATURE_MAX_SKEW"},
		{append(base, "CALLBACK_AUTH", "off", "STATE_CACHE_TTL", "1h"), "STATE_CACHE_TTL: at most 10m"},
		{append(base, "CALLBACK_AUTH", "off", "STATE_PREFIX", "../x"), "STATE_PREFIX"},
		{append(base, "CALLBACK_AUTH", "off", "LIVE_DEDUP_WINDOW", "2h"), "LIVE_DEDUP_WINDOW"},
		{append(base, "CALLBACK_AUTH", "off", "QUERY_AUTH", "open"), "QUERY_AUTH: want"},
		{append(base, "LIVE_CALLBACK_URL", "http://cb.example.com/live", "LIVE_CALLBACK_KEYS", "k"), "LIVE_CALLBACK_URL: must be an https URL"},
	}
	for _, tc := range tests {
		_, err := Load(env(tc.env...))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !apierr.Is(err, apierr.InvalidConfig) {
			t.Errorf("env %v: err = %v, want it to mention %q", tc.env, err, tc.want)
		}
	}
}

// TestPlainHTTPCallbackURLNeedsTheLocalFlag: http callback URLs are for
// local runs, with CALLBACK_ALLOW_HTTP=true.
func TestPlainHTTPCallbackURLNeedsTheLocalFlag(t *testing.T) {
	c, err := Load(env(append(base, "CALLBACK_ALLOW_HTTP", "true", "VOD_CALLBACK_URL", "http://127.0.0.1:8080/media", "VOD_CALLBACK_KEYS", "k")...))
	if err != nil || len(c.Verifiers) != 1 {
		t.Fatalf("http URL with the flag: %v", err)
	}
}

func TestLoadStorageNeedsNoKeys(t *testing.T) {
	if _, err := LoadStorage(env(base...)); err != nil {
		t.Fatalf("LoadStorage: %v", err)
	}
	if _, err := LoadStorage(env()); err == nil {
		t.Fatal("LoadStorage accepted a missing bucket")
	}
}

// TestLoadOverrideURLs checks that a sender may have several callback
// URLs: the console's first, then per-upload overrides.
func TestLoadOverrideURLs(t *testing.T) {
	c, err := Load(env(append(base, "VOD_CALLBACK_URL", "https://cb.example.com/vod, https://cb.example.com/vod/upload-a",
		"VOD_CALLBACK_KEYS", "k", "LIVE_CALLBACK_URL", "https://live.example.com/rec,https://live2.example.com/rec", "LIVE_CALLBACK_KEYS", "l")...))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Verifiers[0]
	if v.CallbackURL != "https://cb.example.com/vod" || len(v.OverrideURLs) != 1 || v.OverrideURLs[0] != "https://cb.example.com/vod/upload-a" {
		t.Fatalf("VOD verifier %+v", v)
	}
	if c.LiveCallbackURL != "https://live.example.com/rec" {
		t.Fatalf("LiveCallbackURL %q", c.LiveCallbackURL)
	}
	for _, bad := range []string{",", "https://cb.example.com/vod,not a url"} {
		if _, err := Load(env(append(base, "VOD_CALLBACK_URL", bad, "VOD_CALLBACK_KEYS", "k")...)); err == nil || !strings.Contains(err.Error(), "VOD_CALLBACK_URL") {
			t.Errorf("VOD_CALLBACK_URL %q: %v", bad, err)
		}
	}
}
