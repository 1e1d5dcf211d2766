package ossx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

func TestBucketOperations(t *testing.T) {
	env := osstest.Start(t)
	b := env.Bucket(t)
	c := ossx.NewCounter()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = ossx.WithCounter(ctx, c)

	if err := b.PutObject(ctx, "k/1", []byte(`{"a":1}`), ossx.PutOptions{ForbidOverwrite: true, Meta: map[string]string{"writer": "w1"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.PutObject(ctx, "k/1", []byte(`{}`), ossx.PutOptions{ForbidOverwrite: true}); !errors.Is(err, ossx.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	body, info, err := b.GetObject(ctx, "k/1")
	if err != nil || string(body) != `{"a":1}` || info.Meta["writer"] != "w1" || !strings.HasPrefix(info.ETag, `"`) || info.LastModified.IsZero() {
		t.Fatalf("GetObject = %s %+v %v", body, info, err)
	}
	if h, err := b.HeadObject(ctx, "k/1"); err != nil || h.Size != 7 || h.Meta["writer"] != "w1" {
		t.Fatalf("HeadObject = %+v %v", h, err)
	}
	if _, _, err := b.GetObject(ctx, "k/none"); !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	if _, err := b.AppendObject(ctx, "log", 5, []byte("x"), ossx.PutOptions{}); !errors.Is(err, ossx.ErrPositionMismatch) {
		t.Fatalf("append at a wrong position: %v", err)
	}
	if next, err := b.AppendObject(ctx, "log", 0, []byte("abc"), ossx.PutOptions{}); err != nil || next != 3 {
		t.Fatalf("append: %d %v", next, err)
	}
	var keys []string
	for i := 0; i < 1005; i++ {
		keys = append(keys, fmt.Sprintf("many/%04d", i))
		if err := b.PutObject(ctx, keys[i], []byte("x"), ossx.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := b.List(ctx, ossx.ListOptions{Prefix: "many/"})
	if err != nil || len(page.Objects) != 1000 || page.NextToken == "" {
		t.Fatalf("first page: %d objects, token %q, %v", len(page.Objects), page.NextToken, err)
	}
	page, err = b.List(ctx, ossx.ListOptions{Prefix: "many/", ContinuationToken: page.NextToken})
	if err != nil || len(page.Objects) != 5 || page.NextToken != "" {
		t.Fatalf("second page: %d objects, token %q, %v", len(page.Objects), page.NextToken, err)
	}
	if p, err := b.List(ctx, ossx.ListOptions{Delimiter: "/", MaxKeys: 10}); err != nil || strings.Join(p.CommonPrefixes, ",") != "k/,many/" {
		t.Fatalf("delimiter listing: %+v %v", p, err)
	}
	if err := b.Delete(ctx, keys...); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.List(ctx, ossx.ListOptions{Prefix: "many/"}); len(p.Objects) != 0 {
		t.Fatalf("%d objects left after Delete", len(p.Objects))
	}
	if c.Get(ossx.OpDeleteMulti) != 2 || c.Get(ossx.OpPut) != 1007 || c.Get(ossx.OpAppend) != 2 {
		t.Fatalf("counter: %s", c)
	}
	if b.Totals().Total() < c.Total() {
		t.Fatalf("process totals %d below the context counter %d", b.Totals().Total(), c.Total())
	}
}

func TestTransientAndConfigErrors(t *testing.T) {
	env := osstest.Start(t)
	b := env.Bucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	err := b.PutObject(ctx, "k", []byte("x"), ossx.PutOptions{})
	if !apierr.Is(err, apierr.StorageUnavailable) || apierr.IsPermanent(err) {
		t.Fatalf("503: %v, want transient StorageUnavailable", err)
	}
	env.Server.SetFaults(ossserver.Faults{})
	cfg := env.Config()
	cfg.Credentials = ossx.NewCredentials(ossx.Key{AccessKeyID: osstest.AccessKeyID, AccessKeySecret: "wrong"})
	wrong, err := ossx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.PutObject(ctx, "k", []byte("x"), ossx.PutOptions{})
	if !apierr.Is(err, apierr.StorageUnavailable) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("bad secret: %v", err)
	}
	for _, c := range []ossx.Config{{Bucket: "b", Credentials: cfg.Credentials}, {Endpoint: "http://x", Credentials: cfg.Credentials}, {Endpoint: "http://x", Bucket: "b"}} {
		if _, err := ossx.New(c); !apierr.Is(err, apierr.InvalidConfig) {
			t.Errorf("New(%+v) = %v, want InvalidConfig", c, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	c := ossx.NewCredentials(ossx.Key{})
	if c.Valid() {
		t.Fatal("empty credentials are valid")
	}
	c.Set(ossx.Key{AccessKeyID: "a", AccessKeySecret: "s", SecurityToken: "t"})
	c.Set(ossx.Key{}) // an invocation without role credentials keeps the current ones
	got := c.GetCredentials()
	if !c.Valid() || got.GetAccessKeyID() != "a" || got.GetSecurityToken() != "t" {
		t.Fatalf("credentials %+v", got)
	}
}

// TestVersioningHonoursDeadline: the SDK's own GetBucketVersioning ignores
// the context; ours must give up at the caller's deadline.
func TestVersioningHonoursDeadline(t *testing.T) {
	env := osstest.Start(t)
	b := env.Bucket(t)
	if err := env.Server.SetFaults(ossserver.Faults{Latency: 3 * time.Second, Ops: []string{"GetBucketVersioning"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Versioning(ctx)
	if took := time.Since(start); err == nil || took > time.Second {
		t.Fatalf("Versioning returned %v after %v; want an error at the 300 ms deadline", err, took)
	}
	env.Server.SetFaults(ossserver.Faults{})
	if st, err := b.Versioning(context.Background()); err != nil || st != "" {
		t.Fatalf("Versioning = %q, %v", st, err)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	env := map[string]string{"OSS_ACCESS_KEY_ID": "ak", "OSS_ACCESS_KEY_SECRET": "sk", "OSS_SESSION_TOKEN": "tok"}
	c := ossx.CredentialsFromEnv(func(k string) string { return env[k] })
	if k := c.GetCredentials(); !c.Valid() || k.GetAccessKeyID() != "ak" || k.GetAccessKeySecret() != "sk" || k.GetSecurityToken() != "tok" {
		t.Fatalf("credentials %+v", k)
	}
	if ossx.CredentialsFromEnv(func(string) string { return "" }).Valid() {
		t.Fatal("empty environment gave valid credentials")
	}
}
