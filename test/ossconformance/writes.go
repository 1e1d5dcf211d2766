package ossconformance

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// testForbidOverwrite: x-oss-forbid-overwrite makes PutObject create-only.
func (s *suite) testForbidOverwrite(t *testing.T) {
	key := s.key("forbid/create-only")
	if err := s.put(key, "first", oss.ForbidOverWrite(true)); err != nil {
		t.Fatalf("first create-only PutObject: %v", err)
	}
	err := s.put(key, "second", oss.ForbidOverWrite(true))
	wantCode(t, "second create-only PutObject", err, http.StatusConflict, "FileAlreadyExists")
	s.wantContent(t, key, "first")

	// forbid-overwrite: false and no header both overwrite.
	s.mustPut(t, key, "third", oss.ForbidOverWrite(false))
	s.wantContent(t, key, "third")
	s.mustPut(t, key, "fourth")
	s.wantContent(t, key, "fourth")

	// After a delete the key can be created again.
	if err := s.b.DeleteObject(key); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if err := s.put(key, "fifth", oss.ForbidOverWrite(true)); err != nil {
		t.Fatalf("create-only PutObject after delete: %v", err)
	}
	s.wantContent(t, key, "fifth")
}

// testConditionalPut: OSS refuses If-* headers on PutObject with
// NotImplemented, so they cannot serve as compare-and-swap.
func (s *suite) testConditionalPut(t *testing.T) {
	key := s.key("conditional-put/existing")
	s.mustPut(t, key, "original")
	etag := s.head(t, key).Get("ETag")
	past := time.Now().Add(-24 * time.Hour)
	future := time.Now().Add(24 * time.Hour)
	cases := []struct {
		name string
		opt  oss.Option
	}{
		{"If-Match current ETag", oss.IfMatch(etag)},
		{"If-Match other ETag", oss.IfMatch(`"00000000000000000000000000000000"`)},
		{"If-None-Match *", oss.IfNoneMatch("*")},
		{"If-None-Match current ETag", oss.IfNoneMatch(etag)},
		{"If-Modified-Since", oss.IfModifiedSince(past)},
		{"If-Unmodified-Since", oss.IfUnmodifiedSince(future)},
	}
	for _, c := range cases {
		err := s.put(key, "replaced: "+c.name, c.opt)
		wantCode(t, "PutObject with "+c.name, err, 0, "NotImplemented")
	}
	s.wantContent(t, key, "original")

	absent := s.key("conditional-put/absent")
	err := s.put(absent, "created", oss.IfNoneMatch("*"))
	wantCode(t, "PutObject of an absent key with If-None-Match *", err, 0, "NotImplemented")
	_, err = s.get(absent)
	wantCode(t, "GetObject after refused conditional PutObject", err, http.StatusNotFound, "NoSuchKey")
}

// testForbidOverwriteRace: of many concurrent create-only PutObjects of
// one key exactly one wins, and its body is what is stored.
func (s *suite) testForbidOverwriteRace(t *testing.T) {
	const writers = 24
	for round := range 3 {
		key := s.key(fmt.Sprintf("forbid/race-%d", round))
		winner := race(t, writers, "FileAlreadyExists", fmt.Sprintf("round %d: create %q", round, key), func(i int) error {
			return s.put(key, fmt.Sprintf("writer %d", i), oss.ForbidOverWrite(true))
		})
		s.wantContent(t, key, fmt.Sprintf("writer %d", winner))
	}
}

// testCopyForbidOverwrite: CopyObject honours x-oss-forbid-overwrite too.
func (s *suite) testCopyForbidOverwrite(t *testing.T) {
	src, dst, fresh := s.key("copy/src"), s.key("copy/dst"), s.key("copy/fresh")
	s.mustPut(t, src, "source", oss.Meta("origin", "src"))
	s.mustPut(t, dst, "destination")

	_, err := s.b.CopyObject(src, dst, oss.ForbidOverWrite(true))
	wantCode(t, "CopyObject onto an existing key with forbid-overwrite", err, http.StatusConflict, "FileAlreadyExists")
	s.wantContent(t, dst, "destination")

	res, err := s.b.CopyObject(src, fresh, oss.ForbidOverWrite(true))
	if err != nil {
		t.Fatalf("CopyObject to a new key with forbid-overwrite: %v", err)
	}
	s.wantContent(t, fresh, "source")
	h := s.head(t, fresh)
	if got, want := res.ETag, s.head(t, src).Get("ETag"); got != want {
		t.Errorf("CopyObject result ETag %s, source ETag %s", got, want)
	}
	if got := h.Get("X-Oss-Meta-Origin"); got != "src" {
		t.Errorf("copied x-oss-meta-origin = %q, want src (metadata directive COPY)", got)
	}
}
