package callback

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"unicode/utf8"

	"mediastate/shared/apierr"
)

// IdentityPrefix starts every id Identity returns; it names version 1 of
// the definition below and changes with it.
const IdentityPrefix = "e1-"

// identityTag is hashed before the canonical form; it names the version.
const identityTag = "v1\n"

// Identity returns the content identity of a callback body: the id under
// which Decode files the event as EventID. The same callback delivered
// twice (an HTTP retry, an MNS redelivery, a replay from a dead letter) has
// the same identity, even when re-serialised with other whitespace or key
// order; two callbacks that differ in any value have different identities.
//
// Definition (version 1). The identity is
//
//	"e1-" + lowercase hex of the first 16 bytes (128 bits) of
//	SHA-256("v1\n" + C(body))
//
// where C is the canonical form of the JSON value of the whole body:
//
//   - whitespace outside strings is removed;
//   - object members are sorted by the bytes of their canonical key
//     (without the quotes); members with equal keys keep their order, and
//     none is dropped;
//   - array elements keep their order;
//   - numbers are kept as their literal text: 5510872, "5510872", 5510872.0
//     and 5.510872e6 are four different contents;
//   - true, false and null are kept;
//   - strings (keys and values) are written in one escaping form: escape
//     sequences are decoded (\u00e9, \u00E9 and é are the same; \/ is /),
//     then '"' and '\' are written as \" and \\, U+0000 to U+001F as
//     \u00XX (lower-case hex), and every other character as its raw UTF-8.
//     Bytes that are not valid UTF-8 are written as \u0080 to \u00ff and
//     unpaired surrogate escapes as \ud800 to \udfff, which no valid text
//     produces, so that no two different strings share a form.
//
// It covers the whole body and nothing else: not transport headers or
// signatures, not MNS or EventBridge message ids, not the receive time,
// not the function's invocation. It normalises nothing beyond the above:
// a value's JSON type, letter case ("Success" and "success"), a time's
// layout, a number's spelling and the presence of a null or empty field
// all make different identities, although Decode reads them alike. Two
// deliveries are therefore the same event exactly when a JSON parser that
// keeps duplicate keys and number literals sees the same value.
//
// body must be valid JSON (any value; Decode passes objects) of at most
// MaxBodySize bytes, nested at most MaxDepth levels, without an object
// whose keys differ only in letter case (which Decode could not tell
// apart, so that one identity would decode two ways); otherwise the error
// is MalformedJSON, PayloadTooLarge, NestingTooDeep or DuplicateKey.
func Identity(body []byte) (string, error) {
	if len(body) > MaxBodySize {
		return "", tooLarge(len(body))
	}
	canon, err := canonicalJSON(body)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(identityTag))
	h.Write(canon)
	var sum [sha256.Size]byte
	return IdentityPrefix + hex.EncodeToString(h.Sum(sum[:0])[:16]), nil
}

// canonicalJSON returns C(body) as defined in Identity.
// Canonical returns the canonical form of a JSON value that Identity hashes:
// white space outside strings removed, object members sorted by key, numbers
// kept as written, strings in one escape form. Equal content gives equal
// bytes; the result is valid JSON for valid UTF-8 input.
func Canonical(body []byte) ([]byte, error) { return canonicalJSON(body) }

func canonicalJSON(body []byte) ([]byte, error) {
	if !json.Valid(body) {
		return nil, malformedBody(body, "JSON")
	}
	c := canonicaliser{in: body, out: make([]byte, 0, len(body))}
	i := c.value(c.skipSpace(0))
	if c.err == nil && c.skipSpace(i) != len(body) {
		c.err = errCanonical
	}
	if c.refused != nil {
		return nil, c.refused
	}
	if c.err != nil {
		// Unreachable for valid JSON; reported rather than hidden.
		return nil, apierr.Wrap(apierr.MalformedJSON, c.err, "body: expected JSON")
	}
	return c.out, nil
}

// errCanonical reports input the canonicaliser did not expect.
var errCanonical = errors.New("unexpected input while canonicalising")

// canonicaliser writes the canonical form of JSON that json.Valid accepted.
// It checks its bounds anyway, so that a bug cannot panic.
type canonicaliser struct {
	in  []byte
	out []byte
	err error
	// depth is the nesting depth of the value being written; refused is
	// the error of a body that is JSON but not one we keep (too deep, or
	// keys the decoder cannot tell apart; see limits.go).
	depth   int
	refused error
}

// enter counts one more level of nesting; false (with refused set) when
// the body nests deeper than MaxDepth.
func (c *canonicaliser) enter() bool {
	c.depth++
	if c.depth > MaxDepth {
		c.refused = tooDeep()
		c.err = errCanonical
		return false
	}
	return true
}

// span locates one object member in out while its object is written.
type span struct {
	keyStart, keyEnd, end int
}

func (c *canonicaliser) skipSpace(i int) int {
	for i < len(c.in) {
		switch c.in[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// value writes the value starting at i and returns the index after it.
func (c *canonicaliser) value(i int) int {
	if c.err != nil || i >= len(c.in) {
		c.err = errCanonical
		return len(c.in)
	}
	switch ch := c.in[i]; {
	case ch == '{':
		return c.object(i)
	case ch == '[':
		return c.array(i)
	case ch == '"':
		return c.str(i)
	default:
		j := i
		for j < len(c.in) && !isDelimiter(c.in[j]) {
			j++
		}
		if j == i {
			c.err = errCanonical
			return len(c.in)
		}
		c.out = append(c.out, c.in[i:j]...)
		return j
	}
}

func isDelimiter(b byte) bool {
	switch b {
	case ',', ']', '}', ':', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func (c *canonicaliser) array(i int) int { return c.container(i, '[', ']', c.value, nil) }

func (c *canonicaliser) object(i int) int {
	start := len(c.out)
	var spans []span
	member := func(i int) int {
		if i >= len(c.in) || c.in[i] != '"' {
			c.err = errCanonical
			return len(c.in)
		}
		s := span{keyStart: len(c.out)}
		i = c.str(i)
		s.keyEnd = len(c.out)
		i = c.skipSpace(i)
		if i >= len(c.in) || c.in[i] != ':' {
			c.err = errCanonical
			return len(c.in)
		}
		c.out = append(c.out, ':')
		i = c.value(c.skipSpace(i + 1))
		s.end = len(c.out)
		spans = append(spans, s)
		return i
	}
	closed := func() bool {
		if e := c.foldDuplicate(spans); e != nil {
			c.refused, c.err = e, errCanonical
			return false
		}
		c.sortMembers(start, spans)
		return true
	}
	return c.container(i, '{', '}', member, closed)
}

// container writes the array or object whose opening bracket is at i:
// its elements, each written by elem (which returns the index after it),
// separated by commas, then its closing bracket once closed (when set)
// allows it. It returns the index after the closing bracket.
func (c *canonicaliser) container(i int, open, close byte, elem func(int) int, closed func() bool) int {
	if !c.enter() {
		return len(c.in)
	}
	defer func() { c.depth-- }()
	c.out = append(c.out, open)
	i = c.skipSpace(i + 1)
	if i < len(c.in) && c.in[i] == close {
		c.out = append(c.out, close)
		return i + 1
	}
	for c.err == nil {
		i = c.skipSpace(elem(i))
		if c.err != nil || i >= len(c.in) {
			break
		}
		if c.in[i] == ',' {
			c.out = append(c.out, ',')
			i = c.skipSpace(i + 1)
			continue
		}
		if c.in[i] != close {
			break
		}
		if closed != nil && !closed() {
			return len(c.in)
		}
		c.out = append(c.out, close)
		return i + 1
	}
	c.err = errCanonical
	return len(c.in)
}

// sortMembers reorders the members written since start (just after the
// '{' at out[start]) by key, stably.
func (c *canonicaliser) sortMembers(start int, spans []span) {
	key := func(s span) []byte { return c.out[s.keyStart+1 : s.keyEnd-1] }
	if slices.IsSortedFunc(spans, func(a, b span) int { return bytes.Compare(key(a), key(b)) }) {
		return
	}
	region := bytes.Clone(c.out[start+1:])
	sorted := slices.Clone(spans)
	slices.SortStableFunc(sorted, func(a, b span) int { return bytes.Compare(key(a), key(b)) })
	c.out = c.out[:start+1]
	for n, s := range sorted {
		if n > 0 {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, region[s.keyStart-start-1:s.end-start-1]...)
	}
}

// str writes the string starting at i (at its opening quote) in canonical
// form and returns the index after its closing quote.
func (c *canonicaliser) str(i int) int {
	c.out = append(c.out, '"')
	i++
	for i < len(c.in) {
		b := c.in[i]
		switch {
		case b == '"':
			c.out = append(c.out, '"')
			return i + 1
		case b == '\\':
			i = c.escape(i)
			if c.err != nil {
				return len(c.in)
			}
		case b < utf8.RuneSelf:
			c.writeRune(rune(b))
			i++
		default:
			r, size := utf8.DecodeRune(c.in[i:])
			if r == utf8.RuneError && size == 1 {
				c.writeHex(rune(b)) // an invalid byte: \u0080 to \u00ff
			} else {
				c.out = append(c.out, c.in[i:i+size]...)
			}
			i += size
		}
	}
	c.err = errCanonical
	return len(c.in)
}

// escape decodes the escape sequence at i and writes it canonically.
func (c *canonicaliser) escape(i int) int {
	if i+1 >= len(c.in) {
		c.err = errCanonical
		return len(c.in)
	}
	switch c.in[i+1] {
	case '"', '\\', '/':
		c.writeRune(rune(c.in[i+1]))
	case 'b':
		c.writeRune('\b')
	case 'f':
		c.writeRune('\f')
	case 'n':
		c.writeRune('\n')
	case 'r':
		c.writeRune('\r')
	case 't':
		c.writeRune('\t')
	case 'u':
		r, ok := c.hex4(i + 2)
		if !ok {
			c.err = errCanonical
			return len(c.in)
		}
		if utf16IsHigh(r) {
			if lo, ok := c.hex4(i + 8); ok && i+7 < len(c.in) && c.in[i+6] == '\\' && c.in[i+7] == 'u' && utf16IsLow(lo) {
				c.writeRune((r-0xd800)<<10 + (lo - 0xdc00) + 0x10000)
				return i + 12
			}
		}
		if utf16IsHigh(r) || utf16IsLow(r) {
			c.writeHex(r) // an unpaired surrogate
		} else {
			c.writeRune(r)
		}
		return i + 6
	default:
		c.err = errCanonical
		return len(c.in)
	}
	return i + 2
}

func utf16IsHigh(r rune) bool { return 0xd800 <= r && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return 0xdc00 <= r && r < 0xe000 }

// hex4 reads four hex digits at i.
func (c *canonicaliser) hex4(i int) (rune, bool) {
	if i < 0 || i+4 > len(c.in) {
		return 0, false
	}
	var r rune
	for _, h := range c.in[i : i+4] {
		var d byte
		switch {
		case '0' <= h && h <= '9':
			d = h - '0'
		case 'a' <= h && h <= 'f':
			d = h - 'a' + 10
		case 'A' <= h && h <= 'F':
			d = h - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// writeRune writes a decoded character canonically.
func (c *canonicaliser) writeRune(r rune) {
	switch {
	case r == '"' || r == '\\':
		c.out = append(c.out, '\\', byte(r))
	case r < 0x20:
		c.writeHex(r)
	default:
		c.out = utf8.AppendRune(c.out, r)
	}
}

// writeHex writes \u and four lower-case hex digits.
func (c *canonicaliser) writeHex(r rune) {
	const digits = "0123456789abcdef"
	c.out = append(c.out, '\\', 'u', digits[r>>12&0xf], digits[r>>8&0xf], digits[r>>4&0xf], digits[r&0xf])
}
