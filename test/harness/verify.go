package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/state"
)

// Objects is what the checks read: the keys (with sizes) under a prefix,
// and objects.
type Objects interface {
	List(ctx context.Context, prefix string) (map[string]int64, error)
	Get(ctx context.Context, key string) ([]byte, error)
}

// BucketObjects reads through an OSS client.
type BucketObjects struct{ B *ossx.Bucket }

// List returns every key under prefix with its size.
func (o BucketObjects) List(ctx context.Context, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	for opts := (ossx.ListOptions{Prefix: prefix}); ; {
		page, err := o.B.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, ob := range page.Objects {
			out[ob.Key] = ob.Size
		}
		if opts.ContinuationToken = page.NextToken; opts.ContinuationToken == "" {
			return out, nil
		}
	}
}

// Get reads one object.
func (o BucketObjects) Get(ctx context.Context, key string) ([]byte, error) {
	b, _, err := o.B.GetObject(ctx, key)
	return b, err
}

// CheckReport says what the checks found.
type CheckReport struct {
	Media, Versions int
	Violations      []string
	Count           int // violations, including those not listed
	mu              sync.Mutex
}

// OK reports whether no check was violated.
func (r *CheckReport) OK() bool { return r.Count == 0 }

func (r *CheckReport) violate(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Count++; len(r.Violations) < 25 {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	}
}

// Fold returns the expected state document of a set of events: the fold
// of their decoded callbacks, canonically marshalled.
func Fold(evs []*Event) ([]byte, error) {
	var m *state.Media
	for _, e := range evs {
		ev, err := callback.Decode(e.Body)
		if err == nil {
			m, _, err = state.Apply(m, ev)
		}
		if err != nil {
			return nil, err
		}
	}
	if m == nil {
		return nil, errors.New("no events")
	}
	return state.Marshal(m)
}

// Verify checks, from what is stored under prefix:
//   - every event applied exactly once: the newest version of each media is
//     byte-identical to the fold of its events;
//   - nothing regressed: versions are numbered 1..n without gaps and each
//     one's events list contains the previous one's (and only known events);
//   - no state for anything else (but the warm-up's "wu" media), and no
//     dead letter.
func Verify(ctx context.Context, objs Objects, prefix string, media map[string][]*Event) (*CheckReport, error) {
	rep := &CheckReport{}
	mediaPrefix := prefix + "media/"
	keys, err := objs.List(ctx, mediaPrefix)
	if err != nil {
		return nil, fmt.Errorf("list states: %w", err)
	}
	versions := map[string][]uint64{}
	for k := range keys {
		// <prefix>media/<id>/<16 hex of ^seq>.json
		id, name, _ := strings.Cut(strings.TrimPrefix(k, mediaPrefix), "/")
		inv, err := strconv.ParseUint(strings.TrimSuffix(name, ".json"), 16, 64)
		switch {
		case len(name) != 21 || err != nil:
			rep.violate("unexpected object %s under the state prefix", k)
		case media[id] == nil && !strings.HasPrefix(id, "wu"):
			rep.violate("media %s has state but no event of it was sent", id)
		default:
			versions[id] = append(versions[id], ^inv)
		}
	}
	ids := slices.Sorted(maps.Keys(media))
	errs := make([]error, len(ids))
	forEach(8, len(ids), func(i int) {
		errs[i] = verifyMedia(ctx, objs, rep, mediaPrefix, ids[i], media[ids[i]], versions[ids[i]])
	})
	letters, err := objs.List(ctx, prefix+"deadletter/")
	for k := range letters {
		rep.violate("dead letter %s of an event that was sent", k)
	}
	return rep, errors.Join(append(errs, err)...)
}

func verifyMedia(ctx context.Context, objs Objects, rep *CheckReport, mediaPrefix, id string, evs []*Event, seqs []uint64) error {
	want, err := Fold(evs)
	if err != nil {
		return fmt.Errorf("fold %s: %w", id, err)
	}
	rep.mu.Lock()
	rep.Media, rep.Versions = rep.Media+1, rep.Versions+len(seqs)
	rep.mu.Unlock()
	if len(seqs) == 0 {
		rep.violate("media %s: no state stored (%d events sent)", id, len(evs))
		return nil
	}
	slices.Sort(seqs)
	if seqs[0] != 1 || seqs[len(seqs)-1] != uint64(len(seqs)) {
		rep.violate("media %s: versions are %v, want 1..%d without gaps", id, seqs[:min(12, len(seqs))], len(seqs))
	}
	known := map[string]bool{}
	for _, e := range evs {
		known[e.EventID] = true
	}
	var prev map[string]bool
	var last []byte
	for _, seq := range seqs {
		body, err := objs.Get(ctx, fmt.Sprintf("%s%s/%016x.json", mediaPrefix, id, ^seq))
		if err != nil {
			return fmt.Errorf("read %s version %d: %w", id, seq, err)
		}
		m, err := state.Unmarshal(body)
		if err != nil {
			rep.violate("media %s version %d is not a state document: %v", id, seq, err)
			continue
		}
		cur := map[string]bool{}
		for _, ev := range m.Events {
			switch {
			case cur[ev.ID]:
				rep.violate("media %s version %d lists event %s twice", id, seq, ev.ID)
			case !known[ev.ID]:
				rep.violate("media %s version %d holds event %s (%s) that was never sent", id, seq, ev.ID, ev.Type)
			}
			cur[ev.ID] = true
		}
		for ev := range prev {
			if !cur[ev] {
				rep.violate("media %s regressed: version %d lost event %s of the version before", id, seq, ev)
				break
			}
		}
		prev, last = cur, body
	}
	if last != nil && !bytes.Equal(last, want) {
		rep.violate("media %s: newest version (%d) differs from the fold of the %d events sent: %.300s", id, seqs[len(seqs)-1], len(evs), last)
	}
	return nil
}
