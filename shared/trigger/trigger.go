// Package trigger unwraps the payload a Function Compute 3.0 function is
// invoked with into the callback bodies it carries.
//
// A function that handles VOD, IMS or Live callbacks receives them in one of
// several envelopes: an FC HTTP trigger event, a JSON array of EventBridge
// events read from an MNS queue (CloudEvents, or only their data parts when
// the trigger's eventSchema is RawData), an MNS topic notification in JSON
// format, or the bare callback body itself (an MNS topic trigger in STREAM
// format, or a direct invocation). Unwrap detects which envelope it is and
// returns one Delivery per message, holding the callback body exactly as its
// sender produced it.
//
// Unwrap never lets one bad message in a batch lose the good ones: a message
// that cannot be unwrapped becomes an Item whose Err is set and whose
// Delivery holds the raw JSON of that message, so that the caller can
// dead-letter it and still process the rest of the batch.
//
// The fc-runtime-go-sdk event structs are not used because they do not fit
// the real payloads (MnsTopicEvent.PublishTime is a time.Time where the
// payload has epoch milliseconds, and MnsQueueEvent is one object where FC 3.0
// delivers an array).
package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
)

// Kind names the envelope a delivery arrived in.
type Kind string

// The envelopes Unwrap recognises.
const (
	// KindHTTP is an FC 3.0 HTTP trigger event.
	KindHTTP Kind = "http"
	// KindEventBridgeMNS is a JSON array of EventBridge CloudEvents of type
	// mns:Queue:SendMessage (an EventBridge trigger on an MNS queue).
	KindEventBridgeMNS Kind = "eventbridge-mns"
	// KindEventBridgeRaw is a JSON array of the data parts of those events
	// only (the EventBridge trigger's eventSchema is RawData).
	KindEventBridgeRaw Kind = "eventbridge-raw"
	// KindMNSTopic is an MNS topic notification in JSON format
	// (notifyContentFormat JSON).
	KindMNSTopic Kind = "mns-topic"
	// KindBare is a bare callback body: an MNS topic notification in STREAM
	// format, or a direct invocation with the body as payload.
	KindBare Kind = "bare"
)

// MaxPayloadSize is the largest invocation payload Unwrap accepts, in bytes.
// It is the Function Compute limit for the payload of a synchronous
// invocation, 32 MB (asynchronous invocations are limited to 128 KB and an
// MNS message to 64 KB; PLATFORM.md section 2, and the FC page
// https://www.alibabacloud.com/help/doc-detail/2527064.html).
const MaxPayloadSize = 32 << 20

// MaxHTTPBodySize is the largest HTTP request body a function accepts,
// in bytes (callback.MaxBodySize: an MNS message, how the same callbacks
// travel by queue, is at most 64 KB, and real callbacks are a few KB).
// A larger body is refused with PayloadTooLarge (HTTP 413).
const MaxHTTPBodySize = callback.MaxBodySize

// MaxHTTPPayloadSize is the largest FC HTTP trigger event Unwrap parses:
// a body of MaxHTTPBodySize JSON-escaped at its worst (six bytes per
// control character), base64 or not, plus headers. A larger HTTP event is
// refused with PayloadTooLarge before any of it is parsed or copied.
const MaxHTTPPayloadSize = 1 << 20

// LooksHTTP reports, without parsing or copying, whether a payload is an
// FC HTTP trigger event: what looks like a JSON object ({...}) that names
// requestContext. Only FC can invoke with another shape (anonymous callers
// reach us through the HTTP trigger only), so a false positive costs
// nothing.
func LooksHTTP(payload []byte) bool {
	t := trimJSONSpace(payload)
	return len(t) > 1 && t[0] == '{' && t[len(t)-1] == '}' && bytes.Contains(t, []byte(`"requestContext"`))
}

// MaxBatchItems is the largest number of elements Unwrap accepts in a JSON
// array payload. It is the largest batch size an EventBridge trigger can be
// configured with (UNVERIFIED: taken as 10000); it bounds the memory a
// payload of many tiny elements could make Unwrap use.
const MaxBatchItems = 10000

// expectedShapes describes, for error messages, what Unwrap accepts.
const expectedShapes = "an FC HTTP trigger event (with requestContext), " +
	"a JSON array of EventBridge MNS events (CloudEvents with data.messageBody, or RawData objects with messageBody), " +
	"an MNS topic notification in JSON format (TopicName, Message), " +
	"or a bare callback body (a JSON object with EventType, MessageBody, or without EventType but with any of domain/app/stream/event/uri, possibly base64-encoded)"

// Delivery is one message found in an invocation payload.
type Delivery struct {
	// Kind is the envelope the message arrived in; it equals the Kind of the
	// Batch that holds it.
	Kind Kind
	// Body holds the callback bytes exactly as the sender produced them,
	// after base64 decoding where the envelope encoded them. When the Item's
	// Err is set, Body instead holds the raw JSON of the message's envelope
	// (the batch element, or the whole payload for single-message
	// envelopes), so that the caller can dead-letter it. Body may share
	// memory with the payload given to Unwrap.
	Body []byte
	// Headers holds the request headers of an HTTP trigger delivery, with
	// canonicalised keys. Multi-valued headers arrive comma-joined from FC and
	// are kept as given. It is nil for other kinds.
	Headers http.Header
	// DeliveryID identifies the delivery for logs and de-duplication: the
	// MNS messageId (falling back to the CloudEvent id), the MNS topic
	// MessageId, or the HTTP requestContext.requestId. It is empty when the
	// envelope carries none, as for bare bodies.
	DeliveryID string
	// Index is the position of the message in its batch, from 0.
	Index int
	// RequestID is the FC request id of the invocation that carries the
	// delivery (or replays it), for logs and dead letters; set by
	// pipeline.Invoker from what its caller read from the FC runtime.
	RequestID string
	// Time is when the envelope says the message was published or received:
	// the CloudEvent time, the MNS topic PublishTime, or the HTTP
	// requestContext timeEpoch (or time). It is the zero time when the
	// envelope carries none or it cannot be parsed; it is informational and
	// never makes a delivery fail.
	Time time.Time
	// HTTP describes the request of an HTTP trigger delivery; it is nil for
	// other kinds.
	HTTP *HTTPRequest
	// Occurrence says which reception of its body this delivery belongs to,
	// once that is known: set by the Live recorder when it claims the
	// delivery, kept in a dead letter and restored on replay, so that a
	// replayed callback joins its first reception.
	Occurrence *Occurrence
	// Unusable is why the message cannot be processed when it could not
	// even be unwrapped (the Item's Err, or the error of a whole payload
	// Unwrap refused); nil otherwise. The pipeline sets it before it
	// rejects the delivery, so that the answer and the dead letter give
	// the reason.
	Unusable error
	// Letter is the key of the dead letter the delivery is replayed from,
	// set by the pipeline's replay; "" for a delivery as it arrived. A
	// replayed delivery passes signature verification as verified (it was
	// verified when it arrived, or an operator checked it), and when it
	// fails again it stays in that letter instead of making a new one.
	Letter string
	// EventID is the content identity of Body (callback.Identity) when a
	// middleware needed it before decoding (the Live recorder does, for
	// every Live body it records); decoding then reuses it, so that a body
	// is hashed once. "" otherwise.
	EventID string
	// Live is what a Live body names (callback.DetectLive), set by the Live
	// recorder when it will record the delivery, for its claim after
	// verification; nil otherwise.
	Live *callback.LiveTarget
}

// Occurrence identifies one reception of a callback body among the
// receptions of the same bytes: its number, from 1, and when it was first
// received (UTC, whole milliseconds).
type Occurrence struct {
	Seq        uint64    `json:"seq"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// MessageID returns the id of the queue message the delivery came in: the
// MNS message id of an EventBridge or MNS topic delivery, which stays the
// same when the queue delivers the message again. It is "" for HTTP
// requests (each retry is a new request) and bare bodies.
func (d *Delivery) MessageID() string {
	switch d.Kind {
	case KindEventBridgeMNS, KindEventBridgeRaw, KindMNSTopic:
		return d.DeliveryID
	}
	return ""
}

// HTTPRequest describes the HTTP request behind an HTTP trigger delivery.
type HTTPRequest struct {
	// Method is requestContext.http.method, such as "POST".
	Method string
	// RawPath is the request path as received (rawPath).
	RawPath string
	// Path is requestContext.http.path.
	Path string
	// Protocol is requestContext.http.protocol, such as "HTTP/1.1".
	Protocol string
	// Query holds queryParameters. Multi-valued parameters arrive
	// comma-joined from FC and are kept as given.
	Query url.Values
	// SourceIP is requestContext.http.sourceIp.
	SourceIP string
	// UserAgent is requestContext.http.userAgent.
	UserAgent string
	// RequestID is requestContext.requestId.
	RequestID string
	// AccountID is requestContext.accountId.
	AccountID string
	// DomainName is requestContext.domainName, the host the request was sent to.
	DomainName string
	// DomainPrefix is requestContext.domainPrefix.
	DomainPrefix string
	// Time is requestContext.timeEpoch (epoch milliseconds), or
	// requestContext.time when timeEpoch is absent; zero when neither parses.
	Time time.Time
}

// Item is the outcome of unwrapping one message.
type Item struct {
	// Delivery is never nil. When Err is nil its Body holds the callback
	// body; when Err is set its Body holds the raw JSON of the message's
	// envelope.
	Delivery *Delivery
	// Err is set when this message cannot be unwrapped. It is an
	// *apierr.Error with a permanent (client) fault: retrying cannot help,
	// so the message should be dead-lettered.
	Err error
}

// Batch is the list of messages one invocation payload carries.
type Batch struct {
	// Kind is the envelope of the payload.
	Kind Kind
	// Items holds one entry per message, in payload order. It is never empty.
	Items []Item
}

// Unwrap detects the envelope of an invocation payload and returns the
// messages it carries.
//
// It returns an error only when the payload as a whole is unusable: larger
// than MaxPayloadSize, or an array of more than MaxBatchItems elements (code
// PayloadTooLarge), not valid JSON nor standard
// base64 of a callback body (MalformedJSON), empty or of no supported shape
// (UnsupportedEnvelope), or an envelope whose own structure has the wrong
// JSON types (MalformedJSON). A problem with one message (a missing or
// undecodable body, an MD5 mismatch, a batch element of the wrong shape) is
// reported in that message's Item.Err instead, and the other messages are
// still delivered.
//
// A JSON object payload is classified by its exact (case-sensitive) keys:
// requestContext (with rawPath, version, headers, body or isBase64Encoded)
// makes it an HTTP trigger event; TopicName, TopicOwner or
// SubscriptionName an MNS topic notification; specversion a single
// CloudEvent; messageBody with messageId or requestId a single RawData
// message (these two are accepted as batches of one, as older runtimes
// delivered them); EventType or MessageBody, or no EventType and a Live
// field (callback.DetectLive), a bare callback body. A JSON string payload, or a payload that is not JSON
// at all, is accepted as a bare body when it is, or is standard base64 of, a
// JSON object with the bare-body keys.
func Unwrap(payload []byte) (*Batch, error) {
	if len(payload) > MaxPayloadSize {
		return nil, apierr.New(apierr.PayloadTooLarge,
			"invocation payload is %d bytes; expected at most %d bytes (the FC synchronous invocation limit)",
			len(payload), MaxPayloadSize)
	}
	if len(payload) > MaxHTTPPayloadSize && LooksHTTP(payload) {
		return nil, apierr.New(apierr.PayloadTooLarge,
			"HTTP request is %d bytes with its headers; expected a body of at most %d bytes", len(payload), MaxHTTPBodySize)
	}
	t := trimJSONSpace(payload)
	if len(t) == 0 {
		return nil, apierr.New(apierr.UnsupportedEnvelope, "invocation payload is empty; expected %s", expectedShapes)
	}
	switch t[0] {
	case '{':
		return unwrapObject(payload, t)
	case '[':
		return unwrapArray(t)
	case '"':
		return unwrapQuoted(t)
	}
	if json.Valid(t) {
		return nil, apierr.New(apierr.UnsupportedEnvelope,
			"invocation payload is a JSON %s; expected %s", jsonType(t), expectedShapes)
	}
	return unwrapBase64Text(t)
}

// unwrapObject handles a payload that is a JSON object. payload is the
// payload as given, t the same without surrounding whitespace.
func unwrapObject(payload, t []byte) (*Batch, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(t, &top); err != nil {
		return nil, apierr.Wrap(apierr.MalformedJSON, err,
			"invocation payload starts with '{' but is not a valid JSON object; expected %s", expectedShapes)
	}
	switch {
	case isHTTPEvent(top):
		return unwrapHTTP(t, top)
	case isTopicNotification(top):
		return unwrapTopic(t, top)
	case has(top, "specversion"):
		return &Batch{Kind: KindEventBridgeMNS, Items: []Item{cloudEventItem(t, top, 0, 1)}}, nil
	case has(top, "messageBody") && (has(top, "messageId") || has(top, "requestId")):
		return &Batch{Kind: KindEventBridgeRaw, Items: []Item{rawDataItem(t, top, 0, 1)}}, nil
	case isBareBody(top, t):
		return bareBatch(payload), nil
	}
	return nil, apierr.New(apierr.UnsupportedEnvelope,
		"invocation payload is a JSON object with keys %s, which match no trigger shape; expected %s",
		describeKeys(top), expectedShapes)
}

// unwrapQuoted handles a payload that is a JSON string: a bare callback body
// or its base64 encoding, JSON-quoted by whoever invoked the function.
func unwrapQuoted(t []byte) (*Batch, error) {
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, apierr.Wrap(apierr.MalformedJSON, err,
			"invocation payload starts with '\"' but is not a valid JSON string; expected %s", expectedShapes)
	}
	if body, ok := bareBody([]byte(s)); ok {
		return bareBatch(body), nil
	}
	return nil, apierr.New(apierr.UnsupportedEnvelope,
		"invocation payload is a JSON string that is neither a bare callback body nor standard base64 of one; expected %s",
		expectedShapes)
}

// unwrapBase64Text handles a payload that is not JSON: it can only be the
// standard base64 encoding of a bare callback body, as an MNS topic trigger
// in STREAM format delivers a base64-encoded message.
func unwrapBase64Text(t []byte) (*Batch, error) {
	dec, err := decodeBase64(t)
	if err != nil {
		return nil, apierr.Wrap(apierr.MalformedJSON, err,
			"invocation payload is neither JSON nor standard base64; expected %s", expectedShapes)
	}
	if isBareJSON(dec) {
		return bareBatch(dec), nil
	}
	if json.Valid(dec) {
		return nil, apierr.New(apierr.UnsupportedEnvelope,
			"invocation payload is base64 of a JSON %s that is not a bare callback body; expected %s",
			jsonType(trimJSONSpace(dec)), expectedShapes)
	}
	return nil, apierr.New(apierr.MalformedJSON,
		"invocation payload is standard base64 but its decoding is not JSON; expected %s", expectedShapes)
}

// bareBatch returns the batch of one bare callback body.
func bareBatch(body []byte) *Batch {
	return &Batch{Kind: KindBare, Items: []Item{{Delivery: &Delivery{Kind: KindBare, Body: body}}}}
}

// isBareBody reports whether a JSON object, raw with its keys m, is a
// callback body: IMS and VOD bodies have EventType (IMS ones also
// MessageBody); Live recording bodies are what callback.DetectLive says,
// the rule that decoding and the Live recorder follow too.
func isBareBody(m map[string]json.RawMessage, raw []byte) bool {
	if has(m, "EventType") || has(m, "MessageBody") {
		return true
	}
	_, live := callback.DetectLive(raw)
	return live
}

// isBareJSON reports whether b is a JSON object that is a callback body.
func isBareJSON(b []byte) bool {
	t := trimJSONSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return false
	}
	return isBareBody(m, t)
}

// bareBody returns the callback body text holds: text itself when it is a
// callback body, or its standard base64 decoding when that is one.
func bareBody(text []byte) ([]byte, bool) {
	if isBareJSON(text) {
		return text, true
	}
	if dec, err := decodeBase64(text); err == nil && isBareJSON(dec) {
		return dec, true
	}
	return nil, false
}

// failed returns the Item for a message that cannot be unwrapped: d keeps
// its metadata, its Body becomes raw (the message's envelope JSON), and the
// error message is prefixed with where the message was found.
func failed(d *Delivery, raw []byte, where string, err *apierr.Error) Item {
	e := *err
	e.Message = where + ": " + e.Message
	d.Body = raw
	return Item{Delivery: d, Err: &e}
}

// fieldErr returns a permanent error about one field of an envelope.
func fieldErr(code apierr.Code, field, format string, args ...any) *apierr.Error {
	return apierr.Field(code, "", field, format, args...)
}

// has reports whether m has key (exactly, case-sensitively).
func has(m map[string]json.RawMessage, key string) bool {
	_, ok := m[key]
	return ok
}

// str returns the value of key in m when it is a JSON string, and "" when
// it is absent or of another type. It is for metadata that must never make a
// delivery fail.
func str(m map[string]json.RawMessage, key string) string {
	raw, ok := m[key]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// describeKeys lists the keys of a JSON object for an error message,
// sorted, quoted, shortened and bounded in number.
func describeKeys(m map[string]json.RawMessage) string {
	const maxKeys, maxLen = 8, 32
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "{} (none)"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, k := range keys {
		if i == maxKeys {
			fmt.Fprintf(&b, " and %d more", len(keys)-maxKeys)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if len(k) > maxLen {
			k = k[:maxLen] + "..."
		}
		fmt.Fprintf(&b, "%q", k)
	}
	b.WriteByte(']')
	return b.String()
}
