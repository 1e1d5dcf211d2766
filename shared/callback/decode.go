package callback

import (
	"bytes"
	"encoding/json"
	"errors"

	"mediastate/shared/apierr"
)

// MaxBodySize is the largest callback body, in bytes, that Decode and
// Identity accept. Real callbacks are a few kilobytes, and an MNS message
// (how VOD and IMS deliver to a queue) is at most 64 KB: no sender makes a
// larger one.
const MaxBodySize = 64 << 10

// Decode decodes one callback body (an HTTP POST body, or an MNS message
// body) sent by VOD, IMS or Live into an Event.
//
// The source is told by the shape of the body:
//
//   - an object with EventType and a MessageBody is an IMS event (see
//     ims.go); the id is MessageBody.MediaId;
//   - an object with EventType and no MessageBody is a VOD flat event (see
//     vod.go); the id is the first present of MediaId, VideoId, ImageId,
//     AttachedMediaId;
//   - an object without EventType but with domain, app, stream or event is
//     a Live recording callback (see live.go); the id is
//     "domain/app/stream".
//
// Catalogued event types (types.go: one row per type with its id fields
// and payload decoder) get their typed payload, and must carry an id (a
// JobId for a failed URL pull) and, for VOD and IMS, an EventTime. Types
// outside the catalogue decode into FamilyUnknown with whatever id, time,
// status, error and pass-through data they carry, and no payload: they are
// never an error for being unknown.
//
// Only what identifies an event can make it fail: the body itself, its
// event type, its id and its time (for Live: domain, app, stream, event,
// and the uri and stop time of a file event). Any other field that is present but
// cannot be interpreted (a status, number, enumeration or nested object of
// the wrong form) is kept raw in Event.Uninterpreted and decodes to its
// zero value: a documented event is never refused for a detail.
//
// Decoding is tolerant where the senders are inconsistent: numbers may
// arrive as strings and the reverse, booleans as "true"/"false", statuses in
// any case and several spellings (see normaliseStatus), times in several
// layouts (see parseEventTime), JSON nested in strings once or twice, and
// key names in any case. Unknown fields are ignored. Raw is a copy of body,
// and EventID is Identity(body).
//
// Errors are *apierr.Error values with a stable code, naming the field,
// the event type and what was expected:
//
//   - PayloadTooLarge: body is longer than MaxBodySize;
//   - MalformedJSON: body is not JSON or not an object, MessageBody is not
//     an object, or the type, id or time has the wrong JSON type;
//   - MissingField: EventType is missing (and the body is no Live callback
//     either), or a catalogued type lacks its id or its EventTime, or a Live
//     callback its domain/app/stream or a file event its uri or stop_time;
//   - InvalidField: a type or time that cannot be parsed;
//   - InvalidId: an id that fails ValidateID.
//
// All are client faults: the same body will never decode.
func Decode(body []byte) (*Event, error) { return DecodeIdentified(body, "") }

// DecodeIdentified is Decode for a body whose content identity a caller
// computed already: id must be Identity(body), or "" to have Decode
// compute it. The Live recorder needs the identity before decoding; this
// way a Live body is hashed once.
func DecodeIdentified(body []byte, id string) (*Event, error) {
	ev, err := decode(body)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if id, err = Identity(body); err != nil {
			return nil, err
		}
	}
	ev.EventID = id
	ev.Raw = json.RawMessage(bytes.Clone(body))
	return ev, nil
}

// decode dispatches body to the decoder of its source.
func decode(body []byte) (*Event, error) {
	if len(body) > MaxBodySize {
		return nil, tooLarge(len(body))
	}
	if err := checkDepth(body); err != nil {
		return nil, err
	}
	if kindOf(body) != kindObject {
		return nil, malformedBody(body, "a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformedBody(body, "a JSON object")
	}
	if !env.EventType.present() {
		return decodeLive(body)
	}
	eventType, err := eventTypeOf(env.EventType)
	if err != nil {
		return nil, err
	}
	if kindOf(env.MessageBody) != kindAbsent {
		return decodeIMS(eventType, &env)
	}
	return decodeVOD(eventType, &env)
}

// eventTypeOf checks the EventType field: a non-empty string that is a safe
// name (see validateTypeName).
func eventTypeOf(f flexString) (string, error) {
	const field = "EventType"
	switch {
	case f.kind == kindNumber:
		return "", malformedField("", field, "a string", "number "+shorten(f.s))
	case f.got != "":
		return "", malformedField("", field, "a string", f.got)
	case f.s == "":
		return "", apierr.Field(apierr.MissingField, "", field, "required, expected the event type, such as FileUploadComplete")
	}
	if e := validateTypeName(field, f.s); e != nil {
		return "", e
	}
	return f.s, nil
}

// tooLarge returns the PayloadTooLarge error for a body of n bytes.
func tooLarge(n int) error {
	return apierr.Field(apierr.PayloadTooLarge, "", "body", "is %d bytes, expected at most %d (MaxBodySize)", n, MaxBodySize)
}

// malformedBody returns the MalformedJSON error for a body that is not
// what was wanted, wrapping the syntax error when it is not JSON at all.
func malformedBody(body []byte, want string) error {
	if !json.Valid(body) {
		err := json.Unmarshal(body, new(any))
		e := apierr.Field(apierr.MalformedJSON, "", "body", "expected %s, got invalid JSON", want)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e = apierr.Field(apierr.MalformedJSON, "", "body", "expected %s, got invalid JSON (syntax error at byte offset %d)", want, se.Offset)
		}
		e.Err = err
		return e
	}
	return apierr.Field(apierr.MalformedJSON, "", "body", "expected %s, got %s", want, describe(body))
}
