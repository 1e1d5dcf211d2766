package callback

import (
	"fmt"
	"strconv"
	"strings"

	"mediastate/shared/apierr"
)

// MaxIDLength is the longest id, in bytes, that ValidateID accepts.
const MaxIDLength = 128

// idRule is the rule ValidateID enforces, as quoted in its errors.
const idRule = `1 to 128 printable ASCII bytes without whitespace, '/', '\', '?', '#', '%' or "..", and not "."`

// ValidateID checks that id is safe to use as one segment of an object key
// and returns an apierr.InvalidId error naming field when it is not. A valid
// id is 1 to MaxIDLength bytes of printable ASCII (0x21 to 0x7E: no control
// characters, no whitespace, nothing beyond ASCII), contains none of '/',
// '\', '?', '#', '%' and no "..", and is not ".". Other punctuation is
// allowed; in particular the '*' of the documentation's masked ids.
func ValidateID(field, id string) error {
	if reason := idProblem(id); reason != "" {
		e := apierr.Field(apierr.InvalidId, "", field, "expected an id of %s; got %s, which %s", idRule, describeText(id), reason)
		return e
	}
	return nil
}

// idProblem returns why id is not a valid id, or "" when it is.
func idProblem(id string) string {
	switch {
	case id == "":
		return "is empty"
	case len(id) > MaxIDLength:
		return fmt.Sprintf("is %d bytes long", len(id))
	case id == ".":
		return `is "."`
	case strings.Contains(id, ".."):
		return `contains ".."`
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c <= ' ' || c >= 0x7f:
			return fmt.Sprintf("has byte 0x%02x at offset %d, which is not printable ASCII", c, i)
		case c == '/' || c == '\\' || c == '?' || c == '#' || c == '%':
			return "contains " + strconv.QuoteRune(rune(c))
		}
	}
	return ""
}

// validateTypeName checks an event type (EventType, or the "event" of a
// Live status event) by the id rule, because event types travel into logs,
// metrics and object keys as well. It returns an apierr.InvalidField error.
func validateTypeName(field, name string) *apierr.Error {
	if reason := idProblem(name); reason != "" {
		return apierr.Field(apierr.InvalidField, "", field, "expected an event type of %s; got %s, which %s", idRule, describeText(name), reason)
	}
	return nil
}

// normaliseStatus maps the spellings of a job outcome onto Status,
// ignoring case and surrounding spaces. ok is false for an unknown
// spelling.
func normaliseStatus(s string) (st Status, ok bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return StatusNone, true
	case "success", "succeed", "succeeded", "successful", "ok":
		return StatusSuccess, true
	case "fail", "failed", "failure", "error":
		return StatusFail, true
	}
	return StatusNone, false
}

// statusRule is quoted in errors about statuses.
const statusRule = `a status of success (also succeed, succeeded, successful, ok) or fail (also failed, failure, error), in any case`
