// Package ossconformance is a conformance suite for the OSS semantics the
// product depends on: create-only writes with x-oss-forbid-overwrite,
// AppendObject positions, conditional reads, ETags and CRCs, metadata,
// listing, deletion, versioning status and authentication errors.
//
// The suite drives the real github.com/aliyun/aliyun-oss-go-sdk/oss client,
// so it runs unchanged against Alibaba Cloud OSS and against the local
// server of package mediastate/test/ossserver, which keeps the two honest
// with each other.
package ossconformance

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Target is what the suite runs against.
type Target struct {
	// Bucket is an SDK handle on the bucket under test, with valid
	// credentials. The bucket must not have versioning enabled or
	// suspended.
	Bucket *oss.Bucket
	// WrongSecret is a handle on the same bucket whose client signs with
	// the right access key id but a wrong secret.
	WrongSecret *oss.Bucket
	// Prefix is prepended to every key the suite writes. It must be unique
	// per run; everything under it is deleted when the suite ends.
	Prefix string
	// CanToggleVersioning says the suite may enable and suspend versioning
	// on the bucket, because ResetVersioning can return it to the
	// never-versioned state afterwards (real OSS cannot).
	CanToggleVersioning bool
	// ResetVersioning returns the bucket to the never-versioned state. It
	// is required when CanToggleVersioning is set.
	ResetVersioning func() error
}

// NewTarget builds a Target for bucket at endpoint with a unique prefix.
// The options (e.g. oss.AuthVersion(oss.AuthV4), oss.Region(...)) apply to
// both clients.
func NewTarget(endpoint, bucket, accessKeyID, accessKeySecret string, options ...oss.ClientOption) (Target, error) {
	good, err := oss.New(endpoint, accessKeyID, accessKeySecret, options...)
	if err != nil {
		return Target{}, fmt.Errorf("ossconformance: client for %s: %w", endpoint, err)
	}
	gb, err := good.Bucket(bucket)
	if err != nil {
		return Target{}, fmt.Errorf("ossconformance: bucket %s: %w", bucket, err)
	}
	bad, err := oss.New(endpoint, accessKeyID, accessKeySecret+"-wrong", options...)
	if err != nil {
		return Target{}, fmt.Errorf("ossconformance: client for %s: %w", endpoint, err)
	}
	bb, err := bad.Bucket(bucket)
	if err != nil {
		return Target{}, fmt.Errorf("ossconformance: bucket %s: %w", bucket, err)
	}
	return Target{Bucket: gb, WrongSecret: bb, Prefix: UniquePrefix()}, nil
}

// UniquePrefix returns a key prefix unique to this run, such as
// "ossconformance/20240102T150405Z-1a2b3c4d/".
func UniquePrefix() string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms.
	return "ossconformance/" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:]) + "/"
}

// suite is one run of the conformance tests.
type suite struct {
	b, wrong *oss.Bucket
	prefix   string
	tgt      Target
}

// Run runs the conformance suite against tgt as subtests of t and deletes
// the objects it wrote when t ends.
func Run(t *testing.T, tgt Target) {
	t.Helper()
	if tgt.Bucket == nil || tgt.WrongSecret == nil {
		t.Fatal("ossconformance: Target needs Bucket and WrongSecret")
	}
	if tgt.Prefix == "" || !strings.HasSuffix(tgt.Prefix, "/") {
		t.Fatalf("ossconformance: Target.Prefix %q must be non-empty and end in /", tgt.Prefix)
	}
	if tgt.CanToggleVersioning && tgt.ResetVersioning == nil {
		t.Fatal("ossconformance: CanToggleVersioning needs ResetVersioning")
	}
	s := &suite{b: tgt.Bucket, wrong: tgt.WrongSecret, prefix: tgt.Prefix, tgt: tgt}
	t.Cleanup(func() { s.cleanup(t) })

	v, err := s.b.Client.GetBucketVersioning(s.b.BucketName)
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	if v.Status != "" {
		t.Fatalf("bucket %s has versioning %s; the suite needs a bucket where versioning was never enabled, "+
			"because OSS ignores x-oss-forbid-overwrite on versioned buckets", s.b.BucketName, v.Status)
	}

	t.Run("ForbidOverwriteCreateOnly", s.testForbidOverwrite)
	t.Run("ConditionalPutNotImplemented", s.testConditionalPut)
	t.Run("ForbidOverwriteRace", s.testForbidOverwriteRace)
	t.Run("CopyObjectForbidOverwrite", s.testCopyForbidOverwrite)
	t.Run("AppendPositions", s.testAppendPositions)
	t.Run("AppendRace", s.testAppendRace)
	t.Run("ConditionalGet", s.testConditionalGet)
	t.Run("RangeGet", s.testRangeGet)
	t.Run("ETagCRCAndDigest", s.testETagAndCRC)
	t.Run("MetadataRoundTrip", s.testMetadata)
	t.Run("ListObjectsV2", s.testListObjectsV2)
	t.Run("ListObjectsV2DefaultMaxKeys", s.testListDefaultMaxKeys)
	t.Run("ListObjectsV1", s.testListObjectsV1)
	t.Run("DeleteObject", s.testDeleteObject)
	t.Run("DeleteObjects", s.testDeleteObjects)
	t.Run("GetBucketVersioning", s.testGetBucketVersioning)
	t.Run("BadSignature", s.testBadSignature)
	t.Run("NoSuchKey", s.testNoSuchKey)
	if tgt.CanToggleVersioning {
		t.Run("VersioningIgnoresForbidOverwrite", s.testVersioningToggle)
	}
}

// key returns a key under the run's prefix.
func (s *suite) key(name string) string { return s.prefix + name }

// cleanup deletes every object under the prefix.
func (s *suite) cleanup(t *testing.T) {
	token := ""
	for {
		opts := []oss.Option{oss.Prefix(s.prefix), oss.MaxKeys(1000)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := s.b.ListObjectsV2(opts...)
		if err != nil {
			t.Errorf("cleanup: listing %s: %v", s.prefix, err)
			return
		}
		keys := make([]string, 0, len(res.Objects))
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if len(keys) > 0 {
			if _, err := s.b.DeleteObjects(keys, oss.DeleteObjectsQuiet(true)); err != nil {
				t.Errorf("cleanup: deleting %d objects: %v", len(keys), err)
				return
			}
		}
		if !res.IsTruncated {
			return
		}
		token = res.NextContinuationToken
	}
}

// put writes body at key.
func (s *suite) put(key, body string, opts ...oss.Option) error {
	return s.b.PutObject(key, strings.NewReader(body), opts...)
}

// mustPut writes body at key or fails the test.
func (s *suite) mustPut(t *testing.T, key, body string, opts ...oss.Option) {
	t.Helper()
	if err := s.put(key, body, opts...); err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
}

// get reads key.
func (s *suite) get(key string, opts ...oss.Option) (string, error) {
	rc, err := s.b.GetObject(key, opts...)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return "", fmt.Errorf("reading %q: %w", key, err)
	}
	return buf.String(), nil
}

// wantContent fails the test unless key holds want.
func (s *suite) wantContent(t *testing.T, key, want string) {
	t.Helper()
	got, err := s.get(key)
	if err != nil {
		t.Fatalf("GetObject %q: %v", key, err)
	}
	if got != want {
		t.Fatalf("GetObject %q = %q, want %q", key, got, want)
	}
}

// head returns key's headers.
func (s *suite) head(t *testing.T, key string) http.Header {
	t.Helper()
	h, err := s.b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatalf("HeadObject %q: %v", key, err)
	}
	return h
}

// serviceError extracts an oss.ServiceError from err.
func serviceError(err error) (oss.ServiceError, bool) {
	var se oss.ServiceError
	ok := errors.As(err, &se)
	return se, ok
}

// checkCode returns a description of how err differs from an OSS error
// with code and, unless status is 0, that HTTP status; "" if it matches.
func checkCode(err error, status int, code string) string {
	se, ok := serviceError(err)
	switch {
	case err == nil:
		return fmt.Sprintf("got success, want %s", code)
	case !ok:
		return fmt.Sprintf("got %v (%T), want oss.ServiceError %s", err, err, code)
	case se.Code != code:
		return fmt.Sprintf("got code %q (status %d, message %q), want %s", se.Code, se.StatusCode, se.Message, code)
	case status != 0 && se.StatusCode != status:
		return fmt.Sprintf("got status %d with code %s, want %d", se.StatusCode, code, status)
	}
	return ""
}

// wantCode fails the test unless err is an OSS error with code and, unless
// status is 0, that HTTP status.
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if d := checkCode(err, status, code); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// wantStatus fails the test unless err is an OSS error with that status
// (HEAD errors may carry no code).
func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	se, ok := serviceError(err)
	if !ok || se.StatusCode != status {
		t.Fatalf("%s: got %v, want oss.ServiceError with status %d", what, err, status)
	}
}

// race starts n writers at once and returns the one whose op succeeded. It
// fails the test when two or none succeed, or when a loser's error is not
// 409 with loserCode.
func race(t *testing.T, n int, loserCode, what string, op func(i int) error) int {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = op(i)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("%s: writers %d and %d both succeeded", what, winner, i)
			}
			winner = i
			continue
		}
		if d := checkCode(err, http.StatusConflict, loserCode); d != "" {
			t.Fatalf("%s: writer %d: %s", what, i, d)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no writer succeeded", what)
	}
	return winner
}
