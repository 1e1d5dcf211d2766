package callback

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeExample is quoted in error messages about event times.
const timeExample = "a UTC time such as 2022-07-15T08:48:14Z"

// errTimeRange reports a time outside the years JSON can carry.
var errTimeRange = errors.New("year outside 0000..9999")

// parseEventTime parses the EventTime (and the other textual times) of VOD
// and IMS events. It accepts, after trimming surrounding spaces:
//
//   - RFC 3339 with or without fractional seconds and with "Z" or a
//     numeric offset: 2022-07-15T08:48:14Z, 2024-04-10T01:37:14.627Z,
//     2024-04-10T09:37:14+08:00;
//   - the colon-before-milliseconds form that Alibaba Cloud documents:
//     2024-04-10T01:37:14:627Z;
//   - a space instead of the "T", and no zone at all, which is taken as UTC:
//     2024-04-10 01:37:14, 2024-04-10T01:37:14.5.
//
// The result is in UTC; its year must lie in 0000..9999 after conversion.
func parseEventTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		n, ok := normaliseTime(s)
		if !ok {
			return time.Time{}, err
		}
		if t, err = time.Parse(time.RFC3339Nano, n); err != nil {
			return time.Time{}, err
		}
	}
	return checkYear(t.UTC())
}

// normaliseTime rewrites the accepted variants into RFC 3339. ok is false
// when s has none of the variants' shapes.
func normaliseTime(s string) (string, bool) {
	// yyyy-MM-dd?HH:mm:ss is 19 bytes.
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return "", false
	}
	b := []byte(s)
	if b[10] == ' ' || b[10] == 't' {
		b[10] = 'T'
	}
	rest := b[19:]
	// The documented colon before milliseconds: ss:SSS.
	if len(rest) >= 2 && rest[0] == ':' && isDigit(rest[1]) {
		rest[0] = '.'
	}
	// Skip the fraction; what follows is the zone, if any.
	i := 0
	if i < len(rest) && (rest[i] == '.' || rest[i] == ',') {
		i++
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
	}
	switch {
	case i == len(rest):
		b = append(b, 'Z')
	case rest[i] == 'z' && i == len(rest)-1:
		rest[i] = 'Z'
	}
	return string(b), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkYear refuses times that encoding/json cannot marshal.
func checkYear(t time.Time) (time.Time, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, errTimeRange
	}
	return t, nil
}

// parseUnixTime parses a Live recording time: seconds since the Unix epoch,
// as an integer or a decimal ("1488985786", "1488985786.25"). The result is
// in UTC.
func parseUnixTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !strings.ContainsAny(s, "eE") {
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		var nsec int64
		if hasFrac {
			if frac == "" || len(frac) > 9 || strings.TrimLeft(frac, "0123456789") != "" {
				return time.Time{}, errors.New("invalid fraction of a second")
			}
			nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if strings.HasPrefix(whole, "-") {
				nsec = -nsec
			}
		}
		if sec > math.MaxInt64/2 || sec < math.MinInt64/2 {
			return time.Time{}, errTimeRange
		}
		return checkYear(time.Unix(sec, nsec).UTC())
	}
	// Exponent forms go through float64; they only arise from re-serialised
	// numbers and lose nothing at second precision.
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e12 {
		return time.Time{}, errors.New("not a finite number of seconds")
	}
	sec, f := math.Modf(v)
	return checkYear(time.Unix(int64(sec), int64(math.Round(f*1e9))).UTC())
}
