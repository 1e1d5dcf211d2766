// Package signature verifies the signatures Alibaba Cloud puts on HTTP
// callbacks (PLATFORM.md section 3):
//
//	VOD:  X-VOD-TIMESTAMP, X-VOD-SIGNATURE = md5hex(callbackURL|timestamp|key)
//	IMS:  X-ICE-TIMESTAMP, X-ICE-SIGNATURE = md5hex(callbackURL|timestamp|key)
//	Live: ALI-LIVE-TIMESTAMP, ALI-LIVE-SIGNATURE = md5hex(host(callbackURL)|timestamp|key)
//
// The callback URL is the one configured in the console, taken from our
// configuration, never from the request. The body is not signed by any of
// the three. Signatures are compared in constant time, and the timestamp
// must be within a bounded clock skew of now so that a captured callback
// cannot be replayed later.
package signature

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mediastate/shared/apierr"
)

// Scheme is one sender's signing convention.
type Scheme struct {
	// Name is "vod", "ims" or "live".
	Name string
	// TimestampHeader and SignatureHeader name the headers.
	TimestampHeader, SignatureHeader string
	// hostOnly signs the callback URL's host instead of the whole URL.
	hostOnly bool
}

// The three schemes.
var (
	VOD  = Scheme{Name: "vod", TimestampHeader: "X-VOD-TIMESTAMP", SignatureHeader: "X-VOD-SIGNATURE"}
	IMS  = Scheme{Name: "ims", TimestampHeader: "X-ICE-TIMESTAMP", SignatureHeader: "X-ICE-SIGNATURE"}
	Live = Scheme{Name: "live", TimestampHeader: "ALI-LIVE-TIMESTAMP", SignatureHeader: "ALI-LIVE-SIGNATURE", hostOnly: true}
)

// Schemes lists every scheme.
var Schemes = []Scheme{VOD, IMS, Live}

// Sign returns the signature of a callback sent at unix time ts to
// callbackURL with key, as the sender computes it.
func (s Scheme) Sign(callbackURL string, ts int64, key string) string {
	subject := callbackURL
	if s.hostOnly {
		subject = hostOf(callbackURL)
	}
	sum := md5.Sum([]byte(subject + "|" + strconv.FormatInt(ts, 10) + "|" + key))
	return hex.EncodeToString(sum[:])
}

// Present reports whether h carries this scheme's signature header.
func (s Scheme) Present(h http.Header) bool { return h.Get(s.SignatureHeader) != "" }

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// Verifier checks one scheme's signatures.
type Verifier struct {
	Scheme Scheme
	// CallbackURL is the URL configured in the sender's console.
	CallbackURL string
	// OverrideURLs are further URLs that callbacks may be signed over: VOD
	// and IMS let one upload or job override the callback URL
	// (UserData.MessageCallback.CallbackURL), and sign over that URL.
	OverrideURLs []string
	// Keys are the accepted keys; the first is current, others are kept
	// during a rotation.
	Keys []string
	// MaxSkew bounds |now - timestamp|; default 5 minutes.
	MaxSkew time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verify checks the signature headers in h. Errors: MissingSignature,
// RequestExpired, SignatureMismatch (all permanent: a retry of the same
// request cannot succeed).
func (v *Verifier) Verify(h http.Header) error {
	sig := strings.TrimSpace(h.Get(v.Scheme.SignatureHeader))
	tsRaw := strings.TrimSpace(h.Get(v.Scheme.TimestampHeader))
	if sig == "" || tsRaw == "" {
		return apierr.New(apierr.MissingSignature, "%s callback without %s and %s headers", v.Scheme.Name, v.Scheme.SignatureHeader, v.Scheme.TimestampHeader)
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return apierr.Field(apierr.RequestExpired, "", v.Scheme.TimestampHeader, "want unix seconds, got %q", truncate(tsRaw, 32))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = 5 * time.Minute
	}
	if d := now().Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return apierr.New(apierr.RequestExpired, "%s callback timestamp %d is %v away from now, more than the allowed %v", v.Scheme.Name, ts, d.Round(time.Second), skew)
	}
	got := []byte(strings.ToLower(sig))
	ok := 0
	for _, u := range v.URLs() {
		for _, k := range v.Keys {
			// Every URL and key is tried so that the time taken does not
			// tell which matched.
			ok |= subtle.ConstantTimeCompare(got, []byte(v.Scheme.Sign(u, ts, k)))
		}
	}
	if ok != 1 {
		return apierr.New(apierr.SignatureMismatch, "%s: %s does not match any configured callback URL and key", v.Scheme.Name, v.Scheme.SignatureHeader)
	}
	return nil
}

// URLs returns the callback URL and the override URLs.
func (v *Verifier) URLs() []string {
	return append([]string{v.CallbackURL}, v.OverrideURLs...)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Set verifies whichever scheme a request is signed with, among those
// configured.
type Set struct {
	verifiers []*Verifier
}

// NewSet returns a Set of the given verifiers; verifiers without keys are
// left out. It is an error for two verifiers to share a scheme.
func NewSet(vs ...*Verifier) (*Set, error) {
	s := &Set{}
	seen := map[string]bool{}
	for _, v := range vs {
		if v == nil || len(v.Keys) == 0 {
			continue
		}
		if seen[v.Scheme.Name] {
			return nil, fmt.Errorf("signature: scheme %s configured twice", v.Scheme.Name)
		}
		seen[v.Scheme.Name] = true
		if v.CallbackURL == "" {
			return nil, apierr.New(apierr.InvalidConfig, "signature: %s key configured without its callback URL", v.Scheme.Name)
		}
		s.verifiers = append(s.verifiers, v)
	}
	return s, nil
}

// Empty reports whether no scheme is configured.
func (s *Set) Empty() bool { return len(s.verifiers) == 0 }

// Verify checks h with the verifier of the scheme whose signature header is
// present. A request with no known signature header, or signed with a
// scheme that is not configured, is refused.
func (s *Set) Verify(h http.Header) (Scheme, error) {
	for _, v := range s.verifiers {
		if v.Scheme.Present(h) {
			return v.Scheme, v.Verify(h)
		}
	}
	for _, sc := range Schemes {
		if sc.Present(h) {
			return sc, apierr.New(apierr.SignatureMismatch, "request is signed for %s callbacks, but no %s key is configured", sc.Name, sc.Name)
		}
	}
	return Scheme{}, apierr.New(apierr.MissingSignature, "request carries no callback signature (X-VOD-SIGNATURE, X-ICE-SIGNATURE or ALI-LIVE-SIGNATURE)")
}
