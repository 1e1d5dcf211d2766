// Package redact removes secrets from request headers before they are
// stored or logged.
package redact

import (
	"net/http"
	"strings"
)

// Redacted replaces the value of every header that carries or is derived
// from a secret.
const Redacted = "[redacted]"

// Secret reports whether a header carries a secret: credentials, cookies,
// tokens and callback signatures (an MD5 over the signing key, which would
// allow guessing the key offline).
func Secret(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key":
		return true
	}
	return strings.Contains(n, "signature") || strings.Contains(n, "token") ||
		strings.Contains(n, "secret") || strings.Contains(n, "password") ||
		strings.HasPrefix(n, "x-fc-access-key") || strings.HasPrefix(n, "x-acs-")
}

// kept are the headers whose values Headers keeps: what an operator needs
// to understand a delivery, nothing a caller could use to smuggle data or
// secrets into storage. Names are canonical (textproto) form.
var kept = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Content-Encoding": true, "User-Agent": true, "Host": true,
	"X-Vod-Timestamp": true, "X-Ice-Timestamp": true, "Ali-Live-Timestamp": true,
}

// presence are the headers Headers keeps as Redacted: the callback
// signatures and credentials, whose presence matters but whose values must
// never be stored (an MD5 over the signing key allows guessing it offline).
var presence = map[string]bool{
	"X-Vod-Signature": true, "X-Ice-Signature": true, "Ali-Live-Signature": true, "Authorization": true,
}

// MaxValue is the longest header value Headers keeps, in bytes; longer
// values are cut.
const MaxValue = 256

// Headers returns the headers of h worth storing, by allow-list: the
// content and timestamp headers with their values (the first value, cut
// at MaxValue bytes), the signature and authorization headers as
// Redacted, and nothing else, so that whatever a caller puts in other
// headers (API keys, tokens, padding) is neither stored nor logged.
func Headers(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(kept)+len(presence))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case presence[ck]:
			out[ck] = []string{Redacted}
		case kept[ck] && len(vs) > 0:
			v := vs[0]
			if len(v) > MaxValue {
				v = v[:MaxValue]
			}
			out[ck] = []string{v}
		}
	}
	return out
}
