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

// Headers returns a copy of h with secret values replaced by Redacted.
func Headers(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if Secret(k) {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}
