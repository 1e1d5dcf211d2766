// Package deadletter keeps what could not be processed, so that nothing is
// lost: the raw bytes of the delivery (once, capped), the allowed headers
// without secrets, the reason, the function and the time, as one JSON
// object in OSS:
//
//	<prefix>deadletter/<function>/<sha256(function|kind|body) hex, 32 digits>.<v|u>.<code>.json
//
// The key starts with a hash of the content, written create-only, so the
// same bad delivery retried by its sender (VOD tries three times) is kept
// once; it ends with whether the delivery was verified (v) or not (u) and
// the reason code, so that replay can skip a letter from the listing alone
// (see ParseKey). Letters are replayed after the cause is fixed; see
// pipeline.Replay.
package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/redact"
	"mediastate/shared/trigger"
)

// Letter is one dead-lettered delivery.
type Letter struct {
	// Version is the letter layout version, 1.
	Version int `json:"version"`
	// Function is the function that received the delivery.
	Function string `json:"function"`
	// ReceivedAt is when the function gave up on it.
	ReceivedAt time.Time `json:"receivedAt"`
	// Code and Reason say why (an apierr code and message).
	Code   string `json:"code"`
	Reason string `json:"reason"`
	// Trigger is the envelope kind ("http", "eventbridge-mns", ...), or
	// "invocation" when the invocation payload as a whole was unusable.
	Trigger string `json:"trigger"`
	// DeliveryID and RequestID identify the delivery and the invocation.
	DeliveryID string `json:"deliveryId,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
	// Verified is true when the delivery needed no signature (MNS) or its
	// signature verified; replay skips verification only for those.
	Verified bool `json:"verified"`
	// Headers are the HTTP request headers with secrets redacted.
	Headers http.Header `json:"headers,omitempty"`
	// Method, Path and Query describe the HTTP request.
	Method string              `json:"method,omitempty"`
	Path   string              `json:"path,omitempty"`
	Query  map[string][]string `json:"query,omitempty"`
	// The delivery's bytes are kept once: as BodyText when they are UTF-8
	// text without control characters (other than tab and line breaks,
	// which JSON would escape six times over), else as Body (base64 in
	// JSON). They are exactly as received, except when EnvelopeRedacted or
	// Truncated is set.
	Body     []byte `json:"body,omitempty"`
	BodyText string `json:"bodyText,omitempty"`
	// EnvelopeRedacted is true when the body is an FC HTTP trigger envelope
	// (a delivery that could not even be unwrapped) whose secret headers
	// were replaced: the envelope is then re-encoded, not byte-exact.
	EnvelopeRedacted bool `json:"envelopeRedacted,omitempty"`
	// BodySize and BodySHA256 describe the bytes received (before
	// redaction or truncation).
	BodySize   int    `json:"bodySize"`
	BodySHA256 string `json:"bodySha256,omitempty"`
	// Truncated is true when the body was longer than MaxBody: only its
	// first ExcerptSize bytes are kept, for people (it cannot be replayed).
	Truncated bool `json:"truncated,omitempty"`
	// Occurrence is the reception the delivery was claimed as (Live), so
	// that a replay joins it instead of being a new callback.
	Occurrence *trigger.Occurrence `json:"occurrence,omitempty"`
}

// MaxBody is the longest body a letter keeps whole: the largest callback
// body (callback.MaxBodySize); a longer one could never be processed, so
// only an excerpt of ExcerptSize bytes is kept, with its size and SHA-256.
const (
	MaxBody     = callback.MaxBodySize
	ExcerptSize = 4 << 10
)

// Raw returns the body a letter holds.
func (l *Letter) Raw() []byte {
	if l.Body == nil && l.BodyText != "" {
		return []byte(l.BodyText)
	}
	return l.Body
}

// textual reports whether b is UTF-8 text that JSON keeps at about its
// size: no control characters but tab, CR and LF.
func textual(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

// Store writes, lists and removes letters. It is safe for concurrent use.
type Store struct {
	b        *ossx.Bucket
	prefix   string
	function string
	now      func() time.Time
}

// New returns the dead-letter store of one function. prefix is the
// project's key prefix (ending in "/" or empty).
func New(b *ossx.Bucket, prefix, function string) *Store {
	return &Store{b: b, prefix: prefix, function: function, now: time.Now}
}

// Prefix returns the key prefix of this function's letters.
func (s *Store) Prefix() string { return s.prefix + "deadletter/" + s.function + "/" }

// Stem returns the start of the key a delivery's letter is stored under:
// a hash of the function, the envelope kind, the occurrence (when the
// delivery was claimed as one: two callbacks with the same bytes are two
// letters) and the body, so that a sender's retries of one delivery make
// one letter. Every letter of that delivery has a key that starts with it,
// followed by "." (see Key).
func (s *Store) Stem(kind string, occ *trigger.Occurrence, body []byte) string {
	h := sha256.New()
	h.Write([]byte(s.function + "|" + kind + "|"))
	if occ != nil {
		fmt.Fprintf(h, "%d@%d|", occ.Seq, occ.ReceivedAt.UnixMilli())
	}
	h.Write(body)
	return s.Prefix() + hex.EncodeToString(h.Sum(nil))[:32]
}

// Key returns the key of a delivery's letter, given whether it was
// verified and the reason code.
func (s *Store) Key(kind string, occ *trigger.Occurrence, body []byte, verified bool, code apierr.Code) string {
	v := "u"
	if verified {
		v = "v"
	}
	if !safeCode(string(code)) {
		code = apierr.Internal
	}
	return s.Stem(kind, occ, body) + "." + v + "." + string(code) + ".json"
}

// safeCode reports whether a code can be part of a key: 1..64 ASCII
// letters and digits (every apierr code is).
func safeCode(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// Entry is one letter as listed: what replay needs to decide whether to
// read it.
type Entry struct {
	Key  string
	Size int64
	// Known is true when the key says Verified and Code (letters written
	// before keys carried them say nothing: read them to know).
	Known    bool
	Verified bool
	Code     string
}

// ParseKey reads what a letter's key says about it (see Entry).
func ParseKey(key string) Entry {
	e := Entry{Key: key}
	name := key[strings.LastIndexByte(key, '/')+1:]
	parts := strings.Split(strings.TrimSuffix(name, ".json"), ".")
	if len(parts) == 3 && (parts[1] == "v" || parts[1] == "u") && safeCode(parts[2]) {
		e.Known, e.Verified, e.Code = true, parts[1] == "v", parts[2]
	}
	return e
}

// Put keeps d with the reason err. It returns the letter's key. A letter
// for the same delivery already kept is not an error. Errors are transient:
// the caller must then have the delivery retried, never drop it.
func (s *Store) Put(ctx context.Context, d *trigger.Delivery, requestID string, verified bool, reason error) (string, error) {
	kind := "invocation"
	if d.Kind != "" {
		kind = string(d.Kind)
	}
	code := apierr.CodeOf(reason)
	l := Letter{Version: 1, Function: s.function, ReceivedAt: s.now().UTC(), Code: string(code),
		Reason: reason.Error(), Trigger: kind, DeliveryID: d.DeliveryID, RequestID: requestID, Verified: verified,
		Headers: redact.Headers(d.Headers), BodySize: len(d.Body), Occurrence: d.Occurrence}
	if len(l.Headers) == 0 {
		l.Headers = nil
	}
	if d.HTTP != nil {
		l.Method, l.Path, l.Query = d.HTTP.Method, d.HTTP.RawPath, RedactQuery(d.HTTP.Query)
	}
	body := d.Body
	if len(body) > MaxBody {
		sum := sha256.Sum256(body)
		l.BodySHA256, l.Truncated = hex.EncodeToString(sum[:]), true
		body = body[:ExcerptSize]
	} else if b, ok := redactEnvelope(body); ok {
		body, l.EnvelopeRedacted = b, true
	}
	if textual(body) {
		l.BodyText = string(body)
	} else {
		l.Body = body
	}
	if len(l.Reason) > ExcerptSize {
		l.Reason = l.Reason[:ExcerptSize]
	}
	doc, err := json.Marshal(l)
	if err != nil {
		return "", apierr.Transient(apierr.Internal, err, "marshal dead letter")
	}
	key := s.Key(kind, d.Occurrence, d.Body, verified, code)
	// A letter already there is this delivery's, kept by an earlier
	// attempt (the key covers the delivery's content, occurrence, verdict and code).
	_, err = s.b.Create(ctx, key, doc, ossx.CreateOptions{Meta: map[string]string{"code": l.Code, "function": s.function}})
	if err != nil && !errors.Is(err, ossx.ErrExists) {
		return "", apierr.Transient(apierr.StorageUnavailable, err, "write dead letter %s", key)
	}
	return key, nil
}

// Get reads one letter.
func (s *Store) Get(ctx context.Context, key string) (*Letter, error) {
	body, _, err := s.b.GetObject(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read dead letter: %w", err)
	}
	var l Letter
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("dead letter %s is not a letter: %w", key, err)
	}
	return &l, nil
}

// MaxQueryParams is how many query parameters a letter names.
const MaxQueryParams = 16

// RedactQuery returns the names of a request's query parameters (at most
// MaxQueryParams, each cut at 64 bytes) with their values redacted: a
// query string may carry tokens, and its size is the caller's choice.
func RedactQuery(q map[string][]string) map[string][]string {
	if len(q) == 0 {
		return nil
	}
	out := make(map[string][]string, min(len(q), MaxQueryParams))
	for k := range q {
		if len(out) == MaxQueryParams {
			break
		}
		if len(k) > 64 {
			k = k[:64]
		}
		out[k] = []string{redact.Redacted}
	}
	return out
}

// Find returns the key of the letter kept for a delivery, whatever its
// verdict and code; ossx.ErrNotFound when there is none.
func (s *Store) Find(ctx context.Context, kind string, occ *trigger.Occurrence, body []byte) (string, error) {
	page, err := s.b.List(ctx, ossx.ListOptions{Prefix: s.Stem(kind, occ, body) + ".", MaxKeys: 1})
	if err != nil {
		return "", fmt.Errorf("list dead letters: %w", err)
	}
	if len(page.Objects) == 0 {
		return "", ossx.ErrNotFound
	}
	return page.Objects[0].Key, nil
}

// Each calls fn with the key of every letter of this function.
func (s *Store) Each(ctx context.Context, fn func(key string) error) error {
	return s.EachEntry(ctx, func(e Entry) error { return fn(e.Key) })
}

// EachEntry calls fn with every letter of this function as listed, one
// listing page (1000 keys) in memory at a time.
func (s *Store) EachEntry(ctx context.Context, fn func(Entry) error) error {
	token := ""
	for {
		page, err := s.b.List(ctx, ossx.ListOptions{Prefix: s.Prefix(), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list dead letters: %w", err)
		}
		for _, o := range page.Objects {
			if strings.HasSuffix(o.Key, ".json") {
				e := ParseKey(o.Key)
				e.Size = o.Size
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		if page.NextToken == "" {
			return nil
		}
		token = page.NextToken
	}
}

// Delete removes a letter.
func (s *Store) Delete(ctx context.Context, key string) error { return s.b.Delete(ctx, key) }

// Delivery rebuilds the delivery a letter holds.
func (l *Letter) Delivery() *trigger.Delivery {
	d := &trigger.Delivery{Kind: trigger.Kind(l.Trigger), Body: l.Raw(), Headers: l.Headers, DeliveryID: l.DeliveryID,
		Occurrence: l.Occurrence}
	if l.Method != "" || l.Path != "" {
		d.HTTP = &trigger.HTTPRequest{Method: l.Method, RawPath: l.Path, Path: l.Path, Query: l.Query}
	}
	return d
}

// redactEnvelope replaces secret header values inside an FC HTTP trigger
// envelope (a JSON object with headers and requestContext). ok is false,
// and body untouched, for anything else or when nothing was secret.
func redactEnvelope(body []byte) ([]byte, bool) {
	if len(body) == 0 || body[0] != '{' {
		return nil, false
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) != nil || env["headers"] == nil || env["requestContext"] == nil {
		return nil, false
	}
	var headers map[string]json.RawMessage
	if json.Unmarshal(env["headers"], &headers) != nil {
		return nil, false
	}
	changed := false
	for k := range headers {
		if redact.Secret(k) {
			headers[k] = json.RawMessage(`"` + redact.Redacted + `"`)
			changed = true
		}
	}
	if !changed {
		return nil, false
	}
	env["headers"], _ = json.Marshal(headers)
	out, err := json.Marshal(env)
	if err != nil {
		return nil, false
	}
	return out, true
}
