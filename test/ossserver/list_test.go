package ossserver

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// modelList is the obviously correct listing: every entry of the full
// rolled-up listing that sorts after `after`, truncated to maxKeys.
func modelList(keys []string, q listQuery) (names []string, truncated bool) {
	var all []string
	for _, k := range slices.Sorted(slices.Values(keys)) {
		if !strings.HasPrefix(k, q.prefix) {
			continue
		}
		name := k
		if q.delimiter != "" {
			if i := strings.Index(k[len(q.prefix):], q.delimiter); i >= 0 {
				name = k[:len(q.prefix)+i+len(q.delimiter)]
			}
		}
		if name <= q.after || (len(all) > 0 && all[len(all)-1] == name) {
			continue
		}
		all = append(all, name)
	}
	if len(all) > q.maxKeys {
		return all[:q.maxKeys], true
	}
	return all, false
}

// TestListMatchesModel compares listLocked with modelList on random
// buckets and queries, and checks that paging visits every entry once.
func TestListMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "/", "-", " ", "é", "Z", "~", "//"}
	word := func(n int) string {
		var sb strings.Builder
		for range rng.IntN(n) + 1 {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for iter := range 300 {
		b := newBucketState("b", timeZero)
		var keys []string
		for range rng.IntN(40) {
			k := word(6)
			if _, dup := b.objects[k]; !dup {
				keys = append(keys, k)
			}
			b.put(&objectMeta{Key: k})
		}
		q := listQuery{maxKeys: rng.IntN(5) + 1}
		if rng.IntN(2) == 0 {
			q.prefix = word(2)
		}
		if rng.IntN(2) == 0 {
			q.delimiter = []string{"/", "-", "//", "é"}[rng.IntN(4)]
		}
		if rng.IntN(3) == 0 {
			q.after = word(3)
		}

		entries, truncated, last := listLocked(b, q)
		var got []string
		for _, e := range entries {
			if e.meta != nil {
				got = append(got, e.meta.Key)
			} else {
				got = append(got, e.prefix)
			}
		}
		want, wantTrunc := modelList(keys, q)
		if !slices.Equal(got, want) || truncated != wantTrunc {
			t.Fatalf("iteration %d, keys %q, query %+v:\n got %q truncated %v\nwant %q truncated %v",
				iter, keys, q, got, truncated, want, wantTrunc)
		}
		if len(got) > 0 && last != got[len(got)-1] {
			t.Fatalf("last = %q, want %q", last, got[len(got)-1])
		}

		// Paging from the start reproduces the unpaged listing.
		full, _ := modelList(keys, listQuery{prefix: q.prefix, delimiter: q.delimiter, after: q.after, maxKeys: 1 << 30})
		var paged []string
		pq := q
		for page := 0; ; page++ {
			es, more, l := listLocked(b, pq)
			for _, e := range es {
				if e.meta != nil {
					paged = append(paged, e.meta.Key)
				} else {
					paged = append(paged, e.prefix)
				}
			}
			if !more {
				break
			}
			if page > len(keys) {
				t.Fatal("paging does not end")
			}
			pq.after = l
		}
		if !slices.Equal(paged, full) {
			t.Fatalf("iteration %d: paged %q, want %q", iter, paged, full)
		}
	}
}

func TestBucketIndexStaysSorted(t *testing.T) {
	b := newBucketState("b", timeZero)
	for _, k := range []string{"m", "a", "z", "é", "A", "m"} {
		b.put(&objectMeta{Key: k})
	}
	b.remove("z")
	b.remove("absent")
	if want := []string{"A", "a", "m", "é"}; !slices.Equal(b.keys, want) || len(b.objects) != 4 {
		t.Fatalf("keys %q (%d objects), want %q", b.keys, len(b.objects), want)
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h             string
		start, length int64
		whole         bool
	}{
		{"bytes=0-0", 0, 1, false},
		{"bytes=2-5", 2, 4, false},
		{"bytes=7-", 7, 3, false},
		{"bytes=-3", 7, 3, false},
		{"bytes=-30", 0, 10, false},
		{"bytes=5-100", 5, 5, false},
		{"bytes=5-2", 0, 0, true},
		{"bytes=1-2,4-5", 0, 0, true},
		{"bytes=x-1", 0, 0, true},
		{"items=1-2", 0, 0, true},
		{"bytes=10-", 0, 0, true},
		{"bytes=-0", 0, 0, true},
	}
	for _, c := range cases {
		r, err := parseRange(c.h, 10, false)
		if err != nil {
			t.Fatalf("%s: %v", c.h, err)
		}
		if c.whole != (r == nil) || r != nil && (r.start != c.start || r.length != c.length) {
			t.Errorf("%s = %+v, want start %d length %d whole %v", c.h, r, c.start, c.length, c.whole)
		}
	}
	for _, h := range []string{"bytes=10-", "bytes=-0", "bytes=10-20"} {
		if _, err := parseRange(h, 10, true); err == nil {
			t.Errorf("%s with standard behaviour: no error", h)
		}
	}
}

var timeZero = time.Time{}
