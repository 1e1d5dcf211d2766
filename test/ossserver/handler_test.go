package ossserver_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

// TestHandlerUnderHTTPTest serves the handler with net/http/httptest
// instead of Start, faults included.
func TestHandlerUnderHTTPTest(t *testing.T) {
	srv, err := ossserver.New(ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: testAK, AccessKeySecret: testSK}},
		Buckets:     []string{bucketName},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	if srv.URL() != "" {
		t.Errorf("URL of an unstarted server = %q", srv.URL())
	}
	c, err := oss.New(hs.URL, testAK, testSK)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Bucket(bucketName)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutObject("k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	wantContent(t, b, "k", "v")
	if err := srv.SetFaults(ossserver.Faults{ResetRate: 1, Ops: []string{"PutObject"}}); err != nil {
		t.Fatal(err)
	}
	wantTransportError(t, "PutObject with reset faults", b.PutObject("k", strings.NewReader("w")))
	wantContent(t, b, "k", "v")
}

func TestNewValidatesOptions(t *testing.T) {
	for name, opts := range map[string]ossserver.Options{
		"no credentials":   {},
		"empty secret":     {Credentials: []ossserver.Credential{{AccessKeyID: "a"}}},
		"duplicate key id": {Credentials: []ossserver.Credential{{AccessKeyID: "a", AccessKeySecret: "x"}, {AccessKeyID: "a", AccessKeySecret: "y"}}},
		"bad bucket name":  {Credentials: []ossserver.Credential{{AccessKeyID: "a", AccessKeySecret: "x"}}, Buckets: []string{"Bad_Name"}},
	} {
		if srv, err := ossserver.New(opts); err == nil {
			srv.Close()
			t.Errorf("New with %s succeeded", name)
		}
	}
}
