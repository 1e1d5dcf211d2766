package callback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Alibaba Cloud passes structured data inside JSON strings: UserData,
// Extend and MediaContent are strings holding JSON, whose own values may
// again be strings holding JSON. This file undoes that.

// decodeJSON decodes b keeping numbers as json.Number, so that no number
// passes through float64.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// looksNested reports whether s holds a JSON object or array: its trimmed
// text starts with '{' or '[' and is valid JSON. Strings holding JSON
// scalars ("123", "true") are left alone: they are text.
func looksNested(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return "", false
	}
	return t, json.Valid([]byte(t))
}

// unnest replaces, at any depth of v, every string holding a JSON object or
// array by its decoded value, itself unnested.
func unnest(v any) any {
	switch x := v.(type) {
	case string:
		if t, ok := looksNested(x); ok {
			if inner, err := decodeJSON([]byte(t)); err == nil {
				return unnest(inner)
			}
		}
	case map[string]any:
		for k, e := range x {
			x[k] = unnest(e)
		}
	case []any:
		for i, e := range x {
			x[i] = unnest(e)
		}
	}
	return v
}

// decodeNested turns the raw JSON of UserData or Extend into canonical
// JSON with nested JSON strings decoded (see unnest). A string that does
// not hold a JSON object or array stays a JSON string. Absent, null and the
// empty string give nil.
//
// The canonical form is what json.Marshal produces: object keys sorted, no
// insignificant whitespace, numbers as their literal text, and <, >, &,
// U+2028, U+2029 escaped. It is therefore unchanged when an Event is
// marshalled and unmarshalled again.
func decodeNested(raw json.RawMessage) (json.RawMessage, error) {
	if kindOf(raw) == kindAbsent {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out, err := json.Marshal(unnest(v))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxUnstring is how many levels of stringified JSON the decoders of
// objects (MessageBody, MediaContent and its values, StreamInfos) unwrap.
// The documentation shows two; one more is tolerated.
const maxUnstring = 3

// unstring unwraps raw while it is a JSON string holding JSON, up to
// maxUnstring times, and returns the innermost JSON text. A string that
// does not hold JSON is returned as is (still a JSON string).
func unstring(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	for range maxUnstring {
		if kindOf(raw) != kindString {
			return raw
		}
		s := strings.TrimSpace(unquote(raw))
		if s == "" {
			return []byte("null")
		}
		if !json.Valid([]byte(s)) {
			return raw
		}
		raw = []byte(s)
	}
	return raw
}

// objectMembers decodes raw, after unstring, as a JSON object. It returns
// nil, true when raw is absent or null, and false when raw is not an
// object (got then describes what it is).
func objectMembers(raw []byte) (members map[string]json.RawMessage, got string, ok bool) {
	inner := unstring(raw)
	switch kindOf(inner) {
	case kindAbsent:
		return nil, "", true
	case kindObject:
		if err := json.Unmarshal(inner, &members); err != nil {
			return nil, describe(inner), false
		}
		return members, "", true
	}
	return nil, describe(raw), false
}

// lookup finds key in members, exactly or else ignoring case.
func lookup(members map[string]json.RawMessage, key string) json.RawMessage {
	if v, ok := members[key]; ok {
		return v
	}
	for k, v := range members {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// changeValue renders an OldValue or NewValue as text: a string as itself,
// a number or boolean as its literal text, null or absent as "", and an
// object or array as its compact JSON.
func changeValue(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch kindOf(raw) {
	case kindAbsent:
		return ""
	case kindString:
		return unquote(raw)
	case kindObject, kindArray:
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return string(raw)
		}
		return b.String()
	}
	return string(raw)
}

// mediaContent decodes the MediaContent of MediaBaseChangeComplete: an
// object, usually stringified, mapping each changed field to an object
// {OldValue, NewValue}, itself usually stringified. It reports problems to
// c under field.
func (c *converter) mediaContent(field string, raw json.RawMessage) map[string]FieldChange {
	fields := map[string]FieldChange{}
	members, got, ok := objectMembers(raw)
	if !ok {
		c.malformed(field, "an object of field changes, or a string holding one", got, raw)
		return fields
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		path := fmt.Sprintf("%s.%s", field, name)
		change, got, ok := objectMembers(members[name])
		if !ok {
			c.malformed(path, "an object {OldValue, NewValue}, or a string holding one", got, members[name])
			continue
		}
		fields[name] = FieldChange{
			OldValue: changeValue(lookup(change, "OldValue")),
			NewValue: changeValue(lookup(change, "NewValue")),
		}
	}
	return fields
}
