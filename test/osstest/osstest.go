// Package osstest starts the OSS-protocol test server (test/ossserver) for
// tests and gives them real OSS SDK clients on it.
package osstest

import (
	"testing"
	"time"

	"mediastate/shared/ossx"
	"mediastate/shared/retry"
	"mediastate/test/ossserver"
)

// The credentials and bucket every test server is set up with.
const (
	AccessKeyID     = "LTAItestkey0001"
	AccessKeySecret = "test-secret-0001"
	Bucket          = "mediastate-test"
)

// Env is a running test server.
type Env struct {
	Server   *ossserver.Server
	Endpoint string
}

// Start starts a memory-backed server on loopback, closed at test end.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWithClock(t, nil)
}

// StartWithClock is Start with the clock that stamps objects'
// LastModified (nil: the real one), for tests that step time.
func StartWithClock(t testing.TB, now func() time.Time) *Env {
	t.Helper()
	srv, err := ossserver.Start(ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: AccessKeyID, AccessKeySecret: AccessKeySecret}},
		Buckets:     []string{Bucket},
		Now:         now,
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start OSS test server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return &Env{Server: srv, Endpoint: srv.URL()}
}

// Config returns the ossx configuration of a client on the test bucket.
func (e *Env) Config() ossx.Config {
	return ossx.Config{Endpoint: e.Endpoint, Bucket: Bucket,
		Credentials: ossx.NewCredentials(ossx.Key{AccessKeyID: AccessKeyID, AccessKeySecret: AccessKeySecret})}
}

// Bucket returns a new client (a new "instance") on the test bucket.
// Retries back off quickly so that fault tests stay fast.
func (e *Env) Bucket(t testing.TB) *ossx.Bucket {
	t.Helper()
	cfg := e.Config()
	cfg.Retry = retry.Policy{Attempts: 10, Base: time.Millisecond, Max: 20 * time.Millisecond, Reserve: 50 * time.Millisecond}
	b, err := ossx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
