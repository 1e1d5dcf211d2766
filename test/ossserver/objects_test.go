package ossserver_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestHeadErrorsCarryTheCode(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	_, err := b.GetObjectDetailedMeta("absent")
	wantCode(t, "HeadObject of an absent key", err, http.StatusNotFound, "NoSuchKey")
	mustPut(t, b, "k", "v")
	_, err = b.GetObjectDetailedMeta("k", oss.IfMatch(`"nope"`))
	wantCode(t, "HeadObject If-Match other", err, http.StatusPreconditionFailed, "PreconditionFailed")
	if ok, err := b.IsObjectExist("k"); err != nil || !ok {
		t.Fatalf("IsObjectExist = %v, %v", ok, err)
	}
	h, err := b.GetObjectMeta("k")
	if err != nil || h.Get("Content-Length") != "1" || h.Get("ETag") == "" {
		t.Fatalf("GetObjectMeta = %v, %v", h, err)
	}
}

func TestUnsupportedOperationsAreRefused(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v")
	cases := map[string]error{
		"SetObjectACL":                        b.SetObjectACL("k", oss.ACLPublicRead),
		"PutObjectTagging":                    b.PutObjectTagging("k", oss.Tagging{Tags: []oss.Tag{{Key: "a", Value: "b"}}}),
		"PutSymlink":                          b.PutSymlink("link", "k"),
		"PutObject with SSE":                  put(b, "sse", "v", oss.ServerSideEncryption("AES256")),
		"PutObject with an object ACL":        put(b, "acl", "v", oss.ObjectACL(oss.ACLPrivate)),
		"PutObject with storage class IA":     put(b, "ia", "v", oss.ObjectStorageClass(oss.StorageIA)),
		"GetObject with an unknown parameter": func() error { _, err := get(b, "k", oss.AddParam("frobnicate", "1")); return err }(),
		"DeleteObject with If-Match":          b.DeleteObject("k", oss.IfMatch(`"x"`)),
	}
	_, cases["InitiateMultipartUpload"] = b.InitiateMultipartUpload("mp")
	_, cases["GetObjectACL"] = b.GetObjectACL("k")
	for name, err := range cases {
		wantCode(t, name, err, http.StatusNotImplemented, "NotImplemented")
	}
	for _, k := range []string{"sse", "acl", "ia"} {
		_, err := get(b, k)
		wantCode(t, "GetObject after refused "+k, err, http.StatusNotFound, "NoSuchKey")
	}
	wantContent(t, b, "k", "v")
	if n := srv.Stats().Requests["Unsupported"]; n < 5 {
		t.Errorf("Unsupported count = %d", n)
	}
}

func TestAppendableETagIsNotMD5(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	var h1, h2 http.Header
	if _, err := b.AppendObject("a", strings.NewReader("abc"), 0, oss.GetResponseHeader(&h1)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "n", "abc")
	normal, _ := b.GetObjectDetailedMeta("n")
	if _, err := b.AppendObject("a", strings.NewReader("d"), 3, oss.GetResponseHeader(&h2)); err != nil {
		t.Fatal(err)
	}
	pat := regexp.MustCompile(`^"[0-9A-F]{32}"$`)
	e1, e2 := h1.Get("ETag"), h2.Get("ETag")
	if !pat.MatchString(e1) || !pat.MatchString(e2) || e1 == e2 || e1 == normal.Get("ETag") {
		t.Errorf("appendable ETags %s then %s (normal object with the same content: %s)", e1, e2, normal.Get("ETag"))
	}
}

func TestAppendMetadataComesFromTheFirstAppend(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	if _, err := b.AppendObject("a.txt", strings.NewReader("1"), 0, oss.Meta("m", "first")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendObject("a.txt", strings.NewReader("2"), 1, oss.Meta("m", "second"), oss.ContentType("x/y")); err != nil {
		t.Fatal(err)
	}
	h, err := b.GetObjectDetailedMeta("a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Oss-Meta-M") != "first" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("meta %q content type %q, want first and text/plain", h.Get("X-Oss-Meta-M"), h.Get("Content-Type"))
	}
	_, err = b.AppendObject("a.txt", strings.NewReader("3"), 2, oss.IfMatch(h.Get("ETag")))
	wantCode(t, "conditional AppendObject", err, http.StatusBadRequest, "NotImplemented")
	_, err = b.AppendObject("a.txt", strings.NewReader("3"), 2, oss.ContentMD5("1B2M2Y8AsgTpgAmY7PhCfg=="))
	wantCode(t, "AppendObject with a wrong Content-MD5", err, http.StatusBadRequest, "InvalidDigest")
	wantContent(t, b, "a.txt", "12")
}

func TestRangeAndResponseOverrides(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "r", "0123456789")
	var h http.Header
	got, err := get(b, "r", oss.NormalizedRange("20-30"), oss.GetResponseHeader(&h))
	if err != nil || got != "0123456789" || h.Get("Content-Range") != "" {
		t.Errorf("unsatisfiable range without standard behaviour = %q, %v, %v; want the whole object", got, err, h)
	}
	_, err = get(b, "r", oss.NormalizedRange("20-30"), oss.RangeBehavior("standard"))
	wantCode(t, "unsatisfiable range with standard behaviour", err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	if got, err := get(b, "r", oss.NormalizedRange("8-100")); err != nil || got != "89" {
		t.Errorf("range 8-100 = %q, %v", got, err)
	}
	if got, err := get(b, "r", oss.NormalizedRange("1-2,4-5")); err != nil || got != "0123456789" {
		t.Errorf("multi-range = %q, %v; want the whole object", got, err)
	}
	if _, err := get(b, "r", oss.ResponseContentType("text/csv"), oss.ResponseContentDisposition("inline"),
		oss.GetResponseHeader(&h)); err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Type") != "text/csv" || h.Get("Content-Disposition") != "inline" {
		t.Errorf("response overrides: %v", h)
	}
}

func TestKeyAndArgumentValidation(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	wantCode(t, "1024-byte key", put(b, strings.Repeat("k", 1024), "v"), http.StatusBadRequest, "InvalidObjectName")
	mustPut(t, b, strings.Repeat("k", 1023), "v")
	wantCode(t, "key starting with /", put(b, "/abs", "v"), http.StatusBadRequest, "InvalidObjectName")
	wantCode(t, "forbid-overwrite yes", put(b, "k", "v", oss.SetHeader("X-Oss-Forbid-Overwrite", "yes")),
		http.StatusBadRequest, "InvalidArgument")
	wantCode(t, "Content-MD5 not base64", put(b, "k", "v", oss.ContentMD5("!!")), http.StatusBadRequest, "InvalidDigest")

	_, err := b.AppendObject("a", strings.NewReader("x"), -1)
	wantCode(t, "negative position", err, http.StatusBadRequest, "InvalidArgument")
	_, err = b.Do("POST", "a", map[string]interface{}{"append": nil}, nil, strings.NewReader("x"), nil)
	wantCode(t, "append without position", err, http.StatusBadRequest, "MissingArgument")

	_, err = b.ListObjectsV2(oss.MaxKeys(0))
	wantCode(t, "max-keys 0", err, http.StatusBadRequest, "InvalidArgument")
	_, err = b.Do("GET", "", map[string]interface{}{"list-type": "2", "encoding-type": "base64"}, nil, nil, nil)
	wantCode(t, "encoding-type base64", err, http.StatusBadRequest, "InvalidArgument")
	_, err = b.ListObjectsV2(oss.ContinuationToken("!!not a token!!"))
	wantCode(t, "bad continuation token", err, http.StatusBadRequest, "InvalidArgument")
	_, err = b.Do("GET", "", map[string]interface{}{"list-type": "1"}, nil, nil, nil)
	wantCode(t, "list-type 1", err, http.StatusBadRequest, "InvalidArgument")

	body := `<Delete><Quiet>false</Quiet><Object><Key>k</Key></Object></Delete>`
	_, err = b.Do("POST", "", map[string]interface{}{"delete": nil}, nil, strings.NewReader(body), nil)
	wantCode(t, "DeleteObjects without Content-MD5", err, http.StatusBadRequest, "MissingArgument")

	other, err := b.Client.Bucket("no-such-bucket")
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "PutObject to an unknown bucket", put(other, "k", "v"), http.StatusNotFound, "NoSuchBucket")
	_, err = other.ListObjectsV2()
	wantCode(t, "ListObjectsV2 of an unknown bucket", err, http.StatusNotFound, "NoSuchBucket")
}

func TestCopyObject(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "src ü", "source", oss.Meta("a", "1"), oss.ContentType("text/plain"))
	src, _ := b.GetObjectDetailedMeta("src ü")

	_, err := b.CopyObject("src ü", "dst", oss.CopySourceIfMatch(`"00"`))
	wantCode(t, "CopyObject with a failing source If-Match", err, http.StatusPreconditionFailed, "PreconditionFailed")
	_, err = b.CopyObject("src ü", "dst", oss.IfMatch(src.Get("ETag")))
	wantCode(t, "CopyObject with a plain If-Match", err, http.StatusBadRequest, "NotImplemented")
	if _, err := b.CopyObject("src ü", "dst", oss.CopySourceIfMatch(src.Get("ETag"))); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	dst, _ := b.GetObjectDetailedMeta("dst")
	if dst.Get("ETag") != src.Get("ETag") || dst.Get("X-Oss-Meta-A") != "1" || dst.Get("Content-Type") != "text/plain" {
		t.Errorf("copy headers %v, source %v", dst, src)
	}
	if err := b.SetObjectMeta("dst", oss.Meta("b", "2")); err != nil {
		t.Fatalf("SetObjectMeta: %v", err)
	}
	dst, _ = b.GetObjectDetailedMeta("dst")
	if dst.Get("X-Oss-Meta-A") != "" || dst.Get("X-Oss-Meta-B") != "2" {
		t.Errorf("after REPLACE: %v", dst)
	}
	wantContent(t, b, "dst", "source")

	if _, err := b.AppendObject("app", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	_, err = b.CopyObject("app", "app-copy")
	wantCode(t, "CopyObject of an appendable object", err, http.StatusBadRequest, "InvalidArgument")
	_, err = b.CopyObject("absent", "x")
	wantCode(t, "CopyObject of an absent key", err, http.StatusNotFound, "NoSuchKey")
}

func TestBucketOperations(t *testing.T) {
	srv := start(t, nil)
	c := bucket(t, srv).Client
	if err := c.CreateBucket("second-bucket"); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	wantCode(t, "CreateBucket twice", c.CreateBucket("second-bucket"), http.StatusConflict, "BucketAlreadyExists")
	res, err := c.ListBuckets()
	if err != nil || len(res.Buckets) != 2 || res.Buckets[0].Name != "second-bucket" || res.Buckets[1].Name != bucketName {
		t.Fatalf("ListBuckets = %+v, %v", res, err)
	}
	if time.Since(res.Buckets[0].CreationDate) > time.Minute {
		t.Errorf("CreationDate %v", res.Buckets[0].CreationDate)
	}
	loc, err := c.GetBucketLocation(bucketName)
	if err != nil || loc != "oss-"+srv.Region() {
		t.Errorf("GetBucketLocation = %q, %v", loc, err)
	}
	b2, _ := c.Bucket("second-bucket")
	if err := b2.PutObject("k", bytes.NewReader([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteBucket of a non-empty bucket", c.DeleteBucket("second-bucket"), http.StatusConflict, "BucketNotEmpty")
	if err := b2.DeleteObject("k"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBucket("second-bucket"); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	wantCode(t, "PutObject to a deleted bucket", b2.PutObject("k", bytes.NewReader(nil)), http.StatusNotFound, "NoSuchBucket")
}

func TestListOwnerAndEncodingType(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v")
	res, err := b.ListObjectsV2()
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Owner.ID != "" {
		t.Fatalf("ListObjectsV2 without fetch-owner = %+v, %v; want no owner", res.Objects, err)
	}
	res, err = b.ListObjectsV2(oss.FetchOwner(true))
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Owner.ID == "" {
		t.Fatalf("ListObjectsV2 with fetch-owner = %+v, %v; want an owner", res.Objects, err)
	}
	v1, err := b.ListObjects()
	if err != nil || len(v1.Objects) != 1 || v1.Objects[0].Owner.ID == "" {
		t.Fatalf("ListObjects = %+v, %v; want an owner", v1.Objects, err)
	}
	_, err = b.ListObjectsV2(oss.AddParam("fetch-owner", "yes"))
	wantCode(t, "fetch-owner yes", err, http.StatusBadRequest, "InvalidArgument")
}
