package describe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/trigger"
	"mediastate/test/osstest"
)

var now = time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	ok := map[string]string{"DomainName": "d.com", "StartTime": "2024-04-10T10:00:00Z", "EndTime": "2024-04-10T11:00:00Z"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<del>" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	p, e := Parse(ok, now)
	if e != nil || p.PageSize != 20 || p.PageNumber != 1 || p.Domain != "d.com" || !p.Start.Equal(now.Add(-2*time.Hour)) || !p.End.Equal(now.Add(-time.Hour)) {
		t.Fatalf("defaults: %+v %v", p, e)
	}
	p, e = Parse(with("PageSize", "500", "PageNumber", "100000", "Status", "failed", "AppName", "a", "StreamName", "s",
		"StartTime", "2024-04-03T12:00:00Z"), now)
	if e != nil || p.PageSize != 500 || p.PageNumber != 100000 || p.Status != "failed" || p.App != "a" || p.Stream != "s" {
		t.Fatalf("full: %+v %v", p, e)
	}
	cases := []struct {
		vals map[string]string
		code string
		in   string
	}{
		{with("DomainName", "<del>"), CodeMissingParams, "DomainName is missing"},
		{with("DomainName", " "), CodeMissingParams, "DomainName is missing"},
		{with("StartTime", "<del>"), CodeMissingParams, "StartTime is missing"},
		{with("EndTime", "<del>"), CodeMissingParams, "EndTime is missing"},
		{with("DomainName", "a/b"), CodeMalformedParams, "DomainName is malformed"},
		{with("AppName", "a b"), CodeMalformedParams, "AppName is malformed"},
		{with("StreamName", "x%y"), CodeMalformedParams, "StreamName is malformed"},
		{with("Status", "Success"), CodeMalformedParams, "Status is malformed"},
		{with("StartTime", "2024-04-10 10:00:00"), CodeMalformedParams, "StartTime is malformed"},
		{with("EndTime", "2024-04-10T11:00:00+08:00"), CodeMalformedParams, "EndTime is malformed"},
		{with("EndTime", "2024-04-10T10:00:00Z"), CodeMalformedParams, "EndTime must be later than StartTime"},
		{with("EndTime", "2024-04-10T09:00:00Z"), CodeMalformedParams, "EndTime must be later than StartTime"},
		{with("StartTime", "2024-04-03T11:59:59Z"), CodeMalformedParams, "StartTime is out of range"},
		{with("PageSize", "0"), CodeMalformedParams, "PageSize is malformed"},
		{with("PageSize", "501"), CodeMalformedParams, "PageSize is malformed"},
		{with("PageSize", "ten"), CodeMalformedParams, "PageSize is malformed"},
		{with("PageNumber", "0"), CodeMalformedParams, "PageNumber is malformed"},
		{with("PageNumber", "100001"), CodeMalformedParams, "PageNumber is malformed"},
	}
	for _, c := range cases {
		_, e := Parse(c.vals, now)
		if e == nil || e.Code != c.code || e.Status != http.StatusBadRequest || !strings.Contains(e.Detail, c.in) ||
			!strings.HasSuffix(e.Detail, ", please check and try again later.") {
			t.Errorf("Parse(%v) = %v, want %s about %q", c.vals, e, c.code, c.in)
		}
	}
}

func TestCollect(t *testing.T) {
	q := url.Values{"DomainName": {"q.com"}, "PageSize": {"5"}}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	vals, e := collect(q, jsonHdr, []byte(`{"DomainName":"b.com","PageNumber":3,"AppName":null}`))
	if e != nil || vals["DomainName"] != "b.com" || vals["PageNumber"] != "3" || vals["PageSize"] != "5" || vals["AppName"] != "" {
		t.Fatalf("JSON body: %v %v", vals, e)
	}
	vals, e = collect(q, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("DomainName=f.com&Status=failed"))
	if e != nil || vals["DomainName"] != "f.com" || vals["Status"] != "failed" {
		t.Fatalf("form body: %v %v", vals, e)
	}
	for _, bad := range []string{`{"DomainName":`, `[1]`, `{"PageSize":[20]}`} {
		_, e := collect(nil, jsonHdr, []byte(bad))
		if e == nil || (e.Code != CodeInvalidParams && e.Code != CodeMalformedParams) {
			t.Errorf("body %s: %v", bad, e)
		}
	}
	if _, e := collect(nil, jsonHdr, []byte(`{"DomainName":`)); e == nil || e.Code != CodeInvalidParams || !strings.HasPrefix(e.Detail, "Invalid JSON") {
		t.Errorf("invalid JSON: %v", e)
	}
	if _, e := collect(nil, nil, []byte(`{"x":`)); e == nil || e.Code != CodeInvalidParams {
		t.Errorf("sniffed invalid JSON: %v", e)
	}
}

func TestAuthorize(t *testing.T) {
	h := &Handler{Auth: Auth{Token: "s3cret"}}
	for _, c := range []struct {
		header string
		status int
	}{
		{"", 401}, {"Bearer", 401}, {"Basic czNjcmV0", 401}, {"Bearer wrong", 403}, {"Bearer s3cre", 403},
		{"Bearer s3cret", 0}, {"bearer s3cret", 0},
	} {
		hdr := http.Header{}
		if c.header != "" {
			hdr.Set("Authorization", c.header)
		}
		e := h.authorize(hdr)
		if (c.status == 0) != (e == nil) || (e != nil && e.Status != c.status) {
			t.Errorf("Authorization %q: %v, want %d", c.header, e, c.status)
		}
	}
	if e := (&Handler{}).authorize(http.Header{"Authorization": {"Bearer x"}}); e == nil || e.Status != 403 {
		t.Errorf("no token configured: %v, want 403", e)
	}
	// QUERY_AUTH=function fails closed: FC passes nothing verifiable, so
	// the token is required too, in TokenHeader, next to FC's signature.
	fcSig := "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=abc"
	for _, c := range []struct {
		name   string
		auth   Auth
		h      http.Header
		status int
	}{
		{"platform without token configured", Auth{Platform: true}, http.Header{"Authorization": {fcSig}}, 403},
		{"platform, no FC signature", Auth{Token: "t", Platform: true}, http.Header{TokenHeader: {"t"}}, 401},
		{"platform, no token", Auth{Token: "t", Platform: true}, http.Header{"Authorization": {fcSig}}, 401},
		{"platform, wrong token", Auth{Token: "t", Platform: true}, http.Header{"Authorization": {fcSig}, TokenHeader: {"u"}}, 403},
		{"platform, both", Auth{Token: "t", Platform: true}, http.Header{"Authorization": {fcSig}, TokenHeader: {"t"}}, 0},
		{"token header without platform", Auth{Token: "t"}, http.Header{TokenHeader: {"t"}}, 0},
	} {
		e := (&Handler{Auth: c.auth}).authorize(c.h)
		if (c.status == 0) != (e == nil) || (e != nil && e.Status != c.status) {
			t.Errorf("%s: %v, want %d", c.name, e, c.status)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestServe(t *testing.T) {
	env := osstest.Memory(nil)
	store, err := notify.NewStore(env.Bucket(t), "p/", notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		occ := live.Occurrence{Domain: "d.com", EventID: "e1-0000000000000000000000000000000" + string(rune('0'+i)), Seq: 1,
			ReceivedAt: now.Add(-time.Duration(i) * time.Minute)}
		if _, err := store.Put(ctx, occ, notify.Record{DomainName: "d.com", AppName: "a", StreamName: "s", NotifyResult: notify.ResultSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	h := &Handler{Records: store, Auth: Auth{Token: "tok"}, Now: func() time.Time { return now }}
	auth := http.Header{"Authorization": {"Bearer tok"}}
	serve := func(method string, q url.Values, hdr http.Header, body string) (int, map[string]json.RawMessage) {
		resp := h.Serve(ctx, &trigger.HTTPRequest{Method: method, Query: q}, hdr, []byte(body))
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			t.Fatalf("answer %q: %v", resp.Body, err)
		}
		var rid string
		json.Unmarshal(m["RequestId"], &rid)
		if !uuidRE.MatchString(rid) || resp.Headers["Content-Type"] != "application/json; charset=utf-8" {
			t.Fatalf("RequestId %q, headers %v", rid, resp.Headers)
		}
		return resp.StatusCode, m
	}
	q := url.Values{"DomainName": {"d.com"}, "StartTime": {"2024-04-10T11:00:00Z"}, "EndTime": {"2024-04-10T12:00:01Z"}, "PageSize": {"2"}}
	status, m := serve("GET", q, auth, "")
	var resp Response
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &resp)
	if status != 200 || resp.TotalNum != 3 || resp.TotalPage != 2 || len(resp.CallbackList) != 2 || resp.Code != 0 || resp.Msg != "ok" ||
		resp.PageNum != 1 || resp.PageSize != 2 || resp.CallbackList[0].NotifyTime != "2024-04-10T12:00:00Z" {
		t.Fatalf("GET: %d %s", status, b)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) != 8 {
		t.Fatalf("answer fields %v", keys)
	}
	// Empty result: CallbackList is [] not null.
	q2 := url.Values{"DomainName": {"none.com"}, "StartTime": {"2024-04-10T11:00:00Z"}, "EndTime": {"2024-04-10T12:00:00Z"}}
	if status, m := serve("GET", q2, auth, ""); status != 200 || string(m["CallbackList"]) != "[]" || string(m["TotalPage"]) != "0" {
		t.Fatalf("empty: %d %s %s", status, m["CallbackList"], m["TotalPage"])
	}
	// POST JSON overrides the query string.
	status, m = serve("POST", url.Values{"DomainName": {"none.com"}}, http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}},
		`{"DomainName":"d.com","StartTime":"2024-04-10T11:00:00Z","EndTime":"2024-04-10T12:00:01Z","PageSize":1,"PageNumber":3}`)
	if status != 200 || string(m["TotalNum"]) != "3" || string(m["PageNum"]) != "3" {
		t.Fatalf("POST JSON: %d %v", status, m)
	}
	for _, c := range []struct {
		method string
		hdr    http.Header
		body   string
		status int
		code   string
	}{
		{"GET", http.Header{}, "", 401, CodeUnauthorized},
		{"GET", http.Header{"Authorization": {"Bearer nope"}}, "", 403, CodeForbidden},
		{"DELETE", auth, "", 405, CodeMethodNotAllowed},
		{"POST", http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}}, "{", 400, CodeInvalidParams},
	} {
		status, m := serve(c.method, q, c.hdr, c.body)
		if status != c.status || string(m["Code"]) != `"`+c.code+`"` || len(m) != 3 {
			t.Errorf("%s %v %q: %d %v, want %d %s", c.method, c.hdr, c.body, status, m, c.status, c.code)
		}
	}
	// Two answers never share a RequestId.
	_, m1 := serve("GET", q, auth, "")
	_, m2 := serve("GET", q, auth, "")
	if string(m1["RequestId"]) == string(m2["RequestId"]) {
		t.Fatal("RequestId repeated")
	}
}
