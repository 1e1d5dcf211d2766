package ossserver_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

const (
	bucketName = "test-bucket"
	testAK     = "test-ak"
	testSK     = "test-sk"
)

// start starts a server with one credential and bucketName, applying mod
// to the options, and closes it when the test ends.
func start(t *testing.T, mod func(*ossserver.Options)) *ossserver.Server {
	t.Helper()
	opts := ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: testAK, AccessKeySecret: testSK}},
		Buckets:     []string{bucketName},
		Logf:        t.Logf,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := ossserver.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// bucket returns an SDK handle on bucketName signed with ak/sk.
func bucketWith(t *testing.T, srv *ossserver.Server, ak, sk string, options ...oss.ClientOption) *oss.Bucket {
	t.Helper()
	c, err := oss.New(srv.Endpoint(), ak, sk, append([]oss.ClientOption{oss.Timeout(5, 10)}, options...)...)
	if err != nil {
		t.Fatalf("oss.New: %v", err)
	}
	b, err := c.Bucket(bucketName)
	if err != nil {
		t.Fatalf("Bucket: %v", err)
	}
	return b
}

// bucket returns an SDK handle on bucketName with the test credential.
func bucket(t *testing.T, srv *ossserver.Server, options ...oss.ClientOption) *oss.Bucket {
	t.Helper()
	return bucketWith(t, srv, testAK, testSK, options...)
}

func put(b *oss.Bucket, key, body string, opts ...oss.Option) error {
	return b.PutObject(key, strings.NewReader(body), opts...)
}

func mustPut(t *testing.T, b *oss.Bucket, key, body string, opts ...oss.Option) {
	t.Helper()
	if err := put(b, key, body, opts...); err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
}

func get(b *oss.Bucket, key string, opts ...oss.Option) (string, error) {
	rc, err := b.GetObject(key, opts...)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return string(data), err
}

func wantContent(t *testing.T, b *oss.Bucket, key, want string) {
	t.Helper()
	got, err := get(b, key)
	if err != nil || got != want {
		t.Fatalf("GetObject %q = %q, %v; want %q", key, got, err, want)
	}
}

// wantCode fails the test unless err is an oss.ServiceError with status
// and code.
func wantCode(t *testing.T, what string, err error, status int, code string) oss.ServiceError {
	t.Helper()
	var se oss.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %v (%T), want oss.ServiceError %d %s", what, err, err, status, code)
	}
	if se.StatusCode != status || se.Code != code {
		t.Fatalf("%s: got %d %s (%q), want %d %s", what, se.StatusCode, se.Code, se.Message, status, code)
	}
	if se.RequestID == "" {
		t.Errorf("%s: error without request id", what)
	}
	return se
}

// wantTransportError fails the test unless err is a transport failure
// rather than an OSS answer.
func wantTransportError(t *testing.T, what string, err error) {
	t.Helper()
	var se oss.ServiceError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("%s: got %v, want a transport error (connection reset or EOF)", what, err)
	}
}

// ossForbid is the create-only write option.
func ossForbid() oss.Option { return oss.ForbidOverWrite(true) }
