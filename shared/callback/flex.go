package callback

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the tolerant scalar types of the wire structs. The
// senders are loose about JSON types: sizes, bitrates and frame rates come
// as numbers or as strings, booleans as true or as "true". Each flex type
// accepts every spelling we have seen and records, instead of failing, what
// it received when it cannot use it. Its UnmarshalJSON never returns an
// error, so one odd field never hides the others and a field that a given
// event type does not use can never fail its decoding. The conversion step
// (see converter) reports the recorded problem with the field's full path
// and the event type, which encoding/json could not do.

// jsonKind is the kind of a JSON value, read from its first byte.
type jsonKind uint8

// The JSON kinds. kindAbsent covers both an absent field and null.
const (
	kindAbsent jsonKind = iota
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

// kindOf returns the kind of the JSON value b.
func kindOf(b []byte) jsonKind {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return kindAbsent
	}
	switch b[0] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindAbsent
	}
	return kindNumber
}

// maxShown bounds how much of a received value an error message repeats.
const maxShown = 64

// describe renders the JSON value b for an error message: its kind and,
// for scalars, its (possibly shortened) text.
func describe(b []byte) string {
	b = bytes.TrimSpace(b)
	switch kindOf(b) {
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	case kindAbsent:
		return "null"
	case kindBool:
		return string(b)
	case kindString:
		return "string " + shorten(string(b))
	}
	return "number " + shorten(string(b))
}

// describeText renders a string value for an error message.
func describeText(s string) string {
	return "string " + shorten(strconv.Quote(s))
}

// shorten cuts s to about maxShown bytes, keeping it valid UTF-8.
func shorten(s string) string {
	if len(s) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// unquote decodes the JSON string literal b. The fast path avoids
// encoding/json for the common literal without escapes.
func unquote(b []byte) string {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner)
		}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	return s
}

// flexState is what every flex type records besides its value.
type flexState struct {
	// kind is the JSON kind received; kindAbsent for absent or null (and for
	// an empty string where the type treats "" as absent).
	kind jsonKind
	// got describes the value received when it cannot be used; empty when
	// the value is usable.
	got string
	// invalid distinguishes a value of an acceptable JSON kind whose content
	// cannot be parsed (InvalidField) from a value of the wrong JSON kind
	// (MalformedJSON).
	invalid bool
	// raw is the value received when it cannot be used.
	raw []byte
}

// present reports whether the field was present and not null.
func (s flexState) present() bool { return s.kind != kindAbsent }

// setBadKind records a value of a JSON kind the type does not accept.
func (s *flexState) setBadKind(b []byte) {
	s.got = describe(b)
	s.raw = bytes.Clone(bytes.TrimSpace(b))
}

// setInvalid records a value of an accepted kind that cannot be parsed.
func (s *flexState) setInvalid(b []byte) {
	s.setBadKind(b)
	s.invalid = true
}

// flexString is a text field: a JSON string, or a number kept as its
// literal text. Booleans, objects and arrays are not accepted.
type flexString struct {
	flexState
	s string
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexString) UnmarshalJSON(b []byte) error {
	*f = flexString{flexState: flexState{kind: kindOf(b)}}
	switch f.kind {
	case kindString:
		f.s = unquote(bytes.TrimSpace(b))
	case kindNumber:
		f.s = string(bytes.TrimSpace(b))
	case kindAbsent:
	default:
		f.setBadKind(b)
	}
	return nil
}

// text returns the value leniently: the string, the text of a number or
// boolean; "" for null, objects and arrays.
func (f *flexString) text() string {
	if f.kind == kindBool {
		return string(f.raw)
	}
	return f.s
}

// numberText returns the text of a number field: the literal of a JSON
// number or the trimmed content of a JSON string. ok is false for other
// kinds; an empty string yields "" with ok true.
func numberText(b []byte) (text string, k jsonKind, ok bool) {
	b = bytes.TrimSpace(b)
	k = kindOf(b)
	switch k {
	case kindNumber:
		return string(b), k, true
	case kindString:
		return strings.TrimSpace(unquote(b)), k, true
	case kindAbsent:
		return "", k, true
	}
	return "", k, false
}

// maxExactFloat is the largest integer every float64 up to which is exact.
const maxExactFloat = 1 << 53

// parseInt parses an integer written as an integer literal or, when it is
// exact, as a decimal or exponent literal with an integral value ("1.0",
// "1e3"). Large integers are parsed from their digits, never through
// float64.
func parseInt(text string) (int64, bool) {
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return v, true
	}
	if !strings.ContainsAny(text, ".eE") {
		return 0, false
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > maxExactFloat {
		return 0, false
	}
	return int64(v), true
}

// parseFloat parses a finite decimal number.
func parseFloat(text string) (float64, bool) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// flexNumber is a numeric field: a JSON number or a string holding one. An
// empty string counts as absent. For floats, NaN and infinities are refused.
type flexNumber[T int64 | float64] struct {
	flexState
	v T
}

// flexInt is an integer field; flexFloat a decimal one.
type (
	flexInt   = flexNumber[int64]
	flexFloat = flexNumber[float64]
)

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexNumber[T]) UnmarshalJSON(b []byte) error {
	*f = flexNumber[T]{}
	text, k, ok := numberText(b)
	f.kind = k
	switch {
	case !ok:
		f.setBadKind(b)
	case text == "":
		f.kind = kindAbsent
	default:
		v, good := parseNumber[T](text)
		if !good {
			f.setInvalid(b)
			return nil
		}
		f.v = v
	}
	return nil
}

// parseNumber parses text as a T: exactly for integers (never through
// float64), with parseFloat's rules for decimals.
func parseNumber[T int64 | float64](text string) (T, bool) {
	var zero T
	if _, isInt := any(zero).(int64); isInt {
		v, ok := parseInt(text)
		return T(v), ok
	}
	v, ok := parseFloat(text)
	return T(v), ok
}

// flexBool is a boolean field: true or false, the strings "true" and
// "false" in any case, or 1 and 0 as numbers or strings. An empty string
// counts as absent.
type flexBool struct {
	flexState
	v bool
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	*f = flexBool{}
	t := bytes.TrimSpace(b)
	f.kind = kindOf(t)
	var text string
	switch f.kind {
	case kindAbsent:
		return nil
	case kindBool, kindNumber:
		text = string(t)
	case kindString:
		text = strings.TrimSpace(unquote(t))
		if text == "" {
			f.kind = kindAbsent
			return nil
		}
	default:
		f.setBadKind(b)
		return nil
	}
	switch strings.ToLower(text) {
	case "true", "1":
		f.v = true
	case "false", "0":
		f.v = false
	default:
		f.setInvalid(b)
	}
	return nil
}

// flexList is a list of text values: a comma-separated string (the
// documented form of JobIds, FileURLs and WatermarkId) or a JSON array of
// strings or numbers. Items are trimmed and empty items dropped.
type flexList struct {
	flexState
	items []string
}

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexList) UnmarshalJSON(b []byte) error {
	*f = flexList{}
	t := bytes.TrimSpace(b)
	f.kind = kindOf(t)
	switch f.kind {
	case kindAbsent:
	case kindString:
		f.items = splitList(unquote(t))
	case kindArray:
		var elems []flexString
		if err := json.Unmarshal(t, &elems); err != nil {
			f.setBadKind(b)
			return nil
		}
		for _, e := range elems {
			if e.got != "" {
				f.got = "an array holding " + e.got
				f.raw = bytes.Clone(t)
				return nil
			}
			if s := strings.TrimSpace(e.s); s != "" {
				f.items = append(f.items, s)
			}
		}
	default:
		f.setBadKind(b)
	}
	return nil
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones. It returns nil when no item remains.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
