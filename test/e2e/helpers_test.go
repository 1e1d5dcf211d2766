// Package e2e drives the whole system end to end: the functions built in
// process exactly as their mains build them (localstack.Options.InProcess),
// the embedded OSS-protocol server spoken to over HTTP by the real SDK, and
// the localstack front door. One stack serves the whole package (TestMain);
// each test uses MediaIds of its own, so tests run in parallel without
// seeing each other's state. Tests that change the OSS server's behaviour
// for everyone (fault injection) do not call t.Parallel, so that they run
// before the parallel tests resume; tests that need an OSS area nobody else
// writes to (dead-letter replay, a versioned bucket) start a small stack of
// their own. TestBinaries runs each built binary behind the FC emulator.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/redact"
	"mediastate/shared/signature"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
	"mediastate/test/schemacheck"
)

// stackFunctions are the functions under test: the four that keep media
// state and the sweep.
var stackFunctions = []string{"upload", "media", "transcode", "editing", "sweep"}

// stk is the stack every test shares.
var stk *localstack.Stack

// logs receives the output of every function of stk.
var logs = fcemu.NewLogBuffer(0)

// root is the repository root.
var root string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = localstack.FindRoot("."); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	stk, err = localstack.Start(ctx, localstack.Options{
		Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: stackFunctions, Log: logs, InProcess: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start stack:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: stack with %s built and started in %v\n", strings.Join(stk.Names(), ", "), time.Since(start).Round(time.Millisecond))
	code := m.Run()
	// Every signature any test sent must be absent from the functions'
	// output, whichever test sent it and whenever its line was written.
	if found := leaks(logs.String(), secretsToHide()); len(found) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: the functions' log output contains secrets: %s\n", strings.Join(found, "; "))
		code = 1
	}
	closeStart := time.Now()
	defer func() {
		fmt.Fprintf(os.Stderr, "e2e: stack closed in %v\n", time.Since(closeStart).Round(time.Millisecond))
	}()
	if err := stk.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: close stack:", err)
	}
	return code
}

// startStack starts a small stack of its own for a test that needs an OSS
// bucket nobody else uses. The binaries are the ones TestMain built
// (fcemu caches builds per process).
func startStack(t *testing.T, functions ...string) (*localstack.Stack, *fcemu.LogBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lb := fcemu.NewLogBuffer(0)
	s, err := localstack.Start(ctx, localstack.Options{
		Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: functions, Log: lb, InProcess: true,
	})
	if err != nil {
		t.Fatalf("start stack with %v: %v", functions, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
		if found := leaks(lb.String(), secretsToHide()); len(found) > 0 {
			t.Errorf("the functions' log output contains secrets: %s", strings.Join(found, "; "))
		}
	})
	return s, lb
}

// ---------------------------------------------------------------- logs

// waitLog blocks until cond holds for the functions' output so far, or
// fails the test after timeout.
func waitLog(t *testing.T, lb *fcemu.LogBuffer, timeout time.Duration, what string, cond func(out string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := lb.WaitFor(ctx, cond)
	if err != nil {
		t.Fatalf("timed out after %v waiting for %s in the functions' output", timeout, what)
	}
	return out
}

// leaks lists the secrets that occur in the output.
func leaks(out string, secrets []string) []string {
	var found []string
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			found = append(found, fmt.Sprintf("%q", s))
		}
	}
	return found
}

// jsonLines returns the output's lines that are JSON objects, decoded.
func jsonLines(out string) []map[string]any {
	var lines []map[string]any
	for _, ln := range strings.Split(out, "\n") {
		ln = strings.TrimSpace(ln)
		if !strings.HasPrefix(ln, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(ln), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// deliveryLines returns the "delivery" log lines of one invocation.
func deliveryLines(out, requestID string) []map[string]any {
	var lines []map[string]any
	for _, m := range jsonLines(out) {
		if m["msg"] == "delivery" && m["requestId"] == requestID {
			lines = append(lines, m)
		}
	}
	return lines
}

// ---------------------------------------------------------------- secrets

var sentSecrets struct {
	sync.Mutex
	m map[string]bool
}

// rememberSecret records a value (a signature sent) that must never appear
// in any log output or dead letter.
func rememberSecret(s string) {
	sentSecrets.Lock()
	defer sentSecrets.Unlock()
	if sentSecrets.m == nil {
		sentSecrets.m = map[string]bool{}
	}
	sentSecrets.m[s] = true
}

// secretsToHide returns the local keys and every signature sent so far.
func secretsToHide() []string {
	out := []string{localstack.LocalVODKey, localstack.LocalIMSKey, localstack.LocalLiveKey, localstack.LocalAccessKeySecret}
	sentSecrets.Lock()
	defer sentSecrets.Unlock()
	for s := range sentSecrets.m {
		out = append(out, s)
	}
	slices.Sort(out[4:])
	return out
}

// ---------------------------------------------------------------- ids and fixtures

var idSeq atomic.Uint64

// runTag distinguishes this run's ids from anything else in the bucket.
var runTag = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// newID returns a MediaId used by nobody else in this run: lower-case hex
// and letters, like the real ids.
func newID() string {
	return fmt.Sprintf("e2e%s%06x%s", runTag, idSeq.Add(1), randHex(6))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seed is one callback body of shared/callback/testdata.
type seed struct {
	name string
	body []byte
	ev   *callback.Event
}

var (
	seedsOnce sync.Once
	seedsAll  []seed
	seedsErr  error
)

// seeds returns every VOD and IMS seed fixture (not the Live ones, not
// invalid/, not the goldens), decoded.
func seeds(t *testing.T) []seed {
	t.Helper()
	seedsOnce.Do(func() {
		dir := filepath.Join(root, "shared", "callback", "testdata")
		entries, err := os.ReadDir(dir)
		if err != nil {
			seedsErr = err
			return
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".golden.json") || strings.HasPrefix(n, "live-") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				seedsErr = err
				return
			}
			ev, err := callback.Decode(b)
			if err != nil {
				seedsErr = fmt.Errorf("seed %s does not decode: %w", n, err)
				return
			}
			seedsAll = append(seedsAll, seed{name: strings.TrimSuffix(n, ".json"), body: b, ev: ev})
		}
	})
	if seedsErr != nil {
		t.Fatal(seedsErr)
	}
	if len(seedsAll) < 20 {
		t.Fatalf("found %d seed fixtures, expected the 21 VOD and IMS ones", len(seedsAll))
	}
	return seedsAll
}

// readSeed returns one fixture body of shared/callback/testdata.
func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "shared", "callback", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withID returns body with every occurrence of the id old replaced by new.
func withID(t *testing.T, body []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(body, []byte(old)) {
		t.Fatalf("body does not contain the id %q", old)
	}
	return bytes.ReplaceAll(body, []byte(old), []byte(new))
}

// mustDecode decodes a body the test built.
func mustDecode(t *testing.T, body []byte) *callback.Event {
	t.Helper()
	ev, err := callback.Decode(body)
	if err != nil {
		t.Fatalf("test body does not decode: %v\n%s", err, body)
	}
	return ev
}

// fold applies the bodies, in order, to the empty state, in process: the
// state the system must end up with.
func fold(t *testing.T, bodies ...[]byte) *state.Media {
	t.Helper()
	var m *state.Media
	for _, b := range bodies {
		var err error
		if m, _, err = state.Apply(m, mustDecode(t, b)); err != nil {
			t.Fatalf("fold: %v", err)
		}
	}
	return m
}

func marshalState(t *testing.T, m *state.Media) []byte {
	t.Helper()
	b, err := state.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------- HTTP

var client = &http.Client{Timeout: 90 * time.Second}

// response is what the front door answered.
type response struct {
	Status    int
	Header    http.Header
	Body      []byte
	RequestID string
}

func do(method, url string, body []byte, h http.Header) (*response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b, RequestID: res.Header.Get("X-Fc-Request-Id")}, nil
}

// postHTTP sends body to fn's HTTP trigger.
func postHTTP(s *localstack.Stack, fn string, body []byte, h http.Header) (*response, error) {
	return do(http.MethodPost, s.URL+"/"+fn, body, h)
}

// invoke invokes fn with payload as the raw event.
func invoke(s *localstack.Stack, fn string, payload []byte) (*response, error) {
	return do(http.MethodPost, s.URL+"/"+fn+"/invoke", payload, nil)
}

func mustPostHTTP(t *testing.T, s *localstack.Stack, fn string, body []byte, h http.Header) *response {
	t.Helper()
	r, err := postHTTP(s, fn, body, h)
	if err != nil {
		t.Fatalf("POST /%s: %v", fn, err)
	}
	return r
}

func mustInvoke(t *testing.T, s *localstack.Stack, fn string, payload []byte) *response {
	t.Helper()
	r, err := invoke(s, fn, payload)
	if err != nil {
		t.Fatalf("POST /%s/invoke: %v", fn, err)
	}
	return r
}

// schemeFor returns the signature scheme and key of a body's sender.
func schemeFor(src callback.Source) (signature.Scheme, string) {
	switch src {
	case callback.SourceIMS:
		return signature.IMS, localstack.LocalIMSKey
	case callback.SourceLive:
		return signature.Live, localstack.LocalLiveKey
	}
	return signature.VOD, localstack.LocalVODKey
}

// signedHeaders returns the headers a sender using scheme puts on a
// callback to fn, signed now with key; the signature is remembered as a
// secret.
func signedHeaders(s *localstack.Stack, fn string, scheme signature.Scheme, key string) http.Header {
	h := tt.SignedHeaders(scheme, s.URL+"/"+fn, key, time.Now())
	rememberSecret(h.Get(scheme.SignatureHeader))
	return h
}

// signedFor signs a callback of the body's own sender.
func signedFor(s *localstack.Stack, fn string, body []byte) (http.Header, error) {
	ev, err := callback.Decode(body)
	if err != nil {
		return nil, err
	}
	sc, key := schemeFor(ev.Source)
	return signedHeaders(s, fn, sc, key), nil
}

// httpBody is the JSON body of an HTTP trigger answer: the delivery's
// summary line.
type httpBody = pipeline.ItemSummary

func parseHTTPBody(r *response) (httpBody, error) {
	var b httpBody
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Outcome == "" {
		return b, fmt.Errorf("HTTP answer %d is not the pipeline's JSON body (%v): %s", r.Status, err, r.Body)
	}
	return b, nil
}

func mustHTTPBody(t *testing.T, r *response) httpBody {
	t.Helper()
	b, err := parseHTTPBody(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseSummary(r *response) (pipeline.Summary, error) {
	var s pipeline.Summary
	if e := r.Header.Get("X-Fc-Error-Type"); e != "" {
		return s, fmt.Errorf("invocation failed (%s): %s", e, r.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("invocation answer is not a Summary: %v: %s", err, r.Body)
	}
	return s, nil
}

func mustSummary(t *testing.T, r *response) pipeline.Summary {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("invoke answered %d: %s", r.Status, r.Body)
	}
	s, err := parseSummary(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fcError is the error document of a failed invocation.
type fcError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func mustFCError(t *testing.T, r *response) fcError {
	t.Helper()
	if r.Header.Get("X-Fc-Error-Type") == "" {
		t.Fatalf("expected a failed invocation (X-Fc-Error-Type), got %d %v: %s", r.Status, r.Header, r.Body)
	}
	var e fcError
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Message == "" {
		t.Fatalf("failed invocation without an error document (%v): %s", err, r.Body)
	}
	return e
}

// ---------------------------------------------------------------- deliveries

// itemResult is the outcome of one message of a delivery, whatever the
// envelope.
type itemResult struct {
	Outcome   pipeline.Outcome
	EventID   string
	ID        string
	Version   uint64
	Code      string
	Status    int // HTTP status, for HTTP trigger deliveries
	RequestID string
}

// shape is one way of delivering callback bodies to a function.
type shape struct {
	name string
	// batch: the envelope carries several bodies at once.
	batch bool
	send  func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error)
}

func httpSigned(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error) {
	h, err := signedFor(s, fn, bodies[0])
	if err != nil {
		return nil, err
	}
	r, err := postHTTP(s, fn, bodies[0], h)
	if err != nil {
		return nil, err
	}
	b, err := parseHTTPBody(r)
	if err != nil {
		return nil, err
	}
	return []itemResult{{Outcome: b.Outcome, EventID: b.EventID, ID: b.ID, Version: b.Version, Code: b.Code, Status: r.Status, RequestID: r.RequestID}}, nil
}

func invokeBatch(s *localstack.Stack, fn string, payload []byte, wantTrigger string, n int) ([]itemResult, error) {
	r, err := invoke(s, fn, payload)
	if err != nil {
		return nil, err
	}
	sum, err := parseSummary(r)
	if err != nil {
		return nil, err
	}
	if sum.Trigger != wantTrigger || len(sum.Results) != n {
		return nil, fmt.Errorf("summary says trigger %q with %d results, want %q with %d: %s", sum.Trigger, len(sum.Results), wantTrigger, n, r.Body)
	}
	out := make([]itemResult, n)
	for i, it := range sum.Results {
		if it.Index != i {
			return nil, fmt.Errorf("summary result %d has index %d: %s", i, it.Index, r.Body)
		}
		out[i] = itemResult{Outcome: it.Outcome, EventID: it.EventID, ID: it.ID, Version: it.Version, Code: it.Code, RequestID: r.RequestID}
	}
	return out, nil
}

func ebShape(name string, enc tt.Encoding, raw bool) shape {
	batch, trig := tt.CloudEvents, "eventbridge-mns"
	if raw {
		batch, trig = tt.RawData, "eventbridge-raw"
	}
	return shape{name: name, batch: true, send: func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error) {
		return invokeBatch(s, fn, batch(enc, bodies...), trig, len(bodies))
	}}
}

func topicShape(name string, base64Message bool) shape {
	return shape{name: name, send: func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error) {
		return invokeBatch(s, fn, tt.TopicJSON(tt.NewID(), bodies[0], base64Message), "mns-topic", 1)
	}}
}

func bareShape(name string, base64Body bool) shape {
	return shape{name: name, send: func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error) {
		p := bodies[0]
		if base64Body {
			p = tt.BareBase64(p)
		}
		return invokeBatch(s, fn, p, "bare", 1)
	}}
}

// httpEvent returns an FC 3.0 HTTP trigger event of a POST of body to fn
// with headers h, the body base64-encoded when b64body is set.
func httpEvent(s *localstack.Stack, fn string, body []byte, h http.Header, b64body bool) []byte {
	ev := tt.PostEvent(s.URL+"/"+fn, body, h, "127.0.0.1:40000", "e2e-"+randHex(8), time.Now())
	if b64body {
		ev.Body, ev.IsBase64Encoded = tt.B64(body), true
	}
	return tt.JSON(ev)
}

// httpEventShape invokes fn with an HTTP trigger event the test built
// (signed by the body's sender), as FC would for a request whose body it
// passes plain or base64-encoded.
func httpEventShape(name string, b64body bool) shape {
	return shape{name: name, send: func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error) {
		h, err := signedFor(s, fn, bodies[0])
		if err != nil {
			return nil, err
		}
		r, err := invoke(s, fn, httpEvent(s, fn, bodies[0], h, b64body))
		if err != nil {
			return nil, err
		}
		var ans trigger.HTTPResponse
		if err := json.Unmarshal(r.Body, &ans); err != nil || ans.StatusCode == 0 {
			return nil, fmt.Errorf("HTTP trigger event answered %d %s (%v), not an HTTP answer", r.Status, r.Body, err)
		}
		b, err := parseHTTPBody(&response{Status: ans.StatusCode, Body: []byte(ans.Body)})
		if err != nil {
			return nil, err
		}
		return []itemResult{{Outcome: b.Outcome, EventID: b.EventID, ID: b.ID, Version: b.Version, Code: b.Code, Status: ans.StatusCode, RequestID: r.RequestID}}, nil
	}}
}

// applyingShapes are the envelopes that deliver a body to be applied.
var applyingShapes = []shape{
	{name: "http-signed", send: httpSigned},
	httpEventShape("http-event-plain", false),
	httpEventShape("http-event-base64", true),
	ebShape("eventbridge-cloudevents-plain", tt.Plain, false),
	ebShape("eventbridge-cloudevents-base64", tt.Base64, false),
	ebShape("eventbridge-cloudevents-object", tt.Object, false),
	ebShape("eventbridge-rawdata-plain", tt.Plain, true),
	ebShape("eventbridge-rawdata-base64", tt.Base64, true),
	topicShape("mns-topic-json", false),
	topicShape("mns-topic-base64", true),
	bareShape("bare", false),
	bareShape("bare-base64", true),
}

// inParallel runs fn(0), ..., fn(n-1) on 8 goroutines and waits for them;
// fn guards what it shares.
func inParallel(n int, fn func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// ---------------------------------------------------------------- OSS state

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// objects lists every object under prefix in s's bucket.
func objects(t *testing.T, s *localstack.Stack, prefix string) []ossx.ObjectInfo {
	t.Helper()
	var all []ossx.ObjectInfo
	for token := ""; ; {
		page, err := s.Client.List(ctxT(t), ossx.ListOptions{Prefix: prefix, ContinuationToken: token})
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		all = append(all, page.Objects...)
		if token = page.NextToken; token == "" {
			return all
		}
	}
}

// listKeys lists the key of every object under prefix.
func listKeys(t *testing.T, s *localstack.Stack, prefix string) []string {
	t.Helper()
	var keys []string
	for _, o := range objects(t, s, prefix) {
		keys = append(keys, o.Key)
	}
	return keys
}

// versionKeys lists the stored versions of a media's state, newest first.
func versionKeys(t *testing.T, s *localstack.Stack, id string) []string {
	t.Helper()
	return listKeys(t, s, s.Prefix+"media/"+id+"/")
}

// seqOf returns the version number a version key encodes.
func seqOf(t *testing.T, key string) uint64 {
	t.Helper()
	name := key[strings.LastIndex(key, "/")+1:]
	inv, err := strconv.ParseUint(strings.TrimSuffix(name, ".json"), 16, 64)
	if err != nil || len(name) != 21 {
		t.Fatalf("unexpected version key %q", key)
	}
	return ^inv
}

func getObject(t *testing.T, s *localstack.Stack, key string) []byte {
	t.Helper()
	b, _, err := s.Client.GetObject(ctxT(t), key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// checkState asserts that the media's state is exactly want: the newest
// stored version byte for byte, the front door's answer, and the Reader's;
// every read is validated against the schema. It returns the versions.
func checkState(t *testing.T, s *localstack.Stack, id string, want *state.Media) []string {
	t.Helper()
	wantB := marshalState(t, want)
	schemacheck.Check(t, state.Schema, wantB)
	keys := versionKeys(t, s, id)
	if len(keys) == 0 {
		t.Fatalf("no state stored for %s", id)
	}
	got := getObject(t, s, keys[0])
	schemacheck.Check(t, state.Schema, got)
	if !bytes.Equal(got, wantB) {
		t.Fatalf("stored state of %s (%s) differs from the in-process fold\n got: %s\nwant: %s", id, keys[0], got, wantB)
	}
	if seq := seqOf(t, keys[0]); seq != uint64(len(keys)) {
		t.Fatalf("newest version of %s is %d but %d versions are stored: %v", id, seq, len(keys), keys)
	}

	r, err := do(http.MethodGet, s.URL+"/-/state/media/"+id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("GET /-/state/media/%s: %d %s", id, r.Status, r.Body)
	}
	schemacheck.Check(t, state.Schema, r.Body)
	var compact bytes.Buffer
	if err := json.Compact(&compact, r.Body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact.Bytes(), wantB) {
		t.Fatalf("front door state of %s differs from the in-process fold\n got: %s\nwant: %s", id, compact.Bytes(), wantB)
	}
	if v := r.Header.Get("X-State-Version"); v != strconv.Itoa(len(keys)) {
		t.Fatalf("front door X-State-Version %q, want %d", v, len(keys))
	}

	m, ver, err := s.Reader.Get(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if rb := marshalState(t, m); !bytes.Equal(rb, wantB) || ver != uint64(len(keys)) {
		t.Fatalf("Reader.Get(%s) = version %d %s, want version %d %s", id, ver, rb, len(keys), wantB)
	}
	return keys
}

// checkNoState asserts that nothing was ever stored for a media.
func checkNoState(t *testing.T, s *localstack.Stack, id string) {
	t.Helper()
	if keys := versionKeys(t, s, id); len(keys) != 0 {
		t.Fatalf("state of %s was written: %v", id, keys)
	}
	r, err := do(http.MethodGet, s.URL+"/-/state/media/"+id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusNotFound {
		t.Fatalf("GET /-/state/media/%s: %d %s, want 404", id, r.Status, r.Body)
	}
	if _, _, err := s.Reader.Get(ctxT(t), id); !errors.Is(err, statestore.ErrNotFound) {
		t.Fatalf("Reader.Get(%s): %v, want ErrNotFound", id, err)
	}
}

// ---------------------------------------------------------------- dead letters

// letter reads the dead letter fn kept for a delivery of kind whose body
// (or raw envelope) is body, with the letter object's raw bytes.
func letter(t *testing.T, s *localstack.Stack, fn, kind string, body []byte) (*deadletter.Letter, []byte) {
	t.Helper()
	dl := deadletter.New(s.Client, s.Prefix, fn)
	key, err := dl.Find(ctxT(t), kind, nil, body)
	if err != nil {
		t.Fatalf("dead letter of %s (%s, %d bytes): %v", fn, kind, len(body), err)
	}
	raw, _, err := s.Client.GetObject(ctxT(t), key)
	if err != nil {
		t.Fatalf("dead letter %s of %s (%s, %d bytes): %v", key, fn, kind, len(body), err)
	}
	l, err := dl.Get(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Function != fn || l.Trigger != kind {
		t.Fatalf("dead letter %s: version %d function %q trigger %q; want 1, %q, %q", key, l.Version, l.Function, l.Trigger, fn, kind)
	}
	if l.Truncated {
		// Over the body limit: an excerpt, the size and the SHA-256.
		sum := sha256.Sum256(body)
		if l.BodySize != len(body) || l.BodySHA256 != hex.EncodeToString(sum[:]) || !bytes.HasPrefix(body, l.Raw()) ||
			len(l.Raw()) != deadletter.ExcerptSize {
			t.Fatalf("dead letter %s: truncated body of %d bytes (size %d, sha %s) is not an excerpt of the %d bytes delivered",
				key, len(l.Raw()), l.BodySize, l.BodySHA256, len(body))
		}
	} else if l.EnvelopeRedacted {
		// An HTTP trigger envelope whose secret headers were replaced: the
		// same envelope but for those.
		if !sameEnvelopeButSecrets(t, l.Raw(), body) {
			t.Fatalf("dead letter %s: redacted envelope\n%s\nis not the delivered one\n%s", key, l.Raw(), body)
		}
	} else if !bytes.Equal(l.Raw(), body) {
		t.Fatalf("dead letter %s: body of %d bytes is not the %d bytes delivered", key, len(l.Raw()), len(body))
	}
	if l.ReceivedAt.IsZero() || time.Since(l.ReceivedAt) > 10*time.Minute {
		t.Fatalf("dead letter %s: receivedAt %v", key, l.ReceivedAt)
	}
	for _, sec := range secretsToHide() {
		if bytes.Contains(raw, []byte(sec)) {
			t.Fatalf("dead letter %s contains the secret %q", key, sec)
		}
	}
	return l, raw
}

// sameEnvelopeButSecrets reports whether two FC HTTP trigger events are
// equal except for the values of secret headers, which are redacted in got.
func sameEnvelopeButSecrets(t *testing.T, got, sent []byte) bool {
	t.Helper()
	var g, s map[string]any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(sent, &s) != nil {
		return false
	}
	gh, _ := g["headers"].(map[string]any)
	sh, _ := s["headers"].(map[string]any)
	if len(gh) != len(sh) {
		return false
	}
	for k := range sh {
		if redact.Secret(k) {
			if gh[k] != redact.Redacted {
				return false
			}
			delete(gh, k)
			delete(sh, k)
		}
	}
	return reflect.DeepEqual(g, s)
}

// noLetter asserts that fn kept no dead letter for a delivery.
func noLetter(t *testing.T, s *localstack.Stack, fn, kind string, body []byte) {
	t.Helper()
	key, err := deadletter.New(s.Client, s.Prefix, fn).Find(ctxT(t), kind, nil, body)
	if !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("dead letter %s: %v, want none", key, err)
	}
}

// checkRedacted asserts that a letter of an HTTP delivery kept the
// signature header without its value.
func checkRedacted(t *testing.T, l *deadletter.Letter, sc signature.Scheme, ts string) {
	t.Helper()
	if got := l.Headers.Values(sc.SignatureHeader); len(got) != 1 || got[0] != "[redacted]" {
		t.Fatalf("letter header %s = %q, want it redacted; headers %v", sc.SignatureHeader, got, l.Headers)
	}
	if got := l.Headers.Get(sc.TimestampHeader); ts != "" && got != ts {
		t.Fatalf("letter header %s = %q, want %q", sc.TimestampHeader, got, ts)
	}
}

// defaultLogWait bounds how long a test waits for a function's log line to
// be copied out of its stdout.
const defaultLogWait = 10 * time.Second
