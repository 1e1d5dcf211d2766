package ossx_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/shared/ossx/drivertest"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

// TestSDKDriverOnTestServer runs the conformance and protocol suites on
// the SDK driver against the OSS test server, with signatures V1 and V4.
func TestSDKDriverOnTestServer(t *testing.T) {
	for _, region := range []string{"", ossserver.DefaultRegion} {
		t.Run("region="+region, func(t *testing.T) {
			env := osstest.Start(t)
			cfg := env.Config()
			cfg.Region = region
			d, err := ossx.NewSDKDriver(cfg)
			if err != nil {
				t.Fatal(err)
			}
			drivertest.RunConformanceTests(t, drivertest.Harness{Driver: d, Prefix: drivertest.UniquePrefix(),
				SetVersioning: func(s string) error { return env.Server.SetVersioning(osstest.Bucket, s) },
				SetFaults:     env.Server.SetFaults})
			var opts []oss.ClientOption
			if region != "" {
				opts = append(opts, oss.AuthVersion(oss.AuthV4), oss.Region(region))
			}
			drivertest.RunProtocolTests(t, protocolTarget(t, env.Endpoint, osstest.Bucket, osstest.AccessKeyID, osstest.AccessKeySecret, "", opts...))
			if n := env.Server.Stats().Requests["Unsupported"]; n != 0 {
				t.Errorf("the suites made %d requests the server does not implement", n)
			}
		})
	}
}

func protocolTarget(t *testing.T, endpoint, bucket, ak, sk, prefix string, opts ...oss.ClientOption) drivertest.Protocol {
	t.Helper()
	p := drivertest.Protocol{Prefix: prefix}
	for _, h := range []struct {
		b      **oss.Bucket
		secret string
	}{{&p.Bucket, sk}, {&p.WrongSecret, sk + "-wrong"}} {
		c, err := oss.New(endpoint, ak, h.secret, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if *h.b, err = c.Bucket(bucket); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestSDKDriverOnRealOSS runs the suites against Alibaba Cloud OSS when
// OSS_TEST_ENDPOINT, OSS_TEST_BUCKET, OSS_TEST_ACCESS_KEY_ID and
// OSS_TEST_ACCESS_KEY_SECRET are set; OSS_TEST_REGION selects signature
// V4 and OSS_TEST_SECURITY_TOKEN adds an STS token. The bucket must never
// have had versioning enabled; the suites delete what they write.
func TestSDKDriverOnRealOSS(t *testing.T) {
	env := map[string]string{}
	for _, k := range []string{"OSS_TEST_ENDPOINT", "OSS_TEST_BUCKET", "OSS_TEST_ACCESS_KEY_ID", "OSS_TEST_ACCESS_KEY_SECRET", "OSS_TEST_REGION", "OSS_TEST_SECURITY_TOKEN"} {
		env[k] = os.Getenv(k)
	}
	for _, k := range []string{"OSS_TEST_ENDPOINT", "OSS_TEST_BUCKET", "OSS_TEST_ACCESS_KEY_ID", "OSS_TEST_ACCESS_KEY_SECRET"} {
		if env[k] == "" {
			t.Skipf("no real OSS bucket to test: %s is not set (set OSS_TEST_ENDPOINT, OSS_TEST_BUCKET, OSS_TEST_ACCESS_KEY_ID and OSS_TEST_ACCESS_KEY_SECRET)", k)
		}
	}
	key := ossx.Key{AccessKeyID: env["OSS_TEST_ACCESS_KEY_ID"], AccessKeySecret: env["OSS_TEST_ACCESS_KEY_SECRET"], SecurityToken: env["OSS_TEST_SECURITY_TOKEN"]}
	d, err := ossx.NewSDKDriver(ossx.Config{Endpoint: env["OSS_TEST_ENDPOINT"], Bucket: env["OSS_TEST_BUCKET"], Region: env["OSS_TEST_REGION"],
		Credentials: ossx.NewCredentials(key)})
	if err != nil {
		t.Fatal(err)
	}
	prefix := drivertest.UniquePrefix()
	t.Logf("running against %s bucket %s under %s", env["OSS_TEST_ENDPOINT"], env["OSS_TEST_BUCKET"], prefix)
	drivertest.RunConformanceTests(t, drivertest.Harness{Driver: d, Prefix: prefix})
	var opts []oss.ClientOption
	if r := env["OSS_TEST_REGION"]; r != "" {
		opts = append(opts, oss.AuthVersion(oss.AuthV4), oss.Region(r))
	}
	if tok := key.SecurityToken; tok != "" {
		opts = append(opts, oss.SecurityToken(tok))
	}
	drivertest.RunProtocolTests(t, protocolTarget(t, env["OSS_TEST_ENDPOINT"], env["OSS_TEST_BUCKET"], key.AccessKeyID, key.AccessKeySecret, prefix, opts...))
}

// TestCounter: a Bucket counts each attempt by operation, in its totals
// and in the context's counter.
func TestCounter(t *testing.T) {
	env := osstest.Memory(nil)
	b := env.Bucket(t)
	c := ossx.NewCounter()
	ctx := ossx.WithCounter(context.Background(), c)
	for _, k := range []string{"a", "b"} {
		if err := b.PutObject(ctx, k, []byte("x"), ossx.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 1, Ops: []string{"GetObject"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.GetObject(ctx, "a"); !apierr.Is(err, apierr.StorageUnavailable) || apierr.IsPermanent(err) {
		t.Fatalf("GetObject under 503s: %v, want transient StorageUnavailable", err)
	}
	_, _ = b.HeadObject(ctx, "a")
	_, _ = b.List(ctx, ossx.ListOptions{})
	_ = b.Delete(ctx, "a")
	_ = b.Delete(ctx, "a", "b")
	_, _ = b.Versioning(ctx)
	if got, want := c.String(), "DeleteObject=1 DeleteObjects=1 GetBucketVersioning=1 GetObject=10 HeadObject=1 ListObjectsV2=1 PutObject=2"; got != want {
		t.Fatalf("counter %s, want %s", got, want)
	}
	if b.Totals().String() != c.String() || c.Total() != 17 {
		t.Fatalf("totals %s (%d), context %s", b.Totals(), b.Totals().Total(), c)
	}
}

func TestConfigErrors(t *testing.T) {
	env := osstest.Start(t)
	cfg := env.Config()
	cfg.Credentials = ossx.NewCredentials(ossx.Key{AccessKeyID: osstest.AccessKeyID, AccessKeySecret: "wrong"})
	wrong, err := ossx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.PutObject(context.Background(), "k", []byte("x"), ossx.PutOptions{})
	if !apierr.Is(err, apierr.StorageUnavailable) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("bad secret: %v", err)
	}
	for _, c := range []ossx.Config{{Bucket: "b", Credentials: cfg.Credentials}, {Endpoint: "http://x", Credentials: cfg.Credentials}, {Endpoint: "http://x", Bucket: "b"}} {
		if _, err := ossx.New(c); !apierr.Is(err, apierr.InvalidConfig) {
			t.Errorf("New(%+v) = %v, want InvalidConfig", c, err)
		}
	}
}

// TestSDKDriverErrors: the SDK driver's sentinels keep the OSS answer.
func TestSDKDriverErrors(t *testing.T) {
	b := osstest.Start(t).Bucket(t)
	ctx := context.Background()
	if err := b.PutObject(ctx, "k", []byte("x"), ossx.PutOptions{ForbidOverwrite: true}); err != nil {
		t.Fatal(err)
	}
	err := b.PutObject(ctx, "k", []byte("x"), ossx.PutOptions{ForbidOverwrite: true})
	var se oss.ServiceError
	if !errors.Is(err, ossx.ErrExists) || !errors.As(err, &se) || se.StatusCode != 409 || se.RequestID == "" {
		t.Fatalf("second create: %v, want ErrExists with the 409 answer", err)
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
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
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
