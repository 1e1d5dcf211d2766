package localstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediastate/shared/snapshot"
	"mediastate/test/fcemu"
	"mediastate/test/ossserver"
)

// TestSourceHash checks that the binary cache key changes with any source
// a binary is built from, and not with tests or test data.
func TestSourceHash(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("functions/f/main.go", "package main\nfunc main() {}\n")
	write("shared/a/a.go", "package a\n")
	hash := func() string {
		t.Helper()
		h, err := sourceHash(dir)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := hash()
	if again := hash(); again != base {
		t.Fatalf("hash is not stable: %s then %s", base, again)
	}
	unchanged := map[string]string{
		"a test":         "shared/a/a_test.go",
		"test data":      "shared/a/testdata/x.go",
		"a hidden dir":   ".localstack/x.go",
		"a non-Go file":  "shared/a/notes.md",
		"the build tree": "build/f/x.go",
	}
	for name, rel := range unchanged {
		write(rel, "package a\n// changed\n")
		if h := hash(); h != base {
			t.Errorf("adding %s (%s) changed the hash", name, rel)
		}
	}
	for name, rel := range map[string]string{"a shared package": "shared/a/a.go", "go.mod": "go.mod", "go.sum": "go.sum", "a new file": "shared/b/b.go"} {
		write(rel, "package a\n// changed "+name+"\n")
		h := hash()
		if h == base {
			t.Errorf("changing %s (%s) left the hash as it was", name, rel)
		}
		base = h
	}
}

// TestBinaryCacheAndBanner starts a stack with the sweep function twice on
// one binary cache: the second start builds nothing. The banner carries
// what OSS clients and query callers need, and the sweep's "run it now"
// command works.
func TestBinaryCacheAndBanner(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func(token string) *Stack {
		t.Helper()
		s, err := Start(ctx, Options{Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: []string{SweepFunction},
			BinCache: cache, QueryToken: token, SweepEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := start("")
	if len(first.Cached) != 0 {
		t.Errorf("first start with an empty cache reports cached binaries %v", first.Cached)
	}
	banner := first.Banner()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := start("my-token")
	defer second.Close()
	if !slices.Equal(second.Cached, []string{SweepFunction}) {
		t.Errorf("second start: cached %v, want [%s]", second.Cached, SweepFunction)
	}
	for _, want := range []string{
		"\nquery token      " + LocalQueryToken + "\n",
		"path-style addressing required",
		"V4 with region " + first.OSSRegion,
		"x-oss-date",
		"timer trigger, every 1h0m0s; run it now:",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if first.OSSRegion == "" {
		t.Error("no OSS region")
	}
	if strings.Contains(banner, "/sweep  (HTTP trigger)") {
		t.Errorf("banner lists sweep as an HTTP trigger:\n%s", banner)
	}
	if b := second.Banner(); !strings.Contains(b, "\nquery token      my-token\n") {
		t.Errorf("banner does not show the configured token:\n%s", b)
	}

	// The banner's command: POST the timer event to /sweep/invoke.
	var cmd string
	for _, l := range strings.Split(second.Banner(), "\n") {
		if strings.Contains(l, "/sweep/invoke") {
			cmd = l
		}
	}
	_, rest, ok := strings.Cut(cmd, "-d '")
	if !ok {
		t.Fatalf("no curl -d command for the sweep in the banner:\n%s", second.Banner())
	}
	payload, _, _ := strings.Cut(rest, "'")
	res, err := http.Post(second.URL+"/sweep/invoke", "application/json", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	var rep struct {
		Media *struct{ IDs int } `json:"media"`
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Fc-Error-Type") != "" || json.Unmarshal(out, &rep) != nil || rep.Media == nil {
		t.Fatalf("sweep run by the banner's command: %d %s", res.StatusCode, out)
	}
}

// TestSweepTimer: with SweepEvery set, the stack invokes the sweep function
// by itself, as FC's timer trigger does, and each run writes a snapshot.
func TestSweepTimer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs := fcemu.NewLogBuffer(0)
	s, err := Start(ctx, Options{Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: []string{SweepFunction}, InProcess: true,
		SweepEvery: 20 * time.Millisecond, Log: logs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := logs.WaitFor(ctx, func(out string) bool { return strings.Count(out, `"msg":"sweep"`) >= 2 })
	if err != nil || strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, "local sweep timer") {
		t.Fatalf("timer runs of the sweep: %v\n%s", err, out)
	}
	if _, err := snapshot.Latest(ctx, s.Client, s.Prefix); err != nil {
		t.Errorf("no snapshot after timer runs of the sweep: %v", err)
	}
	if !strings.Contains(s.Banner(), "timer trigger, every 20ms") {
		t.Errorf("banner does not show the timer:\n%s", s.Banner())
	}
}

// TestInProcess starts every function in process: nothing is built, each
// answers through Invoke and the front door as its binary does (output
// JSON, errors as the SDK's error document), and an invocation that
// outlives the function's timeout is answered FunctionTimeout.
func TestInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", InProcess: true, Instances: 2, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	all, err := FunctionNames(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Names(), all) || len(s.Functions) != 0 || len(all) != 7 {
		t.Fatalf("in process: names %v (want %v), emulated %v", s.Names(), all, s.Functions)
	}
	if _, err := s.Invoke(ctx, "nothing", nil, ""); err == nil {
		t.Error("invoking an unknown function did not fail")
	}

	var instances []int
	for i := range 2 {
		res, err := s.Invoke(ctx, SweepFunction, TimerEvent("hourly", time.Now()), "sweep-"+strconv.Itoa(i))
		if err != nil || res.Error != nil || res.RequestID != "sweep-"+strconv.Itoa(i) {
			t.Fatalf("sweep: %v %+v", err, res)
		}
		var rep snapshot.Meta
		if err := json.Unmarshal(res.Payload, &struct{ Snapshot *snapshot.Meta }{&rep}); err != nil || rep.Key == "" {
			t.Fatalf("sweep answer %s: %v", res.Payload, err)
		}
		instances = append(instances, res.Instance)
	}
	if !slices.Equal(instances, []int{0, 1}) {
		t.Errorf("instances %v, want each of the two in turn", instances)
	}

	// liverecordquery answers HTTP trigger events only: any other event is
	// the function's error, as the SDK posts it.
	res, err := s.Invoke(ctx, "liverecordquery", []byte(`{"triggerName":"x"}`), "")
	var doc fcemu.InvokeError
	if err != nil || res.Error == nil || res.Error.Type != "Error" || json.Unmarshal(res.Payload, &doc) != nil || doc.Message != res.Error.Message {
		t.Fatalf("query of a timer event: %v %+v %s", err, res, res.Payload)
	}
	r, err := http.Get(s.URL + "/liverecordquery?DomainName=x")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
		t.Errorf("query without a token through the front door: %d", r.StatusCode)
	}

	// The sweep outlives its timeout when listing is slow.
	if err := s.OSS.SetFaults(ossserver.Faults{Latency: 3 * time.Second, Ops: []string{"ListObjectsV2"}}); err != nil {
		t.Fatal(err)
	}
	res, err = s.Invoke(ctx, SweepFunction, TimerEvent("hourly", time.Now()), "")
	if err != nil || res.Error == nil || res.Error.Type != fcemu.ErrorTypeTimeout {
		t.Fatalf("slow sweep: %v %+v", err, res)
	}
}
