package callback

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"mediastate/shared/apierr"
)

// MaxDepth is how deeply a callback body may nest objects and arrays.
// Real callbacks nest three or four levels; a body nested deeper is
// refused (NestingTooDeep) before anything of it is kept, so that stored
// state stays readable by any JSON parser (Python's json module gives up
// near 1000 levels).
const MaxDepth = 32

// tooDeep returns the NestingTooDeep error.
func tooDeep() error {
	return apierr.Field(apierr.NestingTooDeep, "", "body", "nests objects and arrays more than %d levels deep (MaxDepth)", MaxDepth)
}

// checkDepth refuses a body that nests deeper than MaxDepth, by a scan of
// its bytes that allocates nothing; it runs before any decoding. body need
// not be valid JSON: brackets inside strings are skipped.
func checkDepth(body []byte) error {
	depth, inString, escaped := 0, false, false
	for _, b := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			if depth++; depth > MaxDepth {
				return tooDeep()
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

// foldDuplicate refuses an object with two keys that encoding/json, which
// Decode uses, matches to the same field: keys equal under its
// case-insensitive folding. Identity sorts members by their exact bytes,
// so {"Status":"success","status":"fail"} and the same with the members
// swapped have one identity, but the decoder keeps whichever comes last:
// one eventId would have two meanings. Exact duplicates are kept: their
// order is part of the identity, and the decoder reads the last.
// spans are the members just written to out, keys with their quotes.
func (c *canonicaliser) foldDuplicate(spans []span) error {
	if len(spans) < 2 {
		return nil
	}
	key := func(n int) []byte { return c.out[spans[n].keyStart+1 : spans[n].keyEnd-1] }
	dup := func(a, b int) error {
		first, k := key(a), key(b)
		return apierr.Field(apierr.DuplicateKey, "", shorten(string(k)),
			"an object has the keys %q and %q, which are equal ignoring letter case: the meaning of the body would depend on their order",
			shorten(string(first)), shorten(string(k)))
	}
	// Small objects of ASCII keys (every real callback's): compare pairs,
	// without allocating; for ASCII, bytes.EqualFold folds as
	// encoding/json does.
	if len(spans) <= 32 {
		ascii := true
		for n := range spans {
			for _, b := range key(n) {
				ascii = ascii && b < utf8.RuneSelf
			}
		}
		if ascii {
			for a := range spans {
				for b := a + 1; b < len(spans); b++ {
					ka, kb := key(a), key(b)
					if len(ka) == len(kb) && bytes.EqualFold(ka, kb) && !bytes.Equal(ka, kb) {
						return dup(a, b)
					}
				}
			}
			return nil
		}
	}
	seen := make(map[string]int, len(spans))
	for n := range spans {
		f := string(foldKey(key(n)))
		if m, ok := seen[f]; ok && !bytes.Equal(key(m), key(n)) {
			return dup(m, n)
		}
		seen[f] = n
	}
	return nil
}

// foldKey folds a key the way encoding/json matches field names: ASCII
// letters to upper case, other characters to unicode.ToUpper(unicode.ToLower(r)).
func foldKey(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.ToLower(r)))
		i += n
	}
	return out
}
