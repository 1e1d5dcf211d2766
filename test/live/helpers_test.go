// Package live holds the end-to-end tests of the liverecord and
// liverecordquery functions: their real binaries behind the local stack
// (package localstack), fed signed HTTP callbacks and MNS-shaped
// invocations, and queried over HTTP.
package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/live/describe"
	"mediastate/shared/live/notify"
	"mediastate/shared/signature"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
)

const queryToken = "e2e-query-token"

var (
	logs    = fcemu.NewLogBuffer(0)
	stack   *localstack.Stack
	records *notify.Store
	streams *live.Reader
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0",
		Functions: []string{"liverecord", "liverecordquery"}, InProcess: true, Env: []string{"QUERY_TOKEN=" + queryToken}, Timeout: 20 * time.Second, Log: logs})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		os.Exit(1)
	}
	stack = s
	if records, err = notify.NewStore(s.Client, s.Prefix, notify.Options{}); err == nil {
		streams, err = live.NewReader(s.Client, s.Prefix)
	}
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- the functions' logs (tail) ---\n%s\n", logs.Tail(6000))
	}
	s.Close()
	os.Exit(code)
}

func callbackURL() string { return stack.URL + "/liverecord" }

var client = &http.Client{Timeout: 30 * time.Second}

// answer is an HTTP exchange's outcome.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// doErr sends req; it is safe in any goroutine.
func doErr(req *http.Request) (answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, resp.Header, b}, nil
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	a, err := doErr(req)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signedReq is a Live callback signed now with key (the local key when "").
func signedReq(body, key string) *http.Request {
	return signedAs(signature.Live, body, key, time.Now())
}

// signedAs is a callback to liverecord signed by scheme at the time at with
// key (the scheme's local key when "").
func signedAs(scheme signature.Scheme, body, key string, at time.Time) *http.Request {
	if key == "" {
		switch scheme.Name {
		case signature.VOD.Name:
			key = localstack.LocalVODKey
		case signature.IMS.Name:
			key = localstack.LocalIMSKey
		default:
			key = localstack.LocalLiveKey
		}
	}
	req, _ := http.NewRequest(http.MethodPost, callbackURL(), strings.NewReader(body))
	req.Header = tt.SignedHeaders(scheme, callbackURL(), key, at)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return req
}

// sendSigned posts a Live callback signed with key (the local key when "").
func sendSigned(t testing.TB, body, key string) answer {
	t.Helper()
	return do(t, signedReq(body, key))
}

// post posts body with the given headers to the liverecord HTTP trigger.
func post(t testing.TB, body string, headers map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, callbackURL(), strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

// summary is the answer to a non-HTTP invocation.
type summary struct {
	Trigger string `json:"trigger"`
	Results []struct {
		Index   int    `json:"index"`
		Outcome string `json:"outcome"`
		Type    string `json:"eventType"`
		EventID string `json:"eventId"`
		Code    string `json:"code"`
	} `json:"results"`
}

// invokeErr sends an MNS-shaped invocation payload (built with
// triggertest); it is safe in any goroutine.
func invokeErr(payload []byte) (summary, error) {
	req, _ := http.NewRequest(http.MethodPost, callbackURL()+"/invoke", bytes.NewReader(payload))
	a, err := doErr(req)
	if err != nil {
		return summary{}, err
	}
	if a.status != 200 || a.header.Get("X-Fc-Error-Type") != "" {
		return summary{}, fmt.Errorf("invoke: %d %s %s", a.status, a.header.Get("X-Fc-Error-Type"), a.body)
	}
	var s summary
	if err := json.Unmarshal(a.body, &s); err != nil || len(s.Results) == 0 {
		return summary{}, fmt.Errorf("invoke answer %s: %v", a.body, err)
	}
	return s, nil
}

// invoke sends an MNS-shaped invocation payload.
func invoke(t testing.TB, payload []byte) summary {
	t.Helper()
	s, err := invokeErr(payload)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileBody(domain, stream, uri string, stop int64) string {
	return fmt.Sprintf(`{"domain":%q,"app":"app1","stream":%q,"uri":%q,"duration":60.5,"start_time":%d,"stop_time":%d}`,
		domain, stream, uri, stop-60, stop)
}

// afterReceived returns once the clock is past the millisecond in which
// the callback body was first received. Status callbacks carry no time:
// they are ordered by receive time, to the millisecond, and a tie by event
// id, so a test that needs a status to be newer than the one before sends
// it after this.
func afterReceived(t testing.TB, domain, body string) {
	t.Helper()
	for ms := stored(t, domain, body).ReceivedAtMs; time.Now().UnixMilli() <= ms; {
		runtime.Gosched()
	}
}

func statusBody(domain, stream, event string) string {
	return fmt.Sprintf(`{"domain":%q,"app":"app1","stream":%q,"event":%q}`, domain, stream, event)
}

func identity(t testing.TB, body string) string {
	t.Helper()
	id, err := callback.Identity([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// queryResult is a decoded query answer (success or error fields).
type queryResult struct {
	status int
	describe.Response
	Message string
	ErrCode string
	raw     []byte
}

// query runs DescribeLiveRecordNotifyRecords with GET and the token
// (queryToken when token is "", none when "-").
func query(t testing.TB, params url.Values, token string) queryResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, stack.URL+"/liverecordquery?"+params.Encode(), nil)
	return queryReq(t, req, token)
}

func queryReq(t testing.TB, req *http.Request, token string) queryResult {
	t.Helper()
	switch token {
	case "":
		req.Header.Set("Authorization", "Bearer "+queryToken)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+token)
	}
	a := do(t, req)
	qr := queryResult{status: a.status, raw: a.body}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("query answer %d %q: %v", a.status, a.body, err)
	}
	if a.status == 200 {
		dec := json.NewDecoder(bytes.NewReader(a.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&qr.Response); err != nil {
			t.Fatalf("query answer %s: %v", a.body, err)
		}
		return qr
	}
	var e describe.ErrorResponse
	if err := json.Unmarshal(a.body, &e); err != nil || len(m) != 3 {
		t.Fatalf("error answer %s: %v", a.body, err)
	}
	qr.ErrCode, qr.Message, qr.RequestId = e.Code, e.Message, e.RequestId
	return qr
}

// window returns query parameters for a domain and a window around now.
func window(domain string, from, to time.Time, kv ...string) url.Values {
	v := url.Values{"DomainName": {domain}, "StartTime": {notify.FormatTime(from)}, "EndTime": {notify.FormatTime(to)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// recent is a query window that surely holds what was just sent.
func recent(domain string, kv ...string) url.Values {
	now := time.Now().UTC()
	v := window(domain, now.Add(-10*time.Minute), now.Add(10*time.Minute), kv...)
	if v.Get("PageSize") == "" {
		v.Set("PageSize", "500")
	}
	return v
}

// stored returns the stored record of the first occurrence of body.
func stored(t testing.TB, domain, body string) *notify.Stored {
	t.Helper()
	st, err := records.Get(context.Background(), domain, identity(t, body), 1)
	if err != nil {
		t.Fatalf("record of %s: %v", body, err)
	}
	return st
}

// orderKey is the order the query returns records in (the domain index key).
func orderKey(st *notify.Stored) string {
	res := "f"
	if st.Record.NotifyResult == notify.ResultSuccess {
		res = "s"
	}
	seg := func(s string) string {
		if callback.ValidateID("x", s) != nil {
			return ""
		}
		return s
	}
	return fmt.Sprintf("%013d/%s/%s/%s/%s.%d", 9999999999999-st.ReceivedAtMs, res, seg(st.Record.AppName), seg(st.Record.StreamName), st.EventID, st.Seq)
}

func sortStored(sts []*notify.Stored) {
	slices.SortFunc(sts, func(a, b *notify.Stored) int { return strings.Compare(orderKey(a), orderKey(b)) })
}

func decodeEvent(t testing.TB, body string) *callback.Event {
	t.Helper()
	e, err := callback.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var domainSeq atomic.Int64

// uniqueDomain returns a domain no other test (or earlier run with -count)
// of this process uses, so that tests sharing the stack never see each
// other's records or streams.
func uniqueDomain(name string) string {
	return fmt.Sprintf("%s-%d.example.com", name, domainSeq.Add(1))
}
