package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/live"
	"mediastate/shared/ossx"
	"mediastate/test/osstest"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }

var t0 = time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB, env *osstest.Env, o Options) *Store {
	t.Helper()
	s, err := NewStore(env.Bucket(t), "p/", o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eid(n int) string { return fmt.Sprintf("e1-%032x", n) }

func TestClaimDedupWindow(t *testing.T) {
	env := osstest.Memory(nil)
	c := newClock(t0.Add(123456789 * time.Nanosecond))
	s := newStore(t, env, Options{DedupWindow: 5 * time.Minute, Now: c.now})
	ctx := context.Background()

	env.Server.ResetStats()
	first, err := s.Claim(ctx, "d.com", eid(1), "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || !first.ReceivedAt.Equal(t0.Add(123*time.Millisecond)) || first.Domain != "d.com" {
		t.Fatalf("first claim %+v", first)
	}
	if st := env.Server.Stats(); st.Requests["PutObject"] != 1 || st.Requests["ListObjectsV2"] != 1 || len(st.Requests) != 2 {
		t.Fatalf("a new body cost %v, want one LIST and one PUT", st.Requests)
	}
	// A retry 4 minutes later joins the occurrence.
	c.set(t0.Add(4 * time.Minute))
	again, err := s.Claim(ctx, "d.com", eid(1), "")
	if err != nil || again != first {
		t.Fatalf("retry: %+v %v, want %+v", again, err, first)
	}
	// 6 minutes after the first reception it is a new occurrence...
	c.set(t0.Add(6 * time.Minute))
	second, err := s.Claim(ctx, "d.com", eid(1), "")
	if err != nil || second.Seq != 2 || !second.ReceivedAt.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("late repeat: %+v %v", second, err)
	}
	// ...which its own retries join.
	c.set(t0.Add(7 * time.Minute))
	if got, err := s.Claim(ctx, "d.com", eid(1), ""); err != nil || got != second {
		t.Fatalf("retry of the repeat: %+v %v, want %+v", got, err, second)
	}
	// Another domain or body is another occurrence.
	if got, _ := s.Claim(ctx, "e.com", eid(1), ""); got.Seq != 1 || got.Domain != "e.com" {
		t.Fatalf("other domain: %+v", got)
	}
	if got, _ := s.Claim(ctx, "d.com", eid(2), ""); got.Seq != 1 || got.EventID != eid(2) {
		t.Fatalf("other body: %+v", got)
	}
	if _, err := s.Claim(ctx, "d/x", eid(3), ""); !apierr.Is(err, apierr.InvalidId) {
		t.Fatalf("bad domain: %v", err)
	}
}

// TestClaimConcurrent: deliveries of one body racing from several
// instances agree on one occurrence.
func TestClaimConcurrent(t *testing.T) {
	env := osstest.Start(t) // over the OSS protocol and the real SDK
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		c := newClock(t0.Add(time.Duration(round) * time.Hour))
		var wg sync.WaitGroup
		got := make([]live.Occurrence, 8)
		errs := make([]error, 8)
		for i := range got {
			s := newStore(t, env, Options{Now: func() time.Time { return c.now().Add(time.Duration(i) * time.Millisecond) }})
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.Claim(ctx, "d.com", eid(7), "")
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("round %d: instance %d claimed %+v, instance 0 %+v", round, i, got[i], got[0])
			}
		}
		if got[0].Seq != uint64(round+1) {
			t.Fatalf("round %d: seq %d", round, got[0].Seq)
		}
	}
}

func rec(domain, app, stream, result string) Record {
	return Record{DomainName: domain, AppName: app, StreamName: stream, NotifyResult: result, NotifyType: "record_started",
		Description: "success", NotifyContent: `{"domain":"` + domain + `"}`, NotifyHeader: "{}", NotifyResponse: `{"outcome":"applied"}`}
}

func TestPutFirstWins(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env, Options{})
	ctx := context.Background()
	occ := live.Occurrence{Domain: "d.com", EventID: eid(1), Seq: 1, ReceivedAt: t0.Add(1500 * time.Millisecond)}
	first := rec("d.com", "a", "s", ResultFailed)
	first.Description = "SignatureMismatch: no"
	got, err := s.Put(ctx, occ, first)
	if err != nil {
		t.Fatal(err)
	}
	if got.NotifyTime != "2024-04-10T12:00:01Z" || got.NotifyResult != ResultFailed {
		t.Fatalf("stored %+v", got)
	}
	later := rec("d.com", "a", "s", ResultSuccess)
	if got, err := s.Put(ctx, occ, later); err != nil || got.NotifyResult != ResultFailed || got.Description != first.Description {
		t.Fatalf("second put returned %+v %v, want the first record", got, err)
	}
	page, err := s.Query(ctx, Query{Domain: "d.com", Start: t0, End: t0.Add(time.Hour), PageSize: 10, PageNumber: 1})
	if err != nil || page.Total != 1 || len(page.Records) != 1 || page.Records[0].NotifyResult != ResultFailed {
		t.Fatalf("query after two puts: %+v %v", page, err)
	}
	st, err := s.Get(ctx, "d.com", eid(1), 1)
	if err != nil || st.ReceivedAtMs != occ.ReceivedAt.UnixMilli() || st.Seq != 1 {
		t.Fatalf("get: %+v %v", st, err)
	}
	if _, err := s.Get(ctx, "d.com", eid(1), 2); !errors.Is(err, ossx.ErrNotFound) {
		t.Fatalf("get of a missing occurrence: %v", err)
	}
	if _, err := s.Put(ctx, occ, rec("other.com", "a", "s", ResultSuccess)); err == nil {
		t.Fatal("a record of another domain was accepted")
	}
	// A record with an unusable app is in the domain index only.
	bad := rec("d.com", "a b", "s", ResultFailed)
	occ2 := live.Occurrence{Domain: "d.com", EventID: eid(2), Seq: 1, ReceivedAt: t0.Add(time.Minute)}
	if _, err := s.Put(ctx, occ2, bad); err != nil {
		t.Fatal(err)
	}
	page, _ = s.Query(ctx, Query{Domain: "d.com", Start: t0, End: t0.Add(time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 2 || page.Records[0].AppName != "a b" {
		t.Fatalf("domain query: %+v", page)
	}
	page, _ = s.Query(ctx, Query{Domain: "d.com", Stream: "s", Start: t0, End: t0.Add(time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 2 {
		t.Fatalf("stream-only filter: %+v", page)
	}
	page, _ = s.Query(ctx, Query{Domain: "d.com", App: "a", Stream: "s", Start: t0, End: t0.Add(time.Hour), PageSize: 10, PageNumber: 1})
	if page.Total != 1 || page.Records[0].AppName != "a" {
		t.Fatalf("stream index: %+v", page)
	}
}

// modelRec is a stored record in the model.
type modelRec struct {
	occ live.Occurrence
	rec Record
}

// modelKey is the domain index key of a record: the query order.
func (m modelRec) modelKey() string {
	return inv(m.occ.ReceivedAt) + "/" + resultLetter(m.rec.NotifyResult) + "/" + m.rec.AppName + "/" + m.rec.StreamName + "/" +
		m.occ.EventID + "." + strconv.FormatUint(m.occ.Seq, 10)
}

// TestQueryMatchesModel: random records (ties to the millisecond and the
// second included) and random queries; every answer equals a brute-force
// filter, sort and slice of the records.
func TestQueryMatchesModel(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env, Options{})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, 1))
	var all []modelRec
	domains, apps, streams := []string{"a.com", "b.com"}, []string{"app1", "app1-x", "app2"}, []string{"s1", "s2", "s~3"}
	for i := 0; i < 300; i++ {
		m := modelRec{
			occ: live.Occurrence{EventID: eid(r.IntN(250)), Seq: uint64(1 + r.IntN(11)),
				ReceivedAt: t0.Add(time.Duration(r.IntN(8*24*3600)) * time.Second).Add(time.Duration(r.IntN(2)) * time.Millisecond)},
			rec: rec(domains[r.IntN(2)], apps[r.IntN(3)], streams[r.IntN(3)], []string{ResultSuccess, ResultFailed}[r.IntN(2)]),
		}
		if i%20 == 0 && len(all) > 0 { // exact ties
			m.occ.ReceivedAt = all[len(all)-1].occ.ReceivedAt
		}
		m.occ.Domain = m.rec.DomainName
		dup := slices.ContainsFunc(all, func(o modelRec) bool {
			return o.occ.Domain == m.occ.Domain && o.occ.EventID == m.occ.EventID && o.occ.Seq == m.occ.Seq
		})
		if dup {
			continue
		}
		m.rec.NotifyTime = FormatTime(m.occ.ReceivedAt)
		all = append(all, m)
	}
	for _, m := range all {
		if _, err := s.Put(ctx, m.occ, m.rec); err != nil {
			t.Fatal(err)
		}
	}
	for qi := 0; qi < 150; qi++ {
		q := Query{Domain: domains[r.IntN(2)], PageSize: []int{1, 3, 7, 20, 500}[r.IntN(5)], PageNumber: 1 + r.IntN(6)}
		if r.IntN(2) == 0 {
			q.App = apps[r.IntN(3)]
		}
		if r.IntN(2) == 0 {
			q.Stream = streams[r.IntN(3)]
		}
		if r.IntN(3) == 0 {
			q.Result = []string{ResultSuccess, ResultFailed}[r.IntN(2)]
		}
		q.Start = t0.Add(time.Duration(r.IntN(8*24)) * time.Hour)
		q.End = q.Start.Add(time.Duration(1+r.IntN(72)) * time.Hour)
		if qi%10 == 0 { // a window whose bounds fall on records
			m := all[r.IntN(len(all))]
			q.Domain, q.Start, q.End = m.rec.DomainName, m.occ.ReceivedAt, all[r.IntN(len(all))].occ.ReceivedAt.Add(time.Millisecond)
		}
		var want []modelRec
		for _, m := range all {
			ms := m.occ.ReceivedAt.UnixMilli()
			if m.rec.DomainName == q.Domain && ms >= q.Start.UnixMilli() && ms < q.End.UnixMilli() &&
				(q.App == "" || q.App == m.rec.AppName) && (q.Stream == "" || q.Stream == m.rec.StreamName) &&
				(q.Result == "" || q.Result == m.rec.NotifyResult) {
				want = append(want, m)
			}
		}
		slices.SortFunc(want, func(a, b modelRec) int { return strings.Compare(a.modelKey(), b.modelKey()) })
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		lo := min(len(want), (q.PageNumber-1)*q.PageSize)
		hi := min(len(want), lo+q.PageSize)
		if page.Total != len(want) || len(page.Records) != hi-lo {
			t.Fatalf("query %d %+v: total %d, %d records; want %d, %d", qi, q, page.Total, len(page.Records), len(want), hi-lo)
		}
		for i, got := range page.Records {
			if got != want[lo+i].rec {
				t.Fatalf("query %d %+v: record %d is\n%+v\nwant\n%+v", qi, q, i, got, want[lo+i].rec)
			}
		}
	}
}

// TestQueryCost measures what one query costs with 10,000 records stored
// over 7 days in one domain: the cost depends on the window, not on what is
// stored.
func TestQueryCost(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env, Options{})
	ctx := context.Background()
	const n = 10000
	now := time.Now().UTC().Truncate(time.Hour)
	span := 7 * 24 * time.Hour
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				at := now.Add(-span + time.Duration(int64(span)*int64(i)/n))
				occ := live.Occurrence{Domain: "live.example.com", EventID: eid(i), Seq: 1, ReceivedAt: at}
				if _, err := s.Put(ctx, occ, rec("live.example.com", "app1", fmt.Sprintf("s%d", i%10), []string{ResultSuccess, ResultFailed}[i%7/6])); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	hour := Query{Domain: "live.example.com", Start: now.Add(-26 * time.Hour), End: now.Add(-25 * time.Hour), PageNumber: 1}
	inHour, inHourS3, inHourFailed := 0, 0, 0
	for i := 0; i < n; i++ {
		at := now.Add(-span + time.Duration(int64(span)*int64(i)/n))
		if !at.Before(hour.Start) && at.Before(hour.End) {
			inHour++
			if i%10 == 3 {
				inHourS3++
			}
			if i%7 == 6 {
				inHourFailed++
			}
		}
	}
	type tc struct {
		name     string
		q        Query
		lists    int64
		gets     int64
		total    int
		returned int
	}
	week := Query{Domain: "live.example.com", Start: now.Add(-span), End: now.Add(time.Second), PageNumber: 1}
	cases := []tc{
		{"1h window, PageSize 20", withPage(hour, 20, 1), 1, 20, inHour, 20},
		{"1h window, PageSize 500", withPage(hour, 500, 1), 1, int64(inHour), inHour, inHour},
		{"1h window, one stream", withStream(withPage(hour, 20, 1), "s3"), 1, int64(min(20, inHourS3)), inHourS3, min(20, inHourS3)},
		{"1h window, status failed", withResult(withPage(hour, 20, 1), ResultFailed), 1, int64(min(20, inHourFailed)), inHourFailed, min(20, inHourFailed)},
		{"7 days, PageSize 20", withPage(week, 20, 1), 10, 20, n, 20},
		{"7 days, last page", withPage(week, 500, 20), 10, 500, n, 500},
		{"7 days, beyond the end", withPage(week, 500, 21), 10, 0, n, 0},
	}
	for _, c := range cases {
		env.Server.ResetStats()
		counter := ossx.NewCounter()
		page, err := s.Query(ossx.WithCounter(ctx, counter), c.q)
		if err != nil {
			t.Fatal(err)
		}
		st := env.Server.Stats().Requests
		t.Logf("%-28s TotalNum %5d, returned %3d: %s (server: ListObjectsV2=%d GetObject=%d)", c.name, page.Total, len(page.Records),
			counter, st["ListObjectsV2"], st["GetObject"])
		if counter.Get(ossx.OpList) != c.lists || st["ListObjectsV2"] != c.lists {
			t.Errorf("%s: %d LISTs, want %d", c.name, counter.Get(ossx.OpList), c.lists)
		}
		if gets := counter.Get(ossx.OpGet); (c.gets >= 0 && gets != c.gets) || gets != int64(len(page.Records)) {
			t.Errorf("%s: %d GETs for %d records, want %d", c.name, gets, len(page.Records), c.gets)
		}
		if c.total >= 0 && page.Total != c.total {
			t.Errorf("%s: TotalNum %d, want %d", c.name, page.Total, c.total)
		}
		if c.returned >= 0 && len(page.Records) != c.returned {
			t.Errorf("%s: %d records, want %d", c.name, len(page.Records), c.returned)
		}
		if other := counter.Total() - counter.Get(ossx.OpList) - counter.Get(ossx.OpGet); other != 0 {
			t.Errorf("%s: %d requests other than LIST and GET: %s", c.name, other, counter)
		}
	}
}

func withPage(q Query, size, number int) Query { q.PageSize, q.PageNumber = size, number; return q }
func withStream(q Query, s string) Query       { q.App, q.Stream = "app1", s; return q }
func withResult(q Query, r string) Query       { q.Result = r; return q }

func TestKeys(t *testing.T) {
	k := keys{prefix: "p/live/records/"}
	a, b := inv(t0), inv(t0.Add(time.Millisecond))
	if len(a) != invDigits || b >= a {
		t.Fatalf("inv(t0)=%s inv(t0+1ms)=%s: newer must sort first", a, b)
	}
	st := &Stored{EventID: eid(1), Seq: 12, ReceivedAtMs: t0.UnixMilli(), Record: rec("d.com", "a", "s", ResultSuccess)}
	idx := k.indexKeys(st)
	if len(idx) != 2 || idx[0] != "p/live/records/d.com/t/"+a+"/s/a/s/"+eid(1)+".12" || idx[1] != "p/live/records/d.com/s/a/s/"+a+"/s/"+eid(1)+".12" {
		t.Fatalf("index keys %q", idx)
	}
	e, ok := parseEntry(strings.TrimPrefix(idx[0], k.timeIndex("d.com")), true)
	if !ok || e.ms != t0.UnixMilli() || !e.success || e.app != "a" || e.stream != "s" || e.eventID != eid(1) || e.seq != 12 {
		t.Fatalf("parsed %+v %v", e, ok)
	}
	for _, bad := range []string{"", "123/s/x.1", a + "/x/" + eid(1) + ".1", a + "/s/" + eid(1), a + "/s/" + eid(1) + ".0", a + "/s/a/" + eid(1) + ".1"} {
		if _, ok := parseEntry(bad, false); ok {
			t.Errorf("parsed %q", bad)
		}
	}
	prefix := k.occurrences("d.com", eid(1))
	if seq, claim, ok := parseOccurrence(prefix, k.claim("d.com", eid(1), 5)); !ok || !claim || seq != 5 {
		t.Fatalf("claim key: %d %v %v", seq, claim, ok)
	}
	if seq, claim, ok := parseOccurrence(prefix, k.record("d.com", eid(1), 6)); !ok || claim || seq != 6 {
		t.Fatalf("record key: %d %v %v", seq, claim, ok)
	}
	if k.claim("d.com", eid(1), 6) >= k.claim("d.com", eid(1), 5) {
		t.Fatal("newer occurrences must sort first")
	}
}

// TestClaimAfterExpiry: when a lifecycle rule has expired the oldest
// claims of a body, a retry within the window still joins the newest
// occurrence instead of taking the freed number.
func TestClaimAfterExpiry(t *testing.T) {
	env := osstest.Memory(nil)
	c := newClock(t0)
	s := newStore(t, env, Options{Now: c.now})
	ctx := context.Background()
	first, err := s.Claim(ctx, "d.com", eid(1), "")
	if err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(6 * time.Minute))
	second, err := s.Claim(ctx, "d.com", eid(1), "")
	if err != nil || second.Seq != 2 {
		t.Fatalf("second occurrence %+v %v", second, err)
	}
	if err := env.Bucket(t).Delete(ctx, s.k.claim("d.com", eid(1), first.Seq)); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(8 * time.Minute))
	if got, err := s.Claim(ctx, "d.com", eid(1), ""); err != nil || got != second {
		t.Fatalf("retry after the first claim expired: %+v %v, want %+v", got, err, second)
	}
}

// TestClaimQueueRedelivery: a queue message delivered again, however long
// after, joins the occurrence of its first delivery; another message with
// the same body after the window is another callback.
func TestClaimQueueRedelivery(t *testing.T) {
	env := osstest.Memory(nil)
	c := newClock(t0)
	s := newStore(t, env, Options{Now: c.now})
	got := map[string]live.Occurrence{}
	seqs := map[uint64]bool{}
	for _, step := range []struct {
		name  string
		after time.Duration
		msg   string
		joins string // the step whose occurrence it must be; "" for a new one
	}{
		{"first", 0, "msg-1", ""},
		{"redelivery after 512 s", 512 * time.Second, "msg-1", "first"},
		{"redelivery after 3 h", 3 * time.Hour, "msg-1", "first"},
		{"another message", 3 * time.Hour, "msg-2", ""},
		{"redelivery of the other message", 5 * time.Hour, "msg-2", "another message"},
	} {
		c.set(t0.Add(step.after))
		occ, err := s.Claim(context.Background(), "d.com", eid(1), step.msg)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got[step.name] = occ
		if want, ok := got[step.joins]; ok && occ != want {
			t.Fatalf("%s: %+v, want %+v", step.name, occ, want)
		}
		if step.joins == "" {
			if seqs[occ.Seq] || !occ.ReceivedAt.Equal(c.now()) {
				t.Fatalf("%s: %+v is not a new occurrence received now", step.name, occ)
			}
			seqs[occ.Seq] = true
		}
	}
}

// TestClaimRequests pins the OSS requests of a claim in each case (README,
// Live section).
func TestClaimRequests(t *testing.T) {
	env := osstest.Memory(nil)
	c := newClock(t0)
	s := newStore(t, env, Options{Now: c.now})
	ctx := context.Background()
	cases := []struct {
		name  string
		after time.Duration
		msg   string
		seq   uint64
		want  string
	}{
		{"new body over HTTP", 0, "", 1, "ListObjectsV2=1 PutObject=1"},
		{"HTTP retry within the window", time.Second, "", 1, "GetObject=1 ListObjectsV2=1"},
		{"same body after the window", 10 * time.Minute, "", 2, "GetObject=1 ListObjectsV2=1 PutObject=1"},
		{"new body as a queue message", 10 * time.Minute, "m-1", 3, "GetObject=1 ListObjectsV2=1 PutObject=2"},
		{"queue redelivery after the window", time.Hour, "m-1", 3, "GetObject=2 ListObjectsV2=1 PutObject=1"},
	}
	for _, tc := range cases {
		c.set(c.now().Add(tc.after))
		env.Server.ResetStats()
		occ, err := s.Claim(ctx, "d.com", eid(1), tc.msg)
		if err != nil || occ.Seq != tc.seq {
			t.Fatalf("%s: %+v %v, want occurrence %d", tc.name, occ, err, tc.seq)
		}
		var parts []string
		for op, n := range env.Server.Stats().Requests {
			parts = append(parts, op+"="+strconv.FormatInt(n, 10))
		}
		slices.Sort(parts)
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("%s: requests %q, want %q", tc.name, got, tc.want)
		}
	}
}
