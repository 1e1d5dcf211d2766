package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/ossx"
	"mediastate/shared/retry"
)

// DefaultDedupWindow is how long after its first reception a callback body
// received again counts as a retry of the same callback.
const DefaultDedupWindow = 5 * time.Minute

// MaxDedupWindow bounds Options.DedupWindow.
const MaxDedupWindow = time.Hour

// Options configure a Store.
type Options struct {
	// DedupWindow: see DefaultDedupWindow, the default. At most
	// MaxDedupWindow.
	DedupWindow time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Retry is the policy for transient write failures; zero = retry.Default.
	Retry retry.Policy
	// GetConcurrency bounds the parallel GETs of a query page; default 16.
	GetConcurrency int
}

// Store keeps the records of one project prefix. It is safe for
// concurrent use.
type Store struct {
	b      *ossx.Bucket
	k      keys
	window time.Duration
	now    func() time.Time
	retry  retry.Policy
	par    int
}

// KeyPrefix returns the key prefix of the records under the project prefix.
func KeyPrefix(prefix string) string { return prefix + "live/records/" }

// NewStore returns the record store under the project prefix (ending in
// "/" or empty).
func NewStore(b *ossx.Bucket, prefix string, o Options) (*Store, error) {
	if o.DedupWindow == 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.DedupWindow < 0 || o.DedupWindow > MaxDedupWindow {
		return nil, apierr.New(apierr.InvalidConfig, "notify: dedup window %v is not within (0, %v]", o.DedupWindow, MaxDedupWindow)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Retry == (retry.Policy{}) {
		o.Retry = retry.Default
	}
	if o.GetConcurrency <= 0 {
		o.GetConcurrency = 16
	}
	return &Store{b: b, k: keys{prefix: KeyPrefix(prefix)}, window: o.DedupWindow, now: o.Now, retry: o.Retry, par: o.GetConcurrency}, nil
}

// claimDoc is the body of a claim object.
type claimDoc struct {
	EventID      string `json:"eventId"`
	Seq          uint64 `json:"seq"`
	ReceivedAtMs int64  `json:"receivedAtMs"`
}

// Claim returns the occurrence a delivery of the body with content id
// eventID, about domain, received now, belongs to.
//
// A queue message (messageID set: the MNS message id, which a redelivery
// keeps) belongs to the occurrence its first delivery was given, however
// long ago that was. Otherwise the newest occurrence of the body is joined
// when it was first received less than the dedup window ago (a sender's
// retry: HTTP carries no id), and a new one is created when not.
//
// Occurrences are numbered create-only: the next number is written only
// right after a LIST showed the one below it to be the newest, so that
// concurrent receptions agree and an expired number is never reused under
// a newer one. A first reception costs LIST + PUT (+ PUT of the message
// marker), a retry within the window LIST + GET, a repeat after it
// LIST + GET + PUT, a queue redelivery LIST + GET + PUT (refused) + GET.
// Errors are transient.
func (s *Store) Claim(ctx context.Context, domain, eventID, messageID string) (live.Occurrence, error) {
	if err := checkNames(domain, eventID); err != nil {
		return live.Occurrence{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	marker := ""
	if messageID != "" {
		marker = s.k.message(domain, eventID, messageID)
	}
	for attempt := 0; attempt < 8; attempt++ {
		occ, fresh, err := s.choose(ctx, domain, eventID, now)
		if err != nil {
			return live.Occurrence{}, err
		}
		if marker != "" {
			// The marker records the occurrence the message is given, before
			// that occurrence is created: a redelivery finds it taken and
			// joins the occurrence it names, creating nothing.
			err := s.create(ctx, marker, claimOf(occ))
			if errors.Is(err, ossx.ErrExists) {
				first, found, err := s.readClaimAt(ctx, marker, domain, eventID, 0)
				if err == nil && !found {
					err = apierr.Transient(apierr.Conflict, nil, "message marker of %s in %s vanished", eventID, domain)
				}
				return first, err
			}
			if err != nil {
				return live.Occurrence{}, err
			}
		}
		if !fresh {
			return occ, nil
		}
		err = s.create(ctx, s.k.claim(domain, eventID, occ.Seq), claimOf(occ))
		if !errors.Is(err, ossx.ErrExists) {
			return occ, err
		}
		// Another reception took that number first: take back the marker
		// that named it with our time, and look again.
		if marker != "" {
			if err := s.b.Delete(ctx, marker); err != nil {
				return live.Occurrence{}, fmt.Errorf("take back message marker: %w", err)
			}
		}
	}
	return live.Occurrence{}, apierr.Transient(apierr.Conflict, nil, "claim of %s in %s: too many concurrent occurrences", eventID, domain)
}

// claimOf is the body of the claim (or message marker) of occ.
func claimOf(occ live.Occurrence) claimDoc {
	return claimDoc{EventID: occ.EventID, Seq: occ.Seq, ReceivedAtMs: occ.ReceivedAt.UnixMilli()}
}

// choose returns the occurrence a reception at now belongs to by the
// window rule: the newest occurrence if it was first received less than
// the window ago, else the next number (fresh: not created yet).
func (s *Store) choose(ctx context.Context, domain, eventID string, now time.Time) (occ live.Occurrence, fresh bool, err error) {
	newest, err := s.newestClaim(ctx, domain, eventID)
	if err != nil {
		return occ, false, err
	}
	if newest >= 1 {
		got, found, err := s.readClaimAt(ctx, s.k.claim(domain, eventID, newest), domain, eventID, newest)
		if err != nil {
			return occ, false, err
		}
		if found && absDuration(now.Sub(got.ReceivedAt)) < s.window {
			return got, false, nil
		}
	}
	return live.Occurrence{Domain: domain, EventID: eventID, Seq: newest + 1, ReceivedAt: now}, true, nil
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// newestClaim returns the highest occurrence number of a body, 0 for none.
func (s *Store) newestClaim(ctx context.Context, domain, eventID string) (uint64, error) {
	prefix := s.k.occurrences(domain, eventID)
	page, err := s.b.List(ctx, ossx.ListOptions{Prefix: prefix, MaxKeys: 2})
	if err != nil {
		return 0, fmt.Errorf("list occurrences of %s: %w", eventID, err)
	}
	for _, o := range page.Objects {
		if seq, _, ok := parseOccurrence(prefix, o.Key); ok {
			return seq, nil
		}
	}
	return 0, nil
}

// readClaimAt reads the claim (or message marker) at key; found is false
// when it is gone (expired by a lifecycle rule). seq, when not 0, is the
// number the claim must have.
func (s *Store) readClaimAt(ctx context.Context, key, domain, eventID string, seq uint64) (live.Occurrence, bool, error) {
	body, _, err := s.b.GetObject(ctx, key)
	if errors.Is(err, ossx.ErrNotFound) {
		return live.Occurrence{}, false, nil
	}
	if err != nil {
		return live.Occurrence{}, false, fmt.Errorf("read claim: %w", err)
	}
	var c claimDoc
	if err := json.Unmarshal(body, &c); err != nil || c.Seq == 0 || (seq != 0 && c.Seq != seq) || c.EventID != eventID {
		return live.Occurrence{}, false, apierr.Transient(apierr.Internal, err, "%s is not a claim of %s", key, eventID)
	}
	return live.Occurrence{Domain: domain, EventID: eventID, Seq: c.Seq, ReceivedAt: time.UnixMilli(c.ReceivedAtMs).UTC()}, true, nil
}

// create writes v at key create-only (ossx.Bucket.Create). It returns
// ossx.ErrExists when the key is taken by another writer.
func (s *Store) create(ctx context.Context, key string, v any) error {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return apierr.Transient(apierr.Internal, err, "marshal %s", key)
		}
	}
	_, err := s.b.Create(ctx, key, body, ossx.CreateOptions{Retry: s.retry})
	return err
}

// Put writes the record of occurrence occ, create-only, and its index
// entries. The first record written for an occurrence wins: when one
// exists, it is kept and returned (and its index entries completed). The
// record's DomainName must be occ.Domain; its NotifyTime is set from
// occ.ReceivedAt. Errors are transient.
func (s *Store) Put(ctx context.Context, occ live.Occurrence, rec Record) (Record, error) {
	if err := checkNames(occ.Domain, occ.EventID); err != nil {
		return Record{}, err
	}
	if rec.DomainName != occ.Domain || occ.Seq == 0 || occ.ReceivedAt.IsZero() {
		return Record{}, apierr.New(apierr.Internal, "notify: record for domain %q put with occurrence %+v", rec.DomainName, occ)
	}
	ms := occ.ReceivedAt.UnixMilli()
	if ms < 0 || ms > maxMs {
		return Record{}, apierr.New(apierr.Internal, "notify: receive time %v out of range", occ.ReceivedAt)
	}
	if rec.NotifyResult != ResultSuccess {
		rec.NotifyResult = ResultFailed
	}
	rec.NotifyTime = FormatTime(occ.ReceivedAt)
	st := &Stored{Version: StoredVersion, EventID: occ.EventID, Seq: occ.Seq, ReceivedAtMs: ms, Record: rec}
	key := s.k.record(occ.Domain, occ.EventID, occ.Seq)
	err := s.create(ctx, key, st)
	if errors.Is(err, ossx.ErrExists) {
		st, err = s.get(ctx, key)
		if err != nil {
			return Record{}, err
		}
	}
	if err != nil {
		return Record{}, fmt.Errorf("write record %s: %w", key, err)
	}
	idx := s.k.indexKeys(st)
	var g errgroup.Group
	for _, k := range idx {
		g.Go(func() error {
			if err := s.create(ctx, k, nil); err != nil && !errors.Is(err, ossx.ErrExists) {
				return fmt.Errorf("write index entry %s: %w", k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Record{}, err
	}
	return st.Record, nil
}

// Get returns the stored record of an occurrence; the error wraps
// ossx.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, domain, eventID string, seq uint64) (*Stored, error) {
	if err := checkNames(domain, eventID); err != nil {
		return nil, err
	}
	return s.get(ctx, s.k.record(domain, eventID, seq))
}

func (s *Store) get(ctx context.Context, key string) (*Stored, error) {
	body, _, err := s.b.GetObject(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	var st Stored
	if err := json.Unmarshal(body, &st); err != nil || st.Version != StoredVersion {
		return nil, apierr.Transient(apierr.Internal, err, "object %s is not a version %d record", key, StoredVersion)
	}
	return &st, nil
}

// checkNames checks the names that become key segments.
func checkNames(domain, eventID string) error {
	if err := callback.ValidateID("DomainName", domain); err != nil {
		return err
	}
	return callback.ValidateID("eventId", eventID)
}

// Query selects records.
type Query struct {
	// Domain is required; App, Stream and Result filter when not empty.
	Domain, App, Stream string
	// Result is "", ResultSuccess or ResultFailed.
	Result string
	// Start and End bound the receive time: Start <= t < End, to the
	// millisecond.
	Start, End time.Time
	// PageSize (>= 1) and PageNumber (>= 1) select the page.
	PageSize, PageNumber int
}

// Page is one page of a query.
type Page struct {
	// Records are the page's records, newest first.
	Records []Record
	// Total counts the records that match.
	Total int
}

// Query lists the matching records in the window, counts them and reads
// the requested page (see the package documentation for the cost).
func (s *Store) Query(ctx context.Context, q Query) (Page, error) {
	if err := callback.ValidateID("DomainName", q.Domain); err != nil {
		return Page{}, err
	}
	for _, f := range []struct{ name, v string }{{"AppName", q.App}, {"StreamName", q.Stream}} {
		if f.v != "" {
			if err := callback.ValidateID(f.name, f.v); err != nil {
				return Page{}, err
			}
		}
	}
	if q.PageSize < 1 || q.PageNumber < 1 {
		return Page{}, apierr.New(apierr.InvalidField, "notify: page size %d and number %d must be positive", q.PageSize, q.PageNumber)
	}
	var page Page
	if !q.End.After(q.Start) {
		return page, nil
	}
	prefix, withNames := s.k.timeIndex(q.Domain), true
	if q.App != "" && q.Stream != "" {
		prefix, withNames = s.k.streamIndex(q.Domain, q.App, q.Stream), false
	}
	startMs, endMs := max(q.Start.UnixMilli(), 0), min(q.End.UnixMilli(), maxMs+1)
	first := (q.PageNumber - 1) * q.PageSize
	if q.PageNumber > 1 && first/(q.PageNumber-1) != q.PageSize {
		first = -1 // overflow: beyond any listing
	}
	var want []entry
	after := prefix + fmt.Sprintf("%0*d", invDigits, maxMs-endMs) + "~"
	token := ""
list:
	for {
		res, err := s.b.List(ctx, ossx.ListOptions{Prefix: prefix, StartAfter: after, ContinuationToken: token})
		if err != nil {
			return Page{}, fmt.Errorf("list records: %w", err)
		}
		for _, o := range res.Objects {
			e, ok := parseEntry(o.Key[len(prefix):], withNames)
			if !ok {
				continue
			}
			if e.ms < startMs {
				break list
			}
			if e.ms >= endMs ||
				(q.Result != "" && e.success != (q.Result == ResultSuccess)) ||
				(withNames && q.App != "" && e.app != q.App) ||
				(withNames && q.Stream != "" && e.stream != q.Stream) {
				continue
			}
			if first >= 0 && page.Total >= first && page.Total < first+q.PageSize {
				want = append(want, e)
			}
			page.Total++
		}
		if res.NextToken == "" {
			break
		}
		token = res.NextToken
	}
	recs, err := s.fetch(ctx, q.Domain, want)
	if err != nil {
		return Page{}, err
	}
	page.Records = recs
	return page, nil
}

// fetch reads the records of entries, in parallel, keeping their order.
// A record gone since the listing (expired) is left out.
func (s *Store) fetch(ctx context.Context, domain string, entries []entry) ([]Record, error) {
	out := make([]*Record, len(entries))
	var g errgroup.Group
	g.SetLimit(s.par)
	for i, e := range entries {
		g.Go(func() error {
			st, err := s.get(ctx, s.k.record(domain, e.eventID, e.seq))
			switch {
			case errors.Is(err, ossx.ErrNotFound):
			case err != nil:
				return err
			default:
				rec := st.Record.Capped() // bounded whatever an older version stored
				out[i] = &rec
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(out))
	for _, r := range out {
		if r != nil {
			recs = append(recs, *r)
		}
	}
	return recs, nil
}
