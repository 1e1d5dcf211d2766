// Package osstest provides OSS buckets for tests: on the in-memory driver
// (Memory), for package tests, or on the OSS protocol test server through
// the real SDK (Start), for the tests that keep the protocol covered. Both
// inject the same faults and count requests the same way.
package osstest

import (
	"testing"
	"time"

	"mediastate/shared/ossx"
	"mediastate/shared/ossx/memstore"
	"mediastate/shared/ossx/ossfault"
	"mediastate/shared/retry"
	"mediastate/test/ossserver"
)

// The credentials and bucket every test server is set up with.
const (
	AccessKeyID     = "LTAItestkey0001"
	AccessKeySecret = "test-secret-0001"
	Bucket          = "mediastate-test"
)

// Backend is what a test controls of the storage: faults, counters and
// the versioning status. *ossserver.Server is one.
type Backend interface {
	SetFaults(ossfault.Faults) error
	Stats() ossfault.Stats
	ResetStats()
	SetVersioning(bucket, status string) error
	Close() error
}

// Env is a running storage.
type Env struct {
	Server Backend
	// Endpoint is the test server's; "" for Memory.
	Endpoint string
	driver   ossx.Driver
}

// Memory returns in-memory storage whose objects are stamped by now (nil:
// the real clock).
func Memory(now func() time.Time) *Env {
	m := &memory{store: memstore.New(memstore.Options{Now: now}), Injector: ossfault.NewInjector()}
	return &Env{Server: m, driver: ossfault.Wrap(m.store, m.Injector)}
}

// memory is the Backend of Memory.
type memory struct {
	*ossfault.Injector
	store *memstore.Store
}

func (m *memory) SetFaults(f ossfault.Faults) error           { return m.Set(f) }
func (m *memory) SetVersioning(_ string, status string) error { return m.store.SetVersioning(status) }
func (m *memory) Close() error                                { return nil }

// Start starts a test server on loopback, closed at test end.
func Start(t testing.TB) *Env {
	t.Helper()
	srv, err := ossserver.Start(ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: AccessKeyID, AccessKeySecret: AccessKeySecret}},
		Buckets:     []string{Bucket},
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start OSS test server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return &Env{Server: srv, Endpoint: srv.URL()}
}

// Config returns the ossx configuration of a client on the test server's
// bucket.
func (e *Env) Config() ossx.Config {
	return ossx.Config{Endpoint: e.Endpoint, Bucket: Bucket,
		Credentials: ossx.NewCredentials(ossx.Key{AccessKeyID: AccessKeyID, AccessKeySecret: AccessKeySecret})}
}

// Fast is the retry policy of Bucket: quick backoff, so that fault tests
// stay fast.
var Fast = retry.Policy{Attempts: 10, Base: time.Millisecond, Max: 20 * time.Millisecond, Reserve: 50 * time.Millisecond}

// Bucket returns a new client (a new "instance") on the bucket, retrying
// with p (Fast when omitted).
func (e *Env) Bucket(t testing.TB, p ...retry.Policy) *ossx.Bucket {
	t.Helper()
	policy := Fast
	if len(p) > 0 {
		policy = p[0]
	}
	if e.driver != nil {
		return ossx.NewBucket(e.driver, Bucket, policy)
	}
	cfg := e.Config()
	cfg.Retry = policy
	b, err := ossx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
