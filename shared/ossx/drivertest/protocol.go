package drivertest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Protocol is the target of RunProtocolTests: SDK handles on one bucket.
type Protocol struct {
	// Bucket has valid credentials; WrongSecret signs with the right key
	// id and a wrong secret.
	Bucket, WrongSecret *oss.Bucket
	// Prefix is prepended to every key written; it must be unique per run.
	Prefix string
}

// RunProtocolTests checks, through the OSS SDK, the wire-level answers the
// product relies on: 409 FileAlreadyExists, If-* headers on PutObject
// refused with NotImplemented (so they cannot serve as compare-and-swap),
// 404 NoSuchKey on GET and HEAD, SignatureDoesNotMatch, and max-keys
// bounds.
func RunProtocolTests(t *testing.T, p Protocol) {
	b := p.Bucket
	key := p.Prefix + "protocol/object"
	t.Cleanup(func() { _ = b.DeleteObject(key) })
	if err := b.PutObject(key, strings.NewReader("original"), oss.ForbidOverWrite(true)); err != nil {
		t.Fatalf("create-only PutObject: %v", err)
	}
	err := b.PutObject(key, strings.NewReader("second"), oss.ForbidOverWrite(true))
	wantCode(t, "second create-only PutObject", err, http.StatusConflict, "FileAlreadyExists")

	h, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatal(err)
	}
	etag := h.Get("ETag")
	for name, opt := range map[string]oss.Option{
		"If-Match current ETag":      oss.IfMatch(etag),
		"If-None-Match *":            oss.IfNoneMatch("*"),
		"If-None-Match current ETag": oss.IfNoneMatch(etag),
		"If-Modified-Since":          oss.IfModifiedSince(time.Now().Add(-24 * time.Hour)),
		"If-Unmodified-Since":        oss.IfUnmodifiedSince(time.Now().Add(24 * time.Hour)),
	} {
		err := b.PutObject(key, strings.NewReader("replaced"), opt)
		wantCode(t, "PutObject with "+name, err, 0, "NotImplemented")
	}
	rc, err := b.GetObject(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != "original" {
		t.Fatalf("after refused writes the object holds %q, %v", got, err)
	}

	_, err = b.GetObject(p.Prefix + "protocol/absent")
	wantCode(t, "GetObject of an absent key", err, http.StatusNotFound, "NoSuchKey")
	_, err = b.GetObjectDetailedMeta(p.Prefix + "protocol/absent")
	wantCode(t, "HeadObject of an absent key", err, http.StatusNotFound, "")
	_, err = p.WrongSecret.GetObject(key)
	wantCode(t, "GetObject with a wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")
	_, err = b.ListObjectsV2(oss.Prefix(p.Prefix), oss.MaxKeys(1001))
	wantCode(t, "ListObjectsV2 max-keys 1001", err, http.StatusBadRequest, "InvalidArgument")
}

// wantCode fails the test unless err is an OSS answer with that code (any
// when "") and, unless 0, that status.
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var se oss.ServiceError
	if !errors.As(err, &se) || (code != "" && se.Code != code) || (status != 0 && se.StatusCode != status) {
		t.Errorf("%s: got %v, want OSS error %d %s", what, err, status, code)
	}
}
