package ossconformance

import (
	"fmt"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// crcTable is CRC-64/ECMA, which OSS reports in x-oss-hash-crc64ecma.
var crcTable = crc64.MakeTable(crc64.ECMA)

func crcOf(s string) string { return strconv.FormatUint(crc64.Checksum([]byte(s), crcTable), 10) }

// appendAt appends data at pos and returns the response headers.
func (s *suite) appendAt(key, data string, pos int64, opts ...oss.Option) (int64, http.Header, error) {
	var h http.Header
	next, err := s.b.AppendObject(key, strings.NewReader(data), pos, append(opts, oss.GetResponseHeader(&h))...)
	return next, h, err
}

// testAppendPositions: AppendObject succeeds only at the object's length.
func (s *suite) testAppendPositions(t *testing.T) {
	key := s.key("append/positions")

	_, h, err := s.appendAt(key, "x", 5)
	wantCode(t, "AppendObject at 5 to an absent key", err, http.StatusConflict, "PositionNotEqualToLength")
	if got := h.Get("X-Oss-Next-Append-Position"); got != "0" {
		t.Errorf("x-oss-next-append-position after refused append to absent key = %q, want 0", got)
	}

	next, h, err := s.appendAt(key, "hello", 0)
	if err != nil {
		t.Fatalf("AppendObject at 0 creating the object: %v", err)
	}
	if next != 5 || h.Get("X-Oss-Next-Append-Position") != "5" {
		t.Fatalf("next position = %d (header %q), want 5", next, h.Get("X-Oss-Next-Append-Position"))
	}
	if got := h.Get("X-Oss-Hash-Crc64ecma"); got != crcOf("hello") {
		t.Errorf("x-oss-hash-crc64ecma = %s, want %s", got, crcOf("hello"))
	}
	crc, _ := strconv.ParseUint(h.Get("X-Oss-Hash-Crc64ecma"), 10, 64)
	// With InitCRC the SDK checks the server's whole-object CRC itself.
	next, h, err = s.appendAt(key, " world", 5, oss.InitCRC(crc))
	if err != nil {
		t.Fatalf("AppendObject at 5: %v", err)
	}
	if next != 11 {
		t.Fatalf("next position = %d, want 11", next)
	}
	if got := h.Get("X-Oss-Hash-Crc64ecma"); got != crcOf("hello world") {
		t.Errorf("x-oss-hash-crc64ecma of the whole object = %s, want %s", got, crcOf("hello world"))
	}

	for _, pos := range []int64{0, 5, 10, 12} {
		_, h, err := s.appendAt(key, "!", pos)
		wantCode(t, fmt.Sprintf("AppendObject at stale position %d", pos), err, http.StatusConflict, "PositionNotEqualToLength")
		if got := h.Get("X-Oss-Next-Append-Position"); got != "11" {
			t.Errorf("x-oss-next-append-position after refused append at %d = %q, want 11", pos, got)
		}
	}
	s.wantContent(t, key, "hello world")

	hh := s.head(t, key)
	if got := hh.Get("X-Oss-Object-Type"); got != "Appendable" {
		t.Errorf("x-oss-object-type = %q, want Appendable", got)
	}
	if got := hh.Get("X-Oss-Next-Append-Position"); got != "11" {
		t.Errorf("HEAD x-oss-next-append-position = %q, want 11", got)
	}
	if got := hh.Get("Content-Length"); got != "11" {
		t.Errorf("HEAD Content-Length = %q, want 11", got)
	}

	// An empty appendable object accepts position 0.
	empty := s.key("append/empty")
	if _, _, err := s.appendAt(empty, "", 0); err != nil {
		t.Fatalf("empty AppendObject at 0: %v", err)
	}
	if next, _, err := s.appendAt(empty, "abc", 0); err != nil || next != 3 {
		t.Fatalf("AppendObject at 0 to an empty appendable object = %d, %v; want 3, nil", next, err)
	}
	s.wantContent(t, empty, "abc")

	// Normal objects cannot be appended to, at any position.
	normal := s.key("append/normal")
	s.mustPut(t, normal, "normal")
	for _, pos := range []int64{0, 6} {
		_, _, err := s.appendAt(normal, "x", pos)
		wantCode(t, fmt.Sprintf("AppendObject at %d to a Normal object", pos), err, http.StatusConflict, "ObjectNotAppendable")
	}
	s.wantContent(t, normal, "normal")

	// PutObject replaces an appendable object with a Normal one.
	s.mustPut(t, key, "replaced")
	if got := s.head(t, key).Get("X-Oss-Object-Type"); got != "Normal" {
		t.Errorf("x-oss-object-type after PutObject = %q, want Normal", got)
	}
	_, _, err = s.appendAt(key, "x", 8)
	wantCode(t, "AppendObject after PutObject", err, http.StatusConflict, "ObjectNotAppendable")
}

// testAppendRace: when several writers append at the same position,
// exactly one succeeds per position and the object is the winners' chunks.
func (s *suite) testAppendRace(t *testing.T) {
	const writers, rounds = 16, 4
	key := s.key("append/race")
	var want strings.Builder
	pos := int64(0)
	for round := range rounds {
		nexts := make([]int64, writers)
		winner := race(t, writers, "PositionNotEqualToLength", fmt.Sprintf("round %d: append at %d", round, pos), func(i int) error {
			var err error
			nexts[i], _, err = s.appendAt(key, chunk(round, i), pos)
			return err
		})
		want.WriteString(chunk(round, winner))
		if nexts[winner] != int64(want.Len()) {
			t.Fatalf("round %d: next position %d, want %d", round, nexts[winner], want.Len())
		}
		pos = nexts[winner]
	}
	s.wantContent(t, key, want.String())
}

// chunk is the data a writer appends; lengths differ per writer so that a
// wrong winner shows up in the length too.
func chunk(round, writer int) string {
	return fmt.Sprintf("[r%d w%d %s]", round, writer, strings.Repeat("x", writer))
}
