package ossserver_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

// TestFaults: a 503 and a reset are not applied, a lost response is; the
// faults are counted, and Ops restricts them.
func TestFaults(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	cases := []struct {
		name    string
		faults  ossserver.Faults
		applied bool
		check   func(t *testing.T, err error)
	}{
		{"503", ossserver.Faults{Error503Rate: 1}, false, func(t *testing.T, err error) {
			wantCode(t, "PutObject under 503", err, http.StatusServiceUnavailable, "ServiceUnavailable")
		}},
		{"500", ossserver.Faults{Error500Rate: 1, Ops: []string{"PutObject"}}, false, func(t *testing.T, err error) {
			wantCode(t, "PutObject under 500", err, http.StatusInternalServerError, "InternalError")
		}},
		{"reset", ossserver.Faults{ResetRate: 1}, false, func(t *testing.T, err error) { wantTransportError(t, "PutObject reset", err) }},
		{"lost", ossserver.Faults{LostResponseRate: 1}, true, func(t *testing.T, err error) { wantTransportError(t, "PutObject lost", err) }},
		{"other op", ossserver.Faults{Error503Rate: 1, Ops: []string{"GetObject"}}, true, func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("PutObject with faults on GetObject only: %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := srv.SetFaults(c.faults); err != nil {
				t.Fatal(err)
			}
			c.check(t, put(b, "fault/"+c.name, "x"))
			if err := srv.SetFaults(ossserver.Faults{}); err != nil {
				t.Fatal(err)
			}
			_, err := get(b, "fault/"+c.name)
			if applied := err == nil; applied != c.applied {
				t.Fatalf("applied = %v (%v), want %v", applied, err, c.applied)
			}
		})
	}
	st := srv.Stats()
	if f := st.Faults; f.Error503 != 1 || f.Error500 != 1 || f.Resets != 1 || f.LostResponses != 1 || st.Errors["ServiceUnavailable"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if err := srv.SetFaults(ossserver.Faults{Error503Rate: 0.7, ResetRate: 0.7}); err == nil {
		t.Error("rates adding up to 1.4 accepted")
	}
	if err := srv.SetFaults(ossserver.Faults{Ops: []string{"AppendObject"}}); err == nil {
		t.Error("an unknown operation accepted")
	}
}

// TestUnsupportedRequestsAreRefused: what the product does not use is
// answered 501 NotImplemented and counted as Unsupported, never ignored;
// OSS's own refusals keep OSS's answers.
func TestUnsupportedRequestsAreRefused(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "src", "body")
	cases := map[string]func() error{
		"AppendObject": func() error { _, err := b.AppendObject("log", strings.NewReader("x"), 0); return err },
		"CopyObject":   func() error { _, err := b.CopyObject("src", "dst"); return err },
		"range GET":    func() error { _, err := get(b, "src", oss.Range(0, 1)); return err },
		"If-Match GET": func() error { _, err := get(b, "src", oss.IfMatch(`"x"`)); return err },
		"ListObjects":  func() error { _, err := b.ListObjects(); return err },
		"storage class": func() error {
			return put(b, "ia", "x", oss.ObjectStorageClass(oss.StorageIA))
		},
		"ListBuckets": func() error { _, err := b.Client.ListBuckets(); return err },
		"PutBucketVersioning": func() error {
			return b.Client.SetBucketVersioning(bucketName, oss.VersioningConfig{Status: "Enabled"})
		},
	}
	for name, do := range cases {
		wantCode(t, name, do(), http.StatusNotImplemented, "NotImplemented")
	}
	if n := srv.Stats().Requests["Unsupported"]; n < 5 {
		t.Errorf("Unsupported = %d", n)
	}
	err := put(b, "src", "replaced", oss.IfNoneMatch("*"))
	wantCode(t, "PutObject with If-None-Match", err, http.StatusBadRequest, "NotImplemented")
	wantContent(t, b, "src", "body")
	_, err = b.GetObjectDetailedMeta("absent")
	wantCode(t, "HeadObject of an absent key", err, http.StatusNotFound, "NoSuchKey")
}

// TestDirSurvivesRestart: with Dir, objects and the versioning status are
// saved by Close and loaded by the next server.
func TestDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	withDir := func(o *ossserver.Options) { o.Dir = dir }
	srv := start(t, withDir)
	mustPut(t, bucket(t, srv), "kept/one", "1", oss.Meta("seq", "1"), ossForbid())
	if err := srv.SetVersioning(bucketName, "Suspended"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	again := start(t, withDir)
	b := bucket(t, again)
	wantContent(t, b, "kept/one", "1")
	if h, err := b.GetObjectDetailedMeta("kept/one"); err != nil || h.Get("X-Oss-Meta-Seq") != "1" {
		t.Fatalf("metadata after restart: %v %v", h, err)
	}
	if v, err := b.Client.GetBucketVersioning(bucketName); err != nil || v.Status != "Suspended" {
		t.Fatalf("versioning after restart: %+v %v", v, err)
	}
}

// TestValidation: options, names and arguments are checked as OSS checks
// them, and every request is counted by operation.
func TestValidation(t *testing.T) {
	for _, o := range []ossserver.Options{
		{Buckets: []string{bucketName}},
		{Credentials: []ossserver.Credential{{AccessKeyID: testAK}}},
		{Credentials: []ossserver.Credential{{AccessKeyID: testAK, AccessKeySecret: testSK}}, Buckets: []string{"Bad_Name"}},
	} {
		if _, err := ossserver.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	srv := start(t, nil)
	b := bucket(t, srv)
	other, err := b.Client.Bucket("no-such-bucket")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"unknown bucket", put(other, "k", "v"), http.StatusNotFound, "NoSuchBucket"},
		{"key too long", put(b, strings.Repeat("k", 1024), "v"), http.StatusBadRequest, "InvalidObjectName"},
		{"forbid-overwrite maybe", put(b, "k", "v", oss.SetHeader("X-Oss-Forbid-Overwrite", "maybe")), http.StatusBadRequest, "InvalidArgument"},
		{"wrong Content-MD5", put(b, "k", "v", oss.ContentMD5("1B2M2Y8AsgTpgAmY7PhCfg==")), http.StatusBadRequest, "InvalidDigest"},
		{"max-keys 0", func() error { _, err := b.ListObjectsV2(oss.MaxKeys(0)); return err }(), http.StatusBadRequest, "InvalidArgument"},
		{"bad token", func() error { _, err := b.ListObjectsV2(oss.ContinuationToken("!")); return err }(), http.StatusBadRequest, "InvalidArgument"},
		{"fetch-owner", func() error { _, err := b.ListObjectsV2(oss.FetchOwner(true)); return err }(), http.StatusNotImplemented, "NotImplemented"},
		{"unknown x-oss header", put(b, "k", "v", oss.SetHeader("X-Oss-Tagging", "a=b")), http.StatusNotImplemented, "NotImplemented"},
	}
	for _, c := range cases {
		wantCode(t, c.name, c.err, c.status, c.code)
	}
	if _, err := get(b, "k"); err == nil {
		t.Fatal("a refused PutObject wrote")
	}
	srv.ResetStats()
	mustPut(t, b, "k", "v")
	_, _ = get(b, "k")
	_, _ = b.GetObjectDetailedMeta("k")
	_, _ = b.ListObjectsV2()
	_, _ = b.DeleteObjects([]string{"k", "j"})
	_ = b.DeleteObject("k")
	_, _ = get(b, "k")
	_, _ = b.Client.GetBucketVersioning(bucketName)
	want := map[string]int64{"PutObject": 1, "GetObject": 2, "HeadObject": 1, "ListObjectsV2": 1, "DeleteObjects": 1, "DeleteObject": 1, "GetBucketVersioning": 1}
	if st := srv.Stats(); !maps.Equal(st.Requests, want) || st.Errors["NoSuchKey"] != 1 {
		t.Fatalf("stats %+v, want requests %v and one NoSuchKey", st, want)
	}
}
