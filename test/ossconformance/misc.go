package ossconformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// testDeleteObject: DeleteObject answers 204 whether or not the key
// exists, and the object is gone at once.
func (s *suite) testDeleteObject(t *testing.T) {
	if err := s.b.DeleteObject(s.key("delete/never-existed")); err != nil {
		t.Fatalf("DeleteObject of an absent key: %v", err)
	}
	key := s.key("delete/object")
	s.mustPut(t, key, "doomed")
	if err := s.b.DeleteObject(key); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, err := s.get(key)
	wantCode(t, "GetObject after DeleteObject", err, http.StatusNotFound, "NoSuchKey")
	if err := s.b.DeleteObject(key); err != nil {
		t.Fatalf("second DeleteObject: %v", err)
	}
}

// testDeleteObjects: DeleteObjects deletes awkward keys, reports every key
// (absent ones too) unless quiet, and reports none when quiet.
func (s *suite) testDeleteObjects(t *testing.T) {
	keys := []string{s.key("delete-multi/a b&c"), s.key("delete-multi/ünï<>"), s.key("delete-multi/plain")}
	s.putAll(t, keys)
	absent := s.key("delete-multi/absent")
	res, err := s.b.DeleteObjects(append(slices.Clone(keys), absent))
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	got := slices.Sorted(slices.Values(res.DeletedObjects))
	want := slices.Sorted(slices.Values(append(slices.Clone(keys), absent)))
	if !slices.Equal(got, want) {
		t.Errorf("DeleteObjects reported %q, want %q", got, want)
	}
	for _, k := range keys {
		_, err := s.get(k)
		wantCode(t, "GetObject after DeleteObjects", err, http.StatusNotFound, "NoSuchKey")
	}

	// Quiet mode reports no deleted keys. The SDK does not parse the quiet
	// answer, so read it raw.
	s.putAll(t, keys)
	xmlBody := "<Delete><Quiet>true</Quiet>"
	for _, k := range keys {
		xmlBody += "<Object><Key>" + oss.EscapeXml(k) + "</Key></Object>"
	}
	raw, err := s.b.DeleteMultipleObjectsXml(xmlBody + "</Delete>")
	if err != nil {
		t.Fatalf("quiet DeleteObjects: %v", err)
	}
	if strings.Contains(raw, "<Deleted>") {
		t.Errorf("quiet DeleteObjects answered %s, want no Deleted entries", raw)
	}
	lr, err := s.b.ListObjectsV2(oss.Prefix(s.key("delete-multi/")))
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if len(lr.Objects) != 0 {
		t.Errorf("objects left after quiet DeleteObjects: %d", len(lr.Objects))
	}
}

// testGetBucketVersioning: a never-versioned bucket has no Status.
func (s *suite) testGetBucketVersioning(t *testing.T) {
	v, err := s.b.Client.GetBucketVersioning(s.b.BucketName)
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	if v.Status != "" {
		t.Fatalf("GetBucketVersioning Status = %q, want none", v.Status)
	}
}

// testBadSignature: a wrong secret is refused with SignatureDoesNotMatch
// and nothing is written.
func (s *suite) testBadSignature(t *testing.T) {
	key := s.key("auth/bad-signature")
	err := s.wrong.PutObject(key, strings.NewReader("forged"), oss.ForbidOverWrite(true))
	wantCode(t, "PutObject with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	_, err = s.get(key)
	wantCode(t, "GetObject after refused PutObject", err, http.StatusNotFound, "NoSuchKey")

	s.mustPut(t, key, "genuine")
	_, err = s.wrong.GetObject(key)
	wantCode(t, "GetObject with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	_, err = s.wrong.AppendObject(s.key("auth/append"), strings.NewReader("x"), 0)
	wantCode(t, "AppendObject with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	_, err = s.wrong.ListObjectsV2(oss.Prefix(s.prefix))
	wantCode(t, "ListObjectsV2 with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	err = s.wrong.DeleteObject(key)
	wantCode(t, "DeleteObject with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	s.wantContent(t, key, "genuine")
}

// testNoSuchKey: reading an absent key is 404 NoSuchKey.
func (s *suite) testNoSuchKey(t *testing.T) {
	key := s.key("missing/object")
	_, err := s.get(key)
	wantCode(t, "GetObject of an absent key", err, http.StatusNotFound, "NoSuchKey")
	_, err = s.b.GetObjectDetailedMeta(key)
	wantStatus(t, "HeadObject of an absent key", err, http.StatusNotFound)
	exists, err := s.b.IsObjectExist(key)
	if err != nil || exists {
		t.Fatalf("IsObjectExist of an absent key = %v, %v", exists, err)
	}
	s.mustPut(t, key, "now here")
	if exists, err := s.b.IsObjectExist(key); err != nil || !exists {
		t.Fatalf("IsObjectExist of a present key = %v, %v", exists, err)
	}
}

// testVersioningToggle: once versioning is Enabled or Suspended, OSS
// ignores x-oss-forbid-overwrite.
func (s *suite) testVersioningToggle(t *testing.T) {
	t.Cleanup(func() {
		if err := s.tgt.ResetVersioning(); err != nil {
			t.Errorf("ResetVersioning: %v", err)
		}
	})
	for _, status := range []string{string(oss.VersionEnabled), string(oss.VersionSuspended)} {
		err := s.b.Client.SetBucketVersioning(s.b.BucketName, oss.VersioningConfig{Status: status})
		if err != nil {
			t.Fatalf("SetBucketVersioning %s: %v", status, err)
		}
		v, err := s.b.Client.GetBucketVersioning(s.b.BucketName)
		if err != nil || v.Status != status {
			t.Fatalf("GetBucketVersioning = %q, %v; want %s", v.Status, err, status)
		}
		key := s.key("versioning/" + status)
		s.mustPut(t, key, "first", oss.ForbidOverWrite(true))
		if err := s.put(key, "second", oss.ForbidOverWrite(true)); err != nil {
			t.Fatalf("create-only PutObject over an existing key with versioning %s: %v (OSS ignores the header)", status, err)
		}
		s.wantContent(t, key, "second")
	}
}
