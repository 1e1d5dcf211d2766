// Package config reads a function's configuration from environment
// variables and validates it at start-up, so that a misconfigured function
// fails at once with an error that names the variable, instead of failing
// every delivery.
//
// Variables (README.md, section Configuration, is the reference):
//
//	OSS_ENDPOINT          required, e.g. https://oss-cn-shanghai-internal.aliyuncs.com
//	OSS_BUCKET            required
//	OSS_REGION            optional; selects signature V4 (e.g. cn-shanghai)
//	STATE_PREFIX          key prefix of everything written; default "mediastate/"
//	CALLBACK_AUTH         "required" (default) or "off"
//	VOD_CALLBACK_URL,  VOD_CALLBACK_KEYS    VOD HTTP callback URL(s) and keys (comma-separated; further URLs are per-upload overrides)
//	IMS_CALLBACK_URL,  IMS_CALLBACK_KEYS    IMS HTTP callback URL(s) and keys
//	LIVE_CALLBACK_URL, LIVE_CALLBACK_KEYS   Live recording callback URL(s) and keys
//	SIGNATURE_MAX_SKEW    default 5m
//	CALLBACK_ALLOW_HTTP   "true" accepts http:// callback URLs (local runs only; https otherwise)
//	VOD_ANSWER_BUDGET     default 4s  (VOD gives up after 5 s)
//	IMS_ANSWER_BUDGET     default 2500ms (IMS gives up after 3 s)
//	LIVE_ANSWER_BUDGET    default 4s
//	STATE_CACHE_TTL       default 5m; STATE_CACHE_SIZE default 1024
//	QUERY_TOKEN           liverecordquery only: bearer token callers must send
//	QUERY_AUTH            liverecordquery only: "token" (default) or "function" (behind authType function; the token is still required)
//	LIVE_DEDUP_WINDOW     liverecord only: a body received again within this time is a retry; default 5m, at most 1h
//	GOMEMLIMIT            read by the Go runtime, not here: a soft heap limit below the instance memory (100MiB of 256 MB)
//
// OSS credentials come from the function role in FC (per invocation); when
// run elsewhere, from OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and the
// optional OSS_SESSION_TOKEN.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/signature"
)

// Config is a validated function configuration.
type Config struct {
	Endpoint, Bucket, Region string
	// Prefix ends with "/".
	Prefix string
	// AuthOff disables signature verification of HTTP callbacks.
	AuthOff bool
	// Verifiers holds the configured signature schemes.
	Verifiers []*signature.Verifier
	MaxSkew   time.Duration
	// AnswerBudget is how long an HTTP sender waits, by scheme name.
	AnswerBudget map[string]time.Duration
	CacheTTL     time.Duration
	CacheSize    int
	QueryToken   string
	// QueryAuth is "token" or "function" (liverecordquery).
	QueryAuth string
	// LiveCallbackURL is LIVE_CALLBACK_URL, also without keys (the
	// NotifyUrl of Live notify records).
	LiveCallbackURL string
	// LiveDedupWindow is LIVE_DEDUP_WINDOW; 0 means the default.
	LiveDedupWindow time.Duration
	SecretsLoaded   []string // names of the secret variables set, for the start-up log (never values)
}

// Getenv is the lookup Load uses; os.Getenv by default.
type Getenv func(string) string

// Load reads and validates the configuration of a function with an HTTP
// trigger. All problems are reported together, each naming its variable.
func Load(getenv Getenv) (*Config, error) { return load(getenv, true) }

// LoadStorage reads and validates the configuration of a function without
// an HTTP trigger (e.g. the timer-triggered sweep): callback keys are not
// required.
func LoadStorage(getenv Getenv) (*Config, error) { return load(getenv, false) }

func load(getenv Getenv, http bool) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	dur := func(name string, def time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, "want a positive duration such as 5m or 2500ms, got %q", v)
			return def
		}
		return d
	}
	c := &Config{
		Endpoint: get("OSS_ENDPOINT"),
		Bucket:   get("OSS_BUCKET"),
		Region:   get("OSS_REGION"),
		Prefix:   get("STATE_PREFIX"),
	}
	if c.Endpoint == "" {
		bad("OSS_ENDPOINT", "required (e.g. https://oss-cn-shanghai-internal.aliyuncs.com)")
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OSS_ENDPOINT", "want an http(s) URL, got %q", c.Endpoint)
	}
	if c.Bucket == "" {
		bad("OSS_BUCKET", "required")
	} else if !validBucket(c.Bucket) {
		bad("OSS_BUCKET", "%q is not a valid bucket name (3-63 lower-case letters, digits and hyphens)", c.Bucket)
	}
	if getenv("STATE_PREFIX") == "" {
		c.Prefix = "mediastate/"
	}
	if c.Prefix != "" {
		if !strings.HasSuffix(c.Prefix, "/") {
			c.Prefix += "/"
		}
		if strings.HasPrefix(c.Prefix, "/") || strings.Contains(c.Prefix, "..") || strings.Contains(c.Prefix, "//") {
			bad("STATE_PREFIX", "%q must be a relative key prefix without '..' or empty segments", c.Prefix)
		}
	}
	switch a := strings.ToLower(get("CALLBACK_AUTH")); a {
	case "", "required":
	case "off":
		c.AuthOff = true
	default:
		bad("CALLBACK_AUTH", "want \"required\" or \"off\", got %q", a)
	}
	c.MaxSkew = dur("SIGNATURE_MAX_SKEW", 5*time.Minute)
	// The senders sign the URL and a timestamp, not the body: over plain
	// HTTP anyone on the path could replace the body of a signed request.
	allowHTTP := strings.EqualFold(get("CALLBACK_ALLOW_HTTP"), "true")
	for _, s := range []struct {
		scheme signature.Scheme
		env    string
	}{{signature.VOD, "VOD"}, {signature.IMS, "IMS"}, {signature.Live, "LIVE"}} {
		u, keys := get(s.env+"_CALLBACK_URL"), splitKeys(get(s.env+"_CALLBACK_KEYS"))
		if len(keys) == 0 {
			continue
		}
		c.SecretsLoaded = append(c.SecretsLoaded, s.env+"_CALLBACK_KEYS")
		// The first URL is the console's; further ones are the per-upload or
		// per-job overrides (UserData.MessageCallback.CallbackURL) that
		// callbacks may be signed over.
		urls := splitKeys(u)
		good, tls := len(urls) > 0, true
		for _, one := range urls {
			pu, err := url.Parse(one)
			if err != nil || pu.Host == "" {
				good = false
			} else if !strings.EqualFold(pu.Scheme, "https") {
				tls = false
			}
		}
		if !good {
			bad(s.env+"_CALLBACK_URL", "required with %s_CALLBACK_KEYS: the callback URL exactly as configured in the console, then any per-upload override URLs, comma-separated; got %q", s.env, u)
			continue
		} else if !tls && !allowHTTP {
			bad(s.env+"_CALLBACK_URL", "must be an https URL (the senders do not sign the body, so only TLS protects it), got %q; CALLBACK_ALLOW_HTTP=true allows http for local runs", u)
			continue
		}
		c.Verifiers = append(c.Verifiers, &signature.Verifier{Scheme: s.scheme, CallbackURL: urls[0], OverrideURLs: urls[1:], Keys: keys, MaxSkew: c.MaxSkew})
	}
	if http && !c.AuthOff && len(c.Verifiers) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("CALLBACK_AUTH: no callback key is configured (VOD_CALLBACK_KEYS, IMS_CALLBACK_KEYS or LIVE_CALLBACK_KEYS): refusing to accept unsigned HTTP callbacks; set CALLBACK_AUTH=off to run without verification"))
	}
	c.AnswerBudget = map[string]time.Duration{
		"vod":  dur("VOD_ANSWER_BUDGET", 4*time.Second),
		"ims":  dur("IMS_ANSWER_BUDGET", 2500*time.Millisecond),
		"live": dur("LIVE_ANSWER_BUDGET", 4*time.Second),
	}
	c.CacheTTL = dur("STATE_CACHE_TTL", 5*time.Minute)
	if c.CacheTTL > 10*time.Minute {
		bad("STATE_CACHE_TTL", "at most 10m: the sweep of old versions relies on it (see statestore)")
	}
	c.CacheSize = 1024
	if v := get("STATE_CACHE_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("STATE_CACHE_SIZE", "want a positive integer, got %q", v)
		} else {
			c.CacheSize = n
		}
	}
	if urls := splitKeys(get("LIVE_CALLBACK_URL")); len(urls) > 0 {
		c.LiveCallbackURL = urls[0]
	}
	if v := get("LIVE_DEDUP_WINDOW"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < time.Second || d > time.Hour {
			bad("LIVE_DEDUP_WINDOW", "want a duration from 1s to 1h, got %q", v)
		} else {
			c.LiveDedupWindow = d
		}
	}
	switch a := strings.ToLower(get("QUERY_AUTH")); a {
	case "", "token":
		c.QueryAuth = "token"
	case "function":
		c.QueryAuth = "function"
	default:
		bad("QUERY_AUTH", "want \"token\" or \"function\", got %q", a)
	}
	c.QueryToken = get("QUERY_TOKEN")
	if c.QueryToken != "" {
		c.SecretsLoaded = append(c.SecretsLoaded, "QUERY_TOKEN")
	}
	if len(errs) > 0 {
		return nil, apierr.Wrap(apierr.InvalidConfig, errors.Join(errs...), "invalid configuration")
	}
	return c, nil
}

func splitKeys(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
