package ossserver_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

func TestStatsCountOperations(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v")
	srv.ResetStats()
	if st := srv.Stats(); len(st.Requests) != 0 || len(st.Errors) != 0 {
		t.Fatalf("after ResetStats: %+v", st)
	}

	mustPut(t, b, "k", "v")
	_ = put(b, "k", "v", ossForbid()) // FileAlreadyExists
	if _, err := get(b, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetObjectDetailedMeta("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetObjectMeta("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendObject("a", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListObjectsV2(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListObjects(); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteObject("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteObjects([]string{"k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client.GetBucketVersioning(bucketName); err != nil {
		t.Fatal(err)
	}
	_ = b.SetObjectACL("k", oss.ACLPrivate)

	want := map[string]int64{
		"PutObject": 2, "GetObject": 1, "HeadObject": 1, "GetObjectMeta": 1, "AppendObject": 1,
		"ListObjectsV2": 1, "ListObjects": 1, "DeleteObject": 1, "DeleteObjects": 1,
		"GetBucketVersioning": 1, "Unsupported": 1,
	}
	st := srv.Stats()
	if !maps.Equal(st.Requests, want) {
		t.Errorf("Requests = %v\nwant %v", st.Requests, want)
	}
	if wantErr := map[string]int64{"FileAlreadyExists": 1, "NotImplemented": 1}; !maps.Equal(st.Errors, wantErr) {
		t.Errorf("Errors = %v, want %v", st.Errors, wantErr)
	}
}

func adminCall(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func TestAdminEndpoint(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v")
	base := srv.URL() + "/-/"

	var st ossserver.Stats
	if code := adminCall(t, "GET", base+"stats", "", &st); code != 200 || st.Requests["PutObject"] != 1 {
		t.Fatalf("GET /-/stats = %d %+v", code, st)
	}

	var f ossserver.Faults
	code := adminCall(t, "PUT", base+"faults", `{"error503Rate": 1, "ops": ["GetObject"], "latency": "1ms"}`, &f)
	if code != 200 || f.Error503Rate != 1 || len(f.Ops) != 1 {
		t.Fatalf("PUT /-/faults = %d %+v", code, f)
	}
	if got := srv.CurrentFaults(); got.Error503Rate != 1 || got.Latency.Milliseconds() != 1 {
		t.Fatalf("CurrentFaults = %+v", got)
	}
	_, err := get(b, "k")
	wantCode(t, "GetObject with admin-set faults", err, http.StatusServiceUnavailable, "ServiceUnavailable")
	if code := adminCall(t, "POST", base+"faults", `{}`, nil); code != 200 {
		t.Fatalf("clearing faults: %d", code)
	}
	wantContent(t, b, "k", "v")

	for _, bad := range []string{`{"error503Rate": 2}`, `{"ops": ["Nope"]}`, `{"unknown": 1}`, `not json`} {
		if code := adminCall(t, "PUT", base+"faults", bad, nil); code != http.StatusBadRequest {
			t.Errorf("PUT /-/faults %s = %d, want 400", bad, code)
		}
	}

	if code := adminCall(t, "PUT", base+"versioning", `{"bucket": "`+bucketName+`", "status": "Enabled"}`, nil); code != 200 {
		t.Fatalf("PUT /-/versioning = %d", code)
	}
	if v, _ := srv.Versioning(bucketName); v != "Enabled" {
		t.Errorf("versioning = %q after admin call", v)
	}

	var reset ossserver.Stats
	if code := adminCall(t, "POST", base+"stats/reset", "", &reset); code != 200 || len(reset.Requests) != 0 {
		t.Fatalf("POST /-/stats/reset = %d %+v", code, reset)
	}
	if code := adminCall(t, "GET", base+"nothing", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /-/nothing = %d", code)
	}
	if code := adminCall(t, "GET", base+"healthz", "", nil); code != 200 {
		t.Errorf("GET /-/healthz = %d", code)
	}
	if st := srv.Stats(); len(st.Requests) != 0 {
		t.Errorf("admin requests were counted: %v", st.Requests)
	}
}
