package trigger

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"mediastate/shared/apierr"
)

// errEmptyBase64 is returned by decodeBase64 for text with nothing to decode.
var errEmptyBase64 = errors.New("no base64 text")

// trimJSONSpace returns b without leading and trailing JSON whitespace
// (space, tab, carriage return and newline).
func trimJSONSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isJSONSpace(b[i]) {
		i++
	}
	for j > i && isJSONSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// isJSONSpace reports whether c is JSON whitespace.
func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// jsonType names the type of the JSON value t starts with, for error
// messages.
func jsonType(t []byte) string {
	if len(t) == 0 {
		return "empty value"
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeBase64 decodes text in standard base64 (RFC 4648 section 4, with
// padding). Surrounding JSON whitespace is ignored, and so are line breaks
// inside the text, as MIME encoders insert them.
func decodeBase64(text []byte) ([]byte, error) {
	t := trimJSONSpace(text)
	if len(t) == 0 {
		return nil, errEmptyBase64
	}
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(dst, t)
	if err != nil {
		return nil, err
	}
	return dst[:n], nil
}

// isJSONObject reports whether b is a valid JSON object.
func isJSONObject(b []byte) bool {
	t := trimJSONSpace(b)
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

// decodeDefensive returns the message body that s, a message body as an MNS
// envelope carries it, stands for. When s is JSON it is returned as is. When
// it is not, but is standard base64 whose decoding is a JSON object (the
// body was base64-encoded by MNS because the trigger does not decode it),
// the decoding is returned. Otherwise s is returned as is: it is a non-JSON
// body, and deciding what to do with it is the caller's business.
//
// Requiring the decoding to be a JSON object, not any JSON value, keeps
// short plain-text bodies that happen to be valid base64 (such as "TEST")
// from being mangled: every callback body is a JSON object.
func decodeDefensive(s []byte) []byte {
	if json.Valid(s) {
		return s
	}
	if dec, err := decodeBase64(s); err == nil && isJSONObject(dec) {
		return dec
	}
	return s
}

// messageBody reads an MNS message body field of an envelope (messageBody
// or Message). It returns the body as MNS holds it (sent: the unescaped
// string, or the raw bytes of a JSON object) and the callback body it stands
// for (body: sent, or its base64 decoding, see decodeDefensive). A body that
// is absent, null, empty or neither a string nor a JSON object is an error
// naming field.
func messageBody(raw json.RawMessage, field string) (sent, body []byte, err *apierr.Error) {
	t := trimJSONSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil, fieldErr(apierr.MissingField, field,
			"required; expected the MNS message body as a string or a JSON object")
	}
	switch t[0] {
	case '"':
		var s string
		if uerr := json.Unmarshal(t, &s); uerr != nil {
			e := fieldErr(apierr.MalformedJSON, field, "is not a valid JSON string")
			e.Err = uerr
			return nil, nil, e
		}
		if s == "" {
			return nil, nil, fieldErr(apierr.MissingField, field,
				"is empty; expected the MNS message body (a callback body, as JSON or standard base64)")
		}
		sent = []byte(s)
		return sent, decodeDefensive(sent), nil
	case '{':
		return t, t, nil
	}
	return nil, nil, fieldErr(apierr.InvalidField, field,
		"is a JSON %s; expected the MNS message body as a string or a JSON object", jsonType(t))
}

// epochMillis parses a time given in epoch milliseconds as a JSON number or
// a JSON string of digits. It returns the zero time for anything else,
// including zero and negative values: the times it reads are informational.
func epochMillis(raw json.RawMessage) time.Time {
	t := trimJSONSpace(raw)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if json.Unmarshal(t, &s) != nil {
			return time.Time{}
		}
		t = []byte(s)
	}
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(t), 64)
		if ferr != nil || !(f >= 1 && f <= 1<<62) { // also rejects NaN
			return time.Time{}
		}
		n = int64(f)
	}
	if n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// rfc3339 parses an RFC 3339 time such as "2021-04-08T06:28:17.093Z",
// returning the zero time when s does not parse.
func rfc3339(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
