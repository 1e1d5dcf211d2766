package ossconformance_test

import (
	"os"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossconformance"
	"mediastate/test/ossserver"
)

const (
	testBucket = "conformance-bucket"
	testAK     = "conformance-ak"
	testSK     = "conformance-sk"
)

// startServer starts an in-process server for one test.
func startServer(t *testing.T) *ossserver.Server {
	t.Helper()
	srv, err := ossserver.Start(ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: testAK, AccessKeySecret: testSK}},
		Buckets:     []string{testBucket},
		Logf:        t.Logf,
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting ossserver: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing ossserver: %v", err)
		}
	})
	return srv
}

// serverTarget is a Target on an in-process server.
func serverTarget(t *testing.T, srv *ossserver.Server, options ...oss.ClientOption) ossconformance.Target {
	t.Helper()
	tgt, err := ossconformance.NewTarget(srv.Endpoint(), testBucket, testAK, testSK, options...)
	if err != nil {
		t.Fatal(err)
	}
	tgt.CanToggleVersioning = true
	tgt.ResetVersioning = func() error { return srv.SetVersioning(testBucket, "") }
	return tgt
}

func TestServerSignatureV1(t *testing.T) {
	srv := startServer(t)
	ossconformance.Run(t, serverTarget(t, srv))
	if st := srv.Stats(); st.Requests["Unsupported"] != 0 {
		t.Errorf("the suite made %d requests the server does not implement", st.Requests["Unsupported"])
	}
}

func TestServerSignatureV4(t *testing.T) {
	srv := startServer(t)
	ossconformance.Run(t, serverTarget(t, srv, oss.AuthVersion(oss.AuthV4), oss.Region(srv.Region())))
}

// TestRealBucket runs the suite against Alibaba Cloud OSS when
// OSS_TEST_ENDPOINT, OSS_TEST_BUCKET, OSS_TEST_ACCESS_KEY_ID and
// OSS_TEST_ACCESS_KEY_SECRET are set. OSS_TEST_REGION, when set, selects
// signature V4; OSS_TEST_SECURITY_TOKEN adds an STS token. The bucket must
// never have had versioning enabled; the suite deletes what it writes.
func TestRealBucket(t *testing.T) {
	env := map[string]string{}
	for _, k := range []string{"OSS_TEST_ENDPOINT", "OSS_TEST_BUCKET", "OSS_TEST_ACCESS_KEY_ID", "OSS_TEST_ACCESS_KEY_SECRET"} {
		env[k] = os.Getenv(k)
		if env[k] == "" {
			t.Skipf("skipping the real-OSS conformance run: %s is not set (it needs OSS_TEST_ENDPOINT, "+
				"OSS_TEST_BUCKET, OSS_TEST_ACCESS_KEY_ID and OSS_TEST_ACCESS_KEY_SECRET)", k)
		}
	}
	var options []oss.ClientOption
	if region := os.Getenv("OSS_TEST_REGION"); region != "" {
		options = append(options, oss.AuthVersion(oss.AuthV4), oss.Region(region))
	}
	if token := os.Getenv("OSS_TEST_SECURITY_TOKEN"); token != "" {
		options = append(options, oss.SecurityToken(token))
	}
	tgt, err := ossconformance.NewTarget(env["OSS_TEST_ENDPOINT"], env["OSS_TEST_BUCKET"],
		env["OSS_TEST_ACCESS_KEY_ID"], env["OSS_TEST_ACCESS_KEY_SECRET"], options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("running against %s bucket %s under %s", env["OSS_TEST_ENDPOINT"], env["OSS_TEST_BUCKET"], tgt.Prefix)
	ossconformance.Run(t, tgt)
}
