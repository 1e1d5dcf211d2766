package live

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediastate/shared/live"
	"mediastate/shared/live/describe"
	"mediastate/shared/live/notify"
)

// TestUnsignedCallbacksNeverReachTheQuery: 100 unsigned callbacks naming a
// victim domain, some with 250 KB bodies, leave the query answer empty
// (they made 100 failed records with attacker-chosen content before).
func TestUnsignedCallbacksNeverReachTheQuery(t *testing.T) {
	t.Parallel()
	victim := uniqueDomain("victim")
	for i := 0; i < 100; i++ {
		body := fmt.Sprintf(`{"domain":%q,"app":"evil%d","stream":"s","event":"record_started"}`, victim, i)
		if i%10 == 0 {
			body = fmt.Sprintf(`{"domain":%q,"app":"evil","stream":"s","event":"record_started","pad":%q}`, victim, strings.Repeat("p", 250<<10))
		}
		a := post(t, body, map[string]string{"Content-Type": "application/json"})
		if a.status != 401 && a.status != 413 {
			t.Fatalf("unsigned callback %d: %d %s", i, a.status, a.body)
		}
	}
	if q := query(t, recent(victim), ""); q.status != 200 || q.TotalNum != 0 || len(q.CallbackList) != 0 {
		t.Fatalf("query after unsigned callbacks: %s", q.raw)
	}
}

// TestDomainsCompareCaseInsensitively: D.COM and d.com are one domain:
// one stream state, one set of records, found by either spelling.
func TestDomainsCompareCaseInsensitively(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("case")
	upper := strings.ToUpper(domain)
	if a := sendSigned(t, statusBody(upper, "s1", "record_started"), ""); a.status != 200 {
		t.Fatalf("upper-case domain: %d %s", a.status, a.body)
	}
	if a := sendSigned(t, statusBody(domain, "s1", "record_paused"), ""); a.status != 200 {
		t.Fatalf("lower-case domain: %d %s", a.status, a.body)
	}
	for _, d := range []string{domain, upper} {
		q := query(t, recent(d), "")
		if q.TotalNum != 2 {
			t.Fatalf("query by %s: %s", d, q.raw)
		}
		for _, r := range q.CallbackList {
			if r.DomainName != domain {
				t.Fatalf("record under domain %q, want %q", r.DomainName, domain)
			}
		}
	}
	st, _, err := streams.Get(context.Background(), domain, "app1", "s1")
	if err != nil || st.State != live.StatePaused {
		t.Fatalf("one stream for both spellings: %+v %v", st, err)
	}
}

// TestQueryAnswerIsBounded: records whose content is large (stored before
// the caps, or by a trusted sender) come back capped, and a page of 500 of
// them stays within describe.MaxAnswerSize (it was 30.7 MB for 30).
func TestQueryAnswerIsBounded(t *testing.T) {
	t.Parallel()
	domain := uniqueDomain("big")
	ctx := context.Background()
	now := time.Now().UTC()
	for i := 0; i < 40; i++ {
		content := fmt.Sprintf(`{"domain":%q,"app":"a","stream":"s","event":"record_started","n":%d,"pad":%q}`, domain, i, strings.Repeat("\x01", 250<<10))
		rec := notify.Record{DomainName: domain, AppName: "a", StreamName: "s", NotifyType: "record_started", NotifyContent: content,
			NotifyHeader: strings.Repeat("h", 100<<10), NotifyResult: "success", Description: "success", NotifyUrl: callbackURL(), NotifyResponse: "{}"}
		occ := live.Occurrence{Domain: domain, EventID: fmt.Sprintf("e1-%032x", i), Seq: 1, ReceivedAt: now.Add(-time.Duration(i) * time.Second)}
		if _, err := records.Put(ctx, occ, rec); err != nil {
			t.Fatal(err)
		}
	}
	q := query(t, recent(domain), "")
	if q.TotalNum != 40 || len(q.CallbackList) != 40 {
		t.Fatalf("query: %d records of %d", len(q.CallbackList), q.TotalNum)
	}
	if len(q.raw) > describe.MaxAnswerSize+40*4*describe.CutTo {
		t.Fatalf("answer of %d bytes, want at most about %d", len(q.raw), describe.MaxAnswerSize)
	}
	for _, r := range q.CallbackList {
		if len(r.NotifyContent) > notify.MaxNotifyContent || len(r.NotifyHeader) > notify.MaxNotifyHeader ||
			!strings.Contains(r.NotifyContent, "[truncated") {
			t.Fatalf("record not capped: content %d bytes, header %d bytes", len(r.NotifyContent), len(r.NotifyHeader))
		}
	}
}
