package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/state"
)

// Objects is what the checks read: every key under a prefix, and objects.
type Objects interface {
	Keys(ctx context.Context, prefix string) ([]string, error)
	Get(ctx context.Context, key string) ([]byte, error)
}

// BucketObjects reads through an OSS client.
type BucketObjects struct{ B *ossx.Bucket }

// Keys lists every key under prefix.
func (o BucketObjects) Keys(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	token := ""
	for {
		page, err := o.B.List(ctx, ossx.ListOptions{Prefix: prefix, ContinuationToken: token})
		if err != nil {
			return nil, err
		}
		for _, ob := range page.Objects {
			keys = append(keys, ob.Key)
		}
		if page.NextToken == "" {
			return keys, nil
		}
		token = page.NextToken
	}
}

// Get reads one object.
func (o BucketObjects) Get(ctx context.Context, key string) ([]byte, error) {
	b, _, err := o.B.GetObject(ctx, key)
	return b, err
}

// Expectation is what the stored state must be after a scenario.
type Expectation struct {
	Prefix string
	// Media maps each MediaId to its distinct events.
	Media map[string][]*Event
	// Ignore says which other MediaIds may have state (warm-up).
	Ignore func(id string) bool
	// Bad are the injected inputs that must be dead-lettered.
	Bad []*BadInput
}

// CheckReport says what the checks found.
type CheckReport struct {
	Media, Versions, Events int
	// EmptyVersions counts versions that added no event (wasted writes).
	EmptyVersions int
	DeadLetters   int
	Violations    []string
	Count         int // violations, including those not listed
}

// OK reports whether no check was violated.
func (r *CheckReport) OK() bool { return r.Count == 0 }

func (r *CheckReport) violate(mu *sync.Mutex, format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	r.Count++
	if len(r.Violations) < 25 {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	}
}

// Fold returns the expected state document of a set of events: the fold
// of their decoded callbacks, canonically marshalled.
func Fold(evs []*Event) ([]byte, *state.Media, error) {
	var m *state.Media
	for _, e := range evs {
		ev, err := callback.Decode(e.Body)
		if err != nil {
			return nil, nil, err
		}
		if m, _, err = state.Apply(m, ev); err != nil {
			return nil, nil, err
		}
	}
	if m == nil {
		return nil, nil, fmt.Errorf("no events")
	}
	b, err := state.Marshal(m)
	return b, m, err
}

// parseVersionKey splits <prefix>media/<id>/<16 hex of ^seq>.json.
func parseVersionKey(mediaPrefix, key string) (string, uint64, bool) {
	rest, ok := strings.CutPrefix(key, mediaPrefix)
	if !ok {
		return "", 0, false
	}
	id, name, ok := strings.Cut(rest, "/")
	if !ok || len(name) != 21 || !strings.HasSuffix(name, ".json") {
		return "", 0, false
	}
	inv, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil {
		return "", 0, false
	}
	return id, ^inv, true
}

// Verify checks, from what is stored:
//   - every event applied exactly once: the newest version of each media is
//     byte-identical to the fold of its events;
//   - nothing regressed: versions are numbered 1..n without gaps and each
//     one's events list contains the previous one's (and only known events);
//   - no state for anything else;
//   - every injected bad input dead-lettered exactly once, with its code, by
//     the function it was sent to, and no other dead letter.
func Verify(ctx context.Context, objs Objects, exp Expectation, workers int) (*CheckReport, error) {
	rep := &CheckReport{}
	var mu sync.Mutex
	mediaPrefix := exp.Prefix + "media/"
	keys, err := objs.Keys(ctx, mediaPrefix)
	if err != nil {
		return nil, fmt.Errorf("list states: %w", err)
	}
	versions := map[string][]uint64{}
	for _, k := range keys {
		id, seq, ok := parseVersionKey(mediaPrefix, k)
		if !ok {
			rep.violate(&mu, "unexpected object %s under the state prefix", k)
			continue
		}
		versions[id] = append(versions[id], seq)
	}
	for id := range versions {
		if _, ok := exp.Media[id]; !ok && (exp.Ignore == nil || !exp.Ignore(id)) {
			rep.violate(&mu, "media %s has state but no event of it was sent", id)
		}
	}
	ids := make([]string, 0, len(exp.Media))
	for id := range exp.Media {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	work := make(chan string)
	var wg sync.WaitGroup
	var firstErr error
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := verifyMedia(ctx, objs, mediaPrefix, id, exp.Media[id], versions[id], rep, &mu); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return rep, firstErr
	}
	return rep, verifyDeadLetters(ctx, objs, exp, rep, &mu)
}

func verifyMedia(ctx context.Context, objs Objects, mediaPrefix, id string, evs []*Event, seqs []uint64, rep *CheckReport, mu *sync.Mutex) error {
	want, _, err := Fold(evs)
	if err != nil {
		return fmt.Errorf("fold %s: %w", id, err)
	}
	known := map[string]bool{}
	for _, e := range evs {
		known[e.EventID] = true
	}
	mu.Lock()
	rep.Media++
	rep.Versions += len(seqs)
	rep.Events += len(evs)
	mu.Unlock()
	if len(seqs) == 0 {
		rep.violate(mu, "media %s: no state stored (%d events sent)", id, len(evs))
		return nil
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != uint64(i+1) {
			rep.violate(mu, "media %s: versions are %v, want 1..%d without gaps", id, short(seqs), len(seqs))
			break
		}
	}
	var prev map[string]bool
	var last []byte
	empty := 0
	for _, seq := range seqs {
		key := fmt.Sprintf("%s%s/%016x.json", mediaPrefix, id, ^seq)
		body, err := objs.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		m, err := state.Unmarshal(body)
		if err != nil {
			rep.violate(mu, "media %s version %d is not a state document: %v", id, seq, err)
			continue
		}
		cur := map[string]bool{}
		for _, ev := range m.Events {
			if cur[ev.ID] {
				rep.violate(mu, "media %s version %d lists event %s twice", id, seq, ev.ID)
			}
			cur[ev.ID] = true
			if !known[ev.ID] {
				rep.violate(mu, "media %s version %d holds event %s (%s) that was never sent", id, seq, ev.ID, ev.Type)
			}
		}
		if prev != nil {
			for ev := range prev {
				if !cur[ev] {
					rep.violate(mu, "media %s regressed: version %d lost event %s of version %d", id, seq, ev, seq-1)
					break
				}
			}
			if len(cur) == len(prev) {
				empty++
			}
		}
		prev, last = cur, body
	}
	mu.Lock()
	rep.EmptyVersions += empty
	mu.Unlock()
	if last != nil && !bytes.Equal(last, want) {
		var got state.Media
		_ = json.Unmarshal(last, &got)
		rep.violate(mu, "media %s: newest version (%d, %d events) differs from the fold of the %d events sent (first difference at byte %d)",
			id, seqs[len(seqs)-1], len(got.Events), len(evs), firstDiff(last, want))
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func short(s []uint64) []uint64 {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func verifyDeadLetters(ctx context.Context, objs Objects, exp Expectation, rep *CheckReport, mu *sync.Mutex) error {
	keys, err := objs.Keys(ctx, exp.Prefix+"deadletter/")
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	rep.DeadLetters = len(keys)
	found := make([]int, len(exp.Bad))
	for _, k := range keys {
		body, err := objs.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("read %s: %w", k, err)
		}
		var l deadletter.Letter
		if err := json.Unmarshal(body, &l); err != nil {
			rep.violate(mu, "dead letter %s is not a letter: %v", k, err)
			continue
		}
		matched := false
		for i, b := range exp.Bad {
			if !bytes.Contains(l.Raw(), []byte(b.Nonce)) {
				continue
			}
			matched = true
			found[i]++
			if l.Function != b.Fn || l.Code != b.Code {
				rep.violate(mu, "bad input %s (%s) dead-lettered by %s with %s, want %s with %s", b.Nonce, b.Kind, l.Function, l.Code, b.Fn, b.Code)
			}
			if !strings.HasPrefix(k, exp.Prefix+"deadletter/"+b.Fn+"/") {
				rep.violate(mu, "bad input %s kept at %s, not under its function's prefix", b.Nonce, k)
			}
		}
		if !matched {
			rep.violate(mu, "unexpected dead letter %s: %s %s: %.200s", k, l.Function, l.Code, l.Reason)
		}
	}
	for i, b := range exp.Bad {
		if want := 1 - btoi(b.Refused); found[i] != want {
			rep.violate(mu, "bad input %s (%s, sent to %s) has %d dead letters, want exactly %d", b.Nonce, b.Kind, b.Fn, found[i], want)
		}
		if b.MediaID != "" {
			if ks, err := objs.Keys(ctx, exp.Prefix+"media/"+b.MediaID+"/"); err != nil {
				return err
			} else if len(ks) > 0 {
				rep.violate(mu, "bad input %s (%s) created state %s", b.Nonce, b.Kind, ks[0])
			}
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
