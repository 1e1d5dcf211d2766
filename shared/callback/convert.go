package callback

import (
	"encoding/json"
	"errors"
	"time"

	"mediastate/shared/apierr"
)

// converter turns the wire structs into an Event. A problem is reported as
// an *apierr.Error naming the field's full path (for example
// "MessageBody.Size" or "StreamInfos[1].Bitrate"), the event type and what
// was expected. Problems with the fields that identify an event (its type,
// id and time, decoded under essential) make the decoding fail: the first
// is kept. Any other field that cannot be interpreted is noted with its raw
// value (Event.Uninterpreted) and given its zero value, so that a
// documented event is never refused for a detail. Either way the
// conversion code reads as a plain list of fields.
type converter struct {
	eventType string
	err       *apierr.Error
	// strict is set while essential fields are decoded.
	strict bool
	// notes are the uninterpreted fields.
	notes []Uninterpreted
}

// essential runs fn with problems made fatal.
func (c *converter) essential(fn func()) {
	prev := c.strict
	c.strict = true
	fn()
	c.strict = prev
}

// report records a problem: fatal when strict, otherwise a note keeping
// the raw value.
func (c *converter) report(e *apierr.Error, raw []byte) {
	if c.strict {
		c.fail(e)
		return
	}
	n := Uninterpreted{Field: e.Field, Code: string(e.Code), Reason: e.Message}
	if len(raw) > 0 {
		// Canonical form, then escaped as json.Marshal writes a RawMessage
		// (<, > and & as \u003c...), so that an Event and the state keep
		// the same bytes through a marshal and unmarshal.
		if v, err := Canonical(raw); err == nil {
			if m, err := json.Marshal(json.RawMessage(v)); err == nil {
				n.Value = m
			}
		}
	}
	c.notes = append(c.notes, n)
}

// result returns the first problem as an error, or nil.
func (c *converter) result() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// fail records e unless a problem is already recorded.
func (c *converter) fail(e *apierr.Error) {
	if c.err == nil {
		c.err = e
	}
}

// malformed records a value of the wrong JSON type; raw is the value.
func (c *converter) malformed(field, want, got string, raw []byte) {
	c.report(apierr.Field(apierr.MalformedJSON, c.eventType, field, "expected %s, got %s", want, got), raw)
}

// invalid records a value of the right JSON type that cannot be used; raw
// is the value.
func (c *converter) invalid(field, want, got string, cause error, raw []byte) {
	e := apierr.Field(apierr.InvalidField, c.eventType, field, "expected %s, got %s", want, got)
	e.Err = cause
	c.report(e, raw)
}

// missing records a required field that is absent or empty.
func (c *converter) missing(field, want string) {
	c.report(apierr.Field(apierr.MissingField, c.eventType, field, "required, expected %s", want), nil)
}

// check records the problem a flex type noted, if any, and reports whether
// there was none.
func (c *converter) check(field, want string, s flexState) bool {
	switch {
	case s.got == "":
		return true
	case s.invalid:
		c.invalid(field, want, s.got, nil, s.raw)
	default:
		c.malformed(field, want, s.got, s.raw)
	}
	return false
}

// The expectations quoted in errors.
const (
	wantString = "a string"
	wantInt    = "an integer, as a JSON number or a string holding one"
	wantFloat  = "a finite number, as a JSON number or a string holding one"
	wantBool   = `a boolean: true, false, "true", "false", 1 or 0`
	wantList   = "a comma-separated string or an array of strings"
)

// str returns a text field.
func (c *converter) str(field string, f flexString) string {
	if !c.check(field, wantString, f.flexState) {
		return ""
	}
	return f.s
}

// int returns an integer field; 0 when absent.
func (c *converter) int(field string, f flexInt) int64 {
	if !c.check(field, wantInt, f.flexState) {
		return 0
	}
	return f.v
}

// float returns a decimal field; 0 when absent.
func (c *converter) float(field string, f flexFloat) float64 {
	if !c.check(field, wantFloat, f.flexState) {
		return 0
	}
	return f.v
}

// bool returns a boolean field; false when absent.
func (c *converter) bool(field string, f flexBool) bool {
	if !c.check(field, wantBool, f.flexState) {
		return false
	}
	return f.v
}

// list returns a list field; nil when absent or empty.
func (c *converter) list(field string, f flexList) []string {
	if !c.check(field, wantList, f.flexState) {
		return nil
	}
	return f.items
}

// status returns a normalised status; StatusNone when absent or empty.
func (c *converter) status(field string, f flexString) Status {
	if f.kind == kindNumber {
		c.malformed(field, statusRule, "number "+shorten(f.s), []byte(f.s))
		return StatusNone
	}
	if !c.check(field, statusRule, f.flexState) {
		return StatusNone
	}
	s := f.s
	st, ok := normaliseStatus(s)
	if !ok {
		c.invalid(field, statusRule, describeText(s), nil, quote(s))
	}
	return st
}

// eventTime returns a textual time (see parseEventTime); the zero time when
// absent or empty, which is a MissingField problem when required.
func (c *converter) eventTime(field string, f flexString, required bool) time.Time {
	if f.kind == kindNumber {
		c.malformed(field, "a string holding "+timeExample, "number "+shorten(f.s), []byte(f.s))
		return time.Time{}
	}
	return c.timeOf(field, f, required, timeWants{
		kind:    "a string holding " + timeExample,
		missing: timeExample,
		invalid: timeExample + " (also 2024-04-10T01:37:14:627Z, 2024-04-10 01:37:14, or with an offset)",
	}, parseEventTime)
}

// unixTime returns a Live time in seconds since the epoch (see
// parseUnixTime); the zero time when absent or empty, which is a
// MissingField problem when required.
func (c *converter) unixTime(field string, f flexString, required bool) time.Time {
	const want = "seconds since the Unix epoch, as a JSON number or a string holding one"
	return c.timeOf(field, f, required, timeWants{kind: want, missing: want, invalid: want}, parseUnixTime)
}

// timeWants say what a time field should have held, for the problem of a
// wrong JSON kind, a missing value and a value parse refuses.
type timeWants struct{ kind, missing, invalid string }

// timeOf returns f parsed by parse; the zero time when f is absent or
// empty (a MissingField problem when required) or unusable.
func (c *converter) timeOf(field string, f flexString, required bool, want timeWants, parse func(string) (time.Time, error)) time.Time {
	if !c.check(field, want.kind, f.flexState) {
		return time.Time{}
	}
	s := f.s
	if s == "" {
		if required {
			c.missing(field, want.missing)
		}
		return time.Time{}
	}
	t, err := parse(s)
	if err != nil {
		got, raw := describeText(s), quote(s)
		if f.kind == kindNumber {
			got, raw = "number "+shorten(s), []byte(s)
		}
		c.invalid(field, want.invalid, got, err, raw)
		return time.Time{}
	}
	return t
}

// nested returns UserData or Extend in canonical JSON (see decodeNested).
func (c *converter) nested(field string, raw json.RawMessage) json.RawMessage {
	out, err := decodeNested(raw)
	if err != nil {
		// Unreachable for a body that passed json.Valid; kept so that a
		// surprise is reported rather than dropped.
		e := apierr.Field(apierr.MalformedJSON, c.eventType, field, "expected JSON, or a string holding JSON or text")
		e.Err = err
		c.fail(e)
		return nil
	}
	return out
}

// id validates an id read from field.
func (c *converter) id(field, id string) {
	if err := ValidateID(field, id); err != nil {
		var e *apierr.Error
		if errors.As(err, &e) {
			c.report(e.WithEventType(c.eventType), quote(id))
		}
	}
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
