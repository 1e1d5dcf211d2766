package ossconformance

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// otherETag is an ETag no object has.
const otherETag = `"00000000000000000000000000000000"`

// wantNotModified fails the test unless err is the SDK's error for a 304.
func wantNotModified(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "304") {
		t.Fatalf("%s: got %v, want a 304 Not Modified error", what, err)
	}
}

// testConditionalGet: GET and HEAD honour If-Match, If-None-Match,
// If-Modified-Since and If-Unmodified-Since.
func (s *suite) testConditionalGet(t *testing.T) {
	key := s.key("conditional-get/object")
	s.mustPut(t, key, "payload")
	h := s.head(t, key)
	etag := h.Get("ETag")
	lm, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("Last-Modified %q: %v", h.Get("Last-Modified"), err)
	}
	hourBefore := lm.Add(-time.Hour)

	if got, err := s.get(key, oss.IfMatch(etag)); err != nil || got != "payload" {
		t.Fatalf("GetObject If-Match current = %q, %v", got, err)
	}
	_, err = s.get(key, oss.IfMatch(otherETag))
	wantCode(t, "GetObject If-Match other", err, http.StatusPreconditionFailed, "PreconditionFailed")

	_, err = s.get(key, oss.IfNoneMatch(etag))
	wantNotModified(t, "GetObject If-None-Match current", err)
	if got, err := s.get(key, oss.IfNoneMatch(otherETag)); err != nil || got != "payload" {
		t.Fatalf("GetObject If-None-Match other = %q, %v", got, err)
	}

	_, err = s.get(key, oss.IfModifiedSince(lm))
	wantNotModified(t, "GetObject If-Modified-Since Last-Modified", err)
	if got, err := s.get(key, oss.IfModifiedSince(hourBefore)); err != nil || got != "payload" {
		t.Fatalf("GetObject If-Modified-Since an hour before = %q, %v", got, err)
	}

	_, err = s.get(key, oss.IfUnmodifiedSince(hourBefore))
	wantCode(t, "GetObject If-Unmodified-Since an hour before", err, http.StatusPreconditionFailed, "PreconditionFailed")
	if got, err := s.get(key, oss.IfUnmodifiedSince(lm)); err != nil || got != "payload" {
		t.Fatalf("GetObject If-Unmodified-Since Last-Modified = %q, %v", got, err)
	}

	_, err = s.b.GetObjectDetailedMeta(key, oss.IfMatch(otherETag))
	wantStatus(t, "HeadObject If-Match other", err, http.StatusPreconditionFailed)
	_, err = s.b.GetObjectDetailedMeta(key, oss.IfNoneMatch(etag))
	wantNotModified(t, "HeadObject If-None-Match current", err)
	if _, err := s.b.GetObjectDetailedMeta(key, oss.IfMatch(etag)); err != nil {
		t.Fatalf("HeadObject If-Match current: %v", err)
	}

	// After an overwrite the old ETag no longer matches.
	s.mustPut(t, key, "payload 2")
	_, err = s.get(key, oss.IfMatch(etag))
	wantCode(t, "GetObject If-Match stale ETag", err, http.StatusPreconditionFailed, "PreconditionFailed")
}

// testRangeGet: a single byte range answers 206 with Content-Range.
func (s *suite) testRangeGet(t *testing.T) {
	key := s.key("range/object")
	s.mustPut(t, key, "0123456789")
	var h http.Header
	got, err := s.get(key, oss.Range(2, 5), oss.GetResponseHeader(&h))
	if err != nil || got != "2345" {
		t.Fatalf("GetObject bytes=2-5 = %q, %v; want 2345", got, err)
	}
	if cr := h.Get("Content-Range"); cr != "bytes 2-5/10" {
		t.Errorf("Content-Range = %q, want bytes 2-5/10", cr)
	}
	if got, err := s.get(key, oss.NormalizedRange("-3")); err != nil || got != "789" {
		t.Fatalf("GetObject bytes=-3 = %q, %v; want 789", got, err)
	}
	if got, err := s.get(key, oss.NormalizedRange("7-")); err != nil || got != "789" {
		t.Fatalf("GetObject bytes=7- = %q, %v; want 789", got, err)
	}
}

var etagPattern = regexp.MustCompile(`^"[0-9A-F]{32}"$`)

// testETagAndCRC: ETags are quoted upper-case hex MD5, the CRC header is
// CRC-64/ECMA, and Content-MD5 is verified.
func (s *suite) testETagAndCRC(t *testing.T) {
	key := s.key("etag/object")
	body := "ETag and CRC body \u00e9"
	s.mustPut(t, key, body) // The SDK checks the PutObject CRC itself.
	h := s.head(t, key)
	sum := md5.Sum([]byte(body))
	wantETag := `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`
	if got := h.Get("ETag"); !etagPattern.MatchString(got) || got != wantETag {
		t.Errorf("ETag = %s, want %s", got, wantETag)
	}
	if got := h.Get("X-Oss-Hash-Crc64ecma"); got != crcOf(body) {
		t.Errorf("x-oss-hash-crc64ecma = %s, want %s", got, crcOf(body))
	}
	if got := h.Get("X-Oss-Object-Type"); got != "Normal" {
		t.Errorf("x-oss-object-type = %q, want Normal", got)
	}
	if got, want := h.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
		t.Errorf("Content-Length = %q, want %s", got, want)
	}
	if _, err := http.ParseTime(h.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", h.Get("Last-Modified"), err)
	}
	if h.Get("X-Oss-Request-Id") == "" {
		t.Error("no x-oss-request-id")
	}

	var gh http.Header
	if got, err := s.get(key, oss.GetResponseHeader(&gh)); err != nil || got != body {
		t.Fatalf("GetObject = %q, %v", got, err)
	}
	if gh.Get("ETag") != wantETag || gh.Get("X-Oss-Hash-Crc64ecma") != crcOf(body) {
		t.Errorf("GetObject ETag %s CRC %s, want %s %s", gh.Get("ETag"), gh.Get("X-Oss-Hash-Crc64ecma"), wantETag, crcOf(body))
	}

	res, err := s.b.ListObjectsV2(oss.Prefix(key))
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("ListObjectsV2 prefix %q = %+v, %v", key, res, err)
	}
	if o := res.Objects[0]; o.ETag != wantETag || o.Size != int64(len(body)) || o.Type != "Normal" {
		t.Errorf("listed ETag %s size %d type %s, want %s %d Normal", o.ETag, o.Size, o.Type, wantETag, len(body))
	}

	// A wrong Content-MD5 is refused and nothing is written.
	bad := s.key("etag/bad-digest")
	wrong := md5.Sum([]byte("something else"))
	err = s.put(bad, "payload", oss.ContentMD5(base64.StdEncoding.EncodeToString(wrong[:])))
	wantCode(t, "PutObject with a wrong Content-MD5", err, http.StatusBadRequest, "InvalidDigest")
	_, err = s.get(bad)
	wantCode(t, "GetObject after refused PutObject", err, http.StatusNotFound, "NoSuchKey")
	right := md5.Sum([]byte("payload"))
	if err := s.put(bad, "payload", oss.ContentMD5(base64.StdEncoding.EncodeToString(right[:]))); err != nil {
		t.Fatalf("PutObject with the right Content-MD5: %v", err)
	}
}

// testMetadata: user metadata and standard headers round-trip.
func (s *suite) testMetadata(t *testing.T) {
	key := s.key("meta/object.bin")
	s.mustPut(t, key, "{}",
		oss.ContentType("application/json; charset=utf-8"),
		oss.Meta("Color", "Blue"),
		oss.Meta("media-id", "m-123"),
		oss.Meta("spaces", "a b c"),
		oss.CacheControl("no-cache"),
		oss.ContentDisposition(`attachment; filename="state.json"`),
	)
	check := func(what string, h http.Header) {
		t.Helper()
		for name, want := range map[string]string{
			"Content-Type":        "application/json; charset=utf-8",
			"X-Oss-Meta-Color":    "Blue",
			"X-Oss-Meta-Media-Id": "m-123",
			"X-Oss-Meta-Spaces":   "a b c",
			"Cache-Control":       "no-cache",
			"Content-Disposition": `attachment; filename="state.json"`,
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s %s = %q, want %q", what, name, got, want)
			}
		}
	}
	check("HeadObject", s.head(t, key))
	var gh http.Header
	if _, err := s.get(key, oss.GetResponseHeader(&gh)); err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	check("GetObject", gh)

	// An overwrite replaces the metadata.
	s.mustPut(t, key, "{}", oss.Meta("other", "x"))
	h := s.head(t, key)
	if h.Get("X-Oss-Meta-Color") != "" || h.Get("X-Oss-Meta-Other") != "x" {
		t.Errorf("after overwrite: color %q other %q, want \"\" and x", h.Get("X-Oss-Meta-Color"), h.Get("X-Oss-Meta-Other"))
	}
}
