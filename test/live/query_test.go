package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"mediastate/shared/live"
	"mediastate/shared/live/notify"
)

// seedRecords writes records with controlled receive times straight into
// the stack's OSS through the package API, as the function would have:
// n records of domain spread over the last 7 days (the newest an hour ago),
// with two apps, three streams, both results, and ties to the second and
// to the millisecond. It returns them as stored, in query order.
func seedRecords(t *testing.T, domain string, n int) []*notify.Stored {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(n), 99))
	now := time.Now().UTC()
	var all []*notify.Stored
	for i := 0; i < n; i++ {
		at := now.Add(-time.Hour - time.Duration(r.Int64N(int64(6*24*time.Hour+22*time.Hour)))).Truncate(time.Millisecond)
		if i%25 == 1 {
			at = all[i-1].ReceivedAt() // same millisecond
		} else if i%25 == 2 {
			at = all[i-1].ReceivedAt().Truncate(time.Second).Add(time.Duration(r.IntN(1000)) * time.Millisecond) // same second
		}
		rec := notify.Record{DomainName: domain, AppName: []string{"a1", "a2"}[r.IntN(2)], StreamName: []string{"s1", "s2", "s3"}[r.IntN(3)],
			NotifyType: "record_started", NotifyUrl: callbackURL(), NotifyHeader: "{}", NotifyResult: []string{"success", "failed"}[r.IntN(2)],
			Description: "success"}
		rec.NotifyContent = fmt.Sprintf(`{"domain":%q,"app":%q,"stream":%q,"event":"record_started","n":%d}`, domain, rec.AppName, rec.StreamName, i)
		rec.NotifyResponse = fmt.Sprintf(`{"outcome":"applied","n":%d}`, i)
		occ := live.Occurrence{Domain: domain, EventID: identity(t, rec.NotifyContent), Seq: 1, ReceivedAt: at}
		all = append(all, &notify.Stored{EventID: occ.EventID, Seq: 1, ReceivedAtMs: at.UnixMilli(), Record: rec})
	}
	var g errgroup.Group
	for _, st := range all {
		g.Go(func() (err error) {
			st.Record, err = records.Put(ctx, live.Occurrence{Domain: domain, EventID: st.EventID, Seq: 1, ReceivedAt: st.ReceivedAt()}, st.Record)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	sortStored(all)
	return all
}

func filter(all []*notify.Stored, from, to time.Time, app, stream, status string) []notify.Record {
	var out []notify.Record
	for _, st := range all {
		r := st.Record
		if st.ReceivedAtMs >= from.UnixMilli() && st.ReceivedAtMs < to.UnixMilli() && (app == "" || app == r.AppName) &&
			(stream == "" || stream == r.StreamName) && (status == "" || status == r.NotifyResult) {
			out = append(out, r)
		}
	}
	return out
}

var requestIDRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// TestQueries: every filter, paging edge cases, the 7-day limit, GET and
// POST (form and JSON), over records with controlled times.
func TestQueries(t *testing.T) {
	domain := uniqueDomain("query")
	all := seedRecords(t, domain, 1100)
	now := time.Now().UTC()
	from, to := now.Add(-7*24*time.Hour+time.Minute), now
	seen := map[string]bool{}
	check := func(name string, q queryResult, want []notify.Record, pageSize, pageNum int) {
		t.Helper()
		if q.status != 200 || q.Code != 0 || q.Msg != "ok" {
			t.Fatalf("%s: %d %s", name, q.status, q.raw)
		}
		if !requestIDRE.MatchString(q.RequestId) || seen[q.RequestId] {
			t.Fatalf("%s: RequestId %q (fresh UUID expected)", name, q.RequestId)
		}
		seen[q.RequestId] = true
		lo := min(len(want), (pageNum-1)*pageSize)
		hi := min(len(want), lo+pageSize)
		if q.TotalNum != len(want) || q.TotalPage != (len(want)+pageSize-1)/pageSize || q.PageNum != pageNum || q.PageSize != pageSize {
			t.Fatalf("%s: TotalNum %d TotalPage %d PageNum %d PageSize %d; want %d, %d, %d, %d", name, q.TotalNum, q.TotalPage, q.PageNum, q.PageSize,
				len(want), (len(want)+pageSize-1)/pageSize, pageNum, pageSize)
		}
		if q.CallbackList == nil || !slices.Equal(q.CallbackList, want[lo:hi]) {
			t.Fatalf("%s: page %d holds %d records, not the expected %d (or not in order)", name, pageNum, len(q.CallbackList), hi-lo)
		}
	}

	// Every filter and combination (TotalNum over all, the first 50 read).
	for _, app := range []string{"", "a1", "a2"} {
		for _, stream := range []string{"", "s1", "s3"} {
			for _, status := range []string{"", "success", "failed"} {
				p := window(domain, from, to, "PageSize", "50")
				for k, v := range map[string]string{"AppName": app, "StreamName": stream, "Status": status} {
					if v != "" {
						p.Set(k, v)
					}
				}
				check(fmt.Sprintf("app %q stream %q status %q", app, stream, status), query(t, p, ""), filter(all, from, to, app, stream, status), 50, 1)
			}
		}
	}
	// Paging: the pages of 500 concatenate to the whole ordered list; the
	// last page is partial; a page beyond the end is empty.
	want := filter(all, from, to, "", "", "")
	if len(want) != 1100 {
		t.Fatalf("seeded %d records in the window, want 1100", len(want))
	}
	var got []notify.Record
	for page := 1; page <= 4; page++ {
		q := query(t, window(domain, from, to, "PageSize", "500", "PageNumber", fmt.Sprint(page)), "")
		check(fmt.Sprintf("page %d of 500", page), q, want, 500, page)
		got = append(got, q.CallbackList...)
	}
	if !slices.Equal(got, want) {
		t.Fatal("pages do not concatenate to the full list")
	}
	check("default page size", query(t, window(domain, from, to), ""), want, 20, 1)
	check("PageSize 1, page 1100", query(t, window(domain, from, to, "PageSize", "1", "PageNumber", "1100"), ""), want, 1, 1100)
	check("PageNumber 100000", query(t, window(domain, from, to, "PageSize", "500", "PageNumber", "100000"), ""), want, 500, 100000)
	for i := 1; i < len(want); i++ {
		if want[i-1].NotifyTime < want[i].NotifyTime {
			t.Fatalf("not newest first at %d: %s then %s", i, want[i-1].NotifyTime, want[i].NotifyTime)
		}
	}
	// A one-hour window: bounds are StartTime <= NotifyTime < EndTime.
	mid := time.UnixMilli(all[len(all)/2].ReceivedAtMs).UTC().Truncate(time.Second)
	h1, h2 := mid.Add(-30*time.Minute), mid.Add(30*time.Minute)
	check("one hour", query(t, window(domain, h1, h2, "PageSize", "500"), ""), filter(all, h1, h2, "", "", ""), 500, 1)
	edge := time.UnixMilli(all[10].ReceivedAtMs).UTC().Truncate(time.Second)
	check("window starting on a record's second", query(t, window(domain, edge, edge.Add(time.Second), "PageSize", "500"), ""),
		filter(all, edge, edge.Add(time.Second), "", "", ""), 500, 1)
	check("other domain", query(t, window("nothing.example.com", from, to), ""), nil, 20, 1)

	// POST: a form body and a JSON body (numbers as numbers), which win over
	// the query string.
	form := window(domain, from, to, "AppName", "a2", "PageSize", "7", "PageNumber", "2")
	req, _ := http.NewRequest(http.MethodPost, stack.URL+"/liverecordquery?DomainName=ignored.example.com", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	check("POST form", queryReq(t, req, ""), filter(all, from, to, "a2", "", ""), 7, 2)
	js := fmt.Sprintf(`{"DomainName":%q,"StreamName":"s2","Status":"failed","StartTime":%q,"EndTime":%q,"PageSize":3,"PageNumber":1,"RegionId":"cn-shanghai"}`,
		domain, notify.FormatTime(from), notify.FormatTime(to))
	req, _ = http.NewRequest(http.MethodPost, stack.URL+"/liverecordquery", strings.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	check("POST JSON", queryReq(t, req, ""), filter(all, from, to, "", "s2", "failed"), 3, 1)

	// One query's OSS cost through the function: a one-hour window.
	stack.OSS.ResetStats()
	q := query(t, window(domain, h1, h2), "")
	st := stack.OSS.Stats().Requests
	t.Logf("one-hour window through liverecordquery (%d records stored, %d in the window, page of %d): %v",
		len(all), q.TotalNum, len(q.CallbackList), st)
	if st["ListObjectsV2"] != 1 || st["GetObject"] != int64(len(q.CallbackList)) || len(st) != 2 {
		t.Errorf("one-hour query cost %v, want 1 LIST and one GET per returned record", st)
	}
}

// TestQueryErrors: every error code, the 7-day limit, authentication.
func TestQueryErrors(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	ok := func(kv ...string) url.Values { return window("query.example.com", now.Add(-time.Hour), now, kv...) }
	del := func(v url.Values, k string) url.Values { v.Del(k); return v }
	cases := []struct {
		name   string
		params url.Values
		code   string
		in     string
	}{
		{"no DomainName", del(ok(), "DomainName"), "MissingParams", "DomainName"},
		{"no StartTime", del(ok(), "StartTime"), "MissingParams", "StartTime"},
		{"no EndTime", del(ok(), "EndTime"), "MissingParams", "EndTime"},
		{"bad time", ok("StartTime", "2024-01-01"), "MalformedParams", "StartTime"},
		{"local time", ok("EndTime", now.Format("2006-01-02T15:04:05+08:00")), "MalformedParams", "EndTime"},
		{"end before start", ok("EndTime", notify.FormatTime(now.Add(-2*time.Hour))), "MalformedParams", "EndTime must be later"},
		{"end equals start", ok("EndTime", notify.FormatTime(now.Add(-time.Hour))), "MalformedParams", "EndTime must be later"},
		{"older than 7 days", ok("StartTime", notify.FormatTime(now.Add(-7*24*time.Hour-time.Hour))), "MalformedParams", "last 7 days"},
		{"PageSize 0", ok("PageSize", "0"), "MalformedParams", "PageSize"},
		{"PageSize 501", ok("PageSize", "501"), "MalformedParams", "PageSize"},
		{"PageNumber 0", ok("PageNumber", "0"), "MalformedParams", "PageNumber"},
		{"PageNumber 100001", ok("PageNumber", "100001"), "MalformedParams", "PageNumber"},
		{"Status", ok("Status", "ok"), "MalformedParams", "Status"},
		{"AppName", ok("AppName", "a/b"), "MalformedParams", "AppName"},
		{"DomainName", ok("DomainName", "../x"), "MalformedParams", "DomainName"},
	}
	ids := map[string]bool{}
	for _, c := range cases {
		q := query(t, c.params, "")
		if q.status != 400 || q.ErrCode != c.code || !strings.Contains(q.Message, c.in) || !strings.HasSuffix(q.Message, ", please check and try again later.") ||
			!requestIDRE.MatchString(q.RequestId) || ids[q.RequestId] {
			t.Errorf("%s: %d %s, want 400 %s about %q", c.name, q.status, q.raw, c.code, c.in)
		}
		ids[q.RequestId] = true
	}
	// The 7-day limit is exact to the second.
	if q := query(t, ok("StartTime", notify.FormatTime(now.Add(-7*24*time.Hour+2*time.Second))), ""); q.status != 200 {
		t.Errorf("start 7 days ago: %d %s", q.status, q.raw)
	}
	req, _ := http.NewRequest(http.MethodPost, stack.URL+"/liverecordquery", strings.NewReader(`{"DomainName":`))
	req.Header.Set("Content-Type", "application/json")
	if q := queryReq(t, req, ""); q.status != 400 || q.ErrCode != "InvalidParams" || !strings.HasPrefix(q.Message, "Invalid JSON") {
		t.Errorf("invalid JSON: %d %s", q.status, q.raw)
	}
	// Authentication comes first: a valid query without the right token.
	for _, c := range []struct {
		token  string
		status int
		code   string
	}{{"-", 401, "Unauthorized"}, {"wrong-token", 403, "Forbidden"}, {queryToken + "x", 403, "Forbidden"}} {
		q := query(t, ok(), c.token)
		if q.status != c.status || q.ErrCode != c.code || !requestIDRE.MatchString(q.RequestId) {
			t.Errorf("token %q: %d %s", c.token, q.status, q.raw)
		}
	}
	req, _ = http.NewRequest(http.MethodGet, stack.URL+"/liverecordquery?"+ok().Encode(), nil)
	req.Header.Set("Authorization", "Basic "+queryToken)
	if a := do(t, req); a.status != 401 {
		t.Errorf("Basic auth: %d %s", a.status, a.body)
	}
	// Bad parameters are not revealed to an unauthenticated caller.
	if q := query(t, del(ok(), "DomainName"), "-"); q.status != 401 {
		t.Errorf("unauthenticated bad query: %d %s", q.status, q.raw)
	}
}
