// Package deadletter keeps what could not be processed, so that nothing is
// lost: the raw bytes of the delivery, its headers without secrets, the
// reason, the function and the time, as one JSON object in OSS:
//
//	<prefix>deadletter/<function>/<sha256(function|kind|body) hex, 32 digits>.json
//
// The key is a hash of the content, written create-only, so the same bad
// delivery retried by its sender (VOD tries three times) is kept once.
// Letters are replayed after the cause is fixed; see Replay.
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
	// Body is the raw delivery, exactly as received (base64 in JSON),
	// except when EnvelopeRedacted is set.
	Body []byte `json:"body"`
	// EnvelopeRedacted is true when Body is an FC HTTP trigger envelope
	// (a delivery that could not even be unwrapped) whose secret headers
	// were replaced: the envelope is then re-encoded, not byte-exact.
	EnvelopeRedacted bool `json:"envelopeRedacted,omitempty"`
	// BodyText repeats Body for people when it is valid UTF-8.
	BodyText string `json:"bodyText,omitempty"`
	// Occurrence is the reception the delivery was claimed as (Live), so
	// that a replay joins it instead of being a new callback.
	Occurrence *trigger.Occurrence `json:"occurrence,omitempty"`
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

// Key returns the key a delivery's letter is stored under: a hash of the
// function, the envelope kind, the occurrence (when the delivery was
// claimed as one: two callbacks with the same bytes are two letters) and
// the body, so that a sender's retries of one delivery make one letter.
func (s *Store) Key(kind string, occ *trigger.Occurrence, body []byte) string {
	h := sha256.New()
	h.Write([]byte(s.function + "|" + kind + "|"))
	if occ != nil {
		fmt.Fprintf(h, "%d@%d|", occ.Seq, occ.ReceivedAt.UnixMilli())
	}
	h.Write(body)
	return s.Prefix() + hex.EncodeToString(h.Sum(nil))[:32] + ".json"
}

// Put keeps d with the reason err. It returns the letter's key. A letter
// for the same delivery already kept is not an error. Errors are transient:
// the caller must then have the delivery retried, never drop it.
func (s *Store) Put(ctx context.Context, d *trigger.Delivery, requestID string, verified bool, reason error) (string, error) {
	kind := "invocation"
	if d.Kind != "" {
		kind = string(d.Kind)
	}
	l := Letter{Version: 1, Function: s.function, ReceivedAt: s.now().UTC(), Code: string(apierr.CodeOf(reason)),
		Reason: reason.Error(), Trigger: kind, DeliveryID: d.DeliveryID, RequestID: requestID, Verified: verified,
		Headers: redact.Headers(d.Headers), Body: d.Body, Occurrence: d.Occurrence}
	if d.HTTP != nil {
		l.Method, l.Path, l.Query = d.HTTP.Method, d.HTTP.RawPath, d.HTTP.Query
	}
	if b, ok := redactEnvelope(d.Body); ok {
		l.Body, l.EnvelopeRedacted = b, true
	}
	if utf8.Valid(l.Body) {
		l.BodyText = string(l.Body)
	}
	doc, err := json.Marshal(l)
	if err != nil {
		return "", apierr.Transient(apierr.Internal, err, "marshal dead letter")
	}
	key := s.Key(kind, d.Occurrence, d.Body)
	// A letter already there is this delivery's, kept by an earlier
	// attempt (the key covers the delivery's content and occurrence).
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

// Each calls fn with the key of every letter of this function.
func (s *Store) Each(ctx context.Context, fn func(key string) error) error {
	token := ""
	for {
		page, err := s.b.List(ctx, ossx.ListOptions{Prefix: s.Prefix(), ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list dead letters: %w", err)
		}
		for _, o := range page.Objects {
			if strings.HasSuffix(o.Key, ".json") {
				if err := fn(o.Key); err != nil {
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
	d := &trigger.Delivery{Kind: trigger.Kind(l.Trigger), Body: l.Body, Headers: l.Headers, DeliveryID: l.DeliveryID,
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
