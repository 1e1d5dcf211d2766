package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/snapshot"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	"mediastate/test/localstack"
)

// sweepSnapshot runs the sweep function and returns the snapshot part of
// its report.
func sweepSnapshot(t *testing.T, s *localstack.Stack) snapshot.Meta {
	t.Helper()
	r := mustInvoke(t, s, "sweep", timerEvent)
	if r.Header.Get("X-Fc-Error-Type") != "" {
		t.Fatalf("sweep failed: %s", r.Body)
	}
	var rep struct {
		Snapshot snapshot.Meta `json:"snapshot"`
	}
	if err := json.Unmarshal(r.Body, &rep); err != nil || rep.Snapshot.Key == "" {
		t.Fatalf("sweep report has no snapshot (%v): %s", err, r.Body)
	}
	return rep.Snapshot
}

// readSnapshot reads the newest snapshot as a bulk reader does, with one
// LIST and one GET (counted), and returns its lines by MediaId.
func readSnapshot(t *testing.T, s *localstack.Stack) (snapshot.Meta, map[string]snapshot.Line, []string) {
	t.Helper()
	c := ossx.NewCounter()
	ctx := ossx.WithCounter(ctxT(t), c)
	key, err := snapshot.Latest(ctx, s.Client, s.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]snapshot.Line{}
	var order []string
	meta, err := snapshot.Read(ctx, s.Client, key, func(l snapshot.Line) error {
		if _, dup := lines[l.MediaID]; dup {
			t.Errorf("snapshot has %s twice", l.MediaID)
		}
		lines[l.MediaID] = l
		order = append(order, l.MediaID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Get(ossx.OpList) != 1 || c.Get(ossx.OpGet) != 1 || c.Total() != 2 {
		t.Errorf("reading the snapshot took %s, want 1 LIST + 1 GET", c)
	}
	return meta, lines, order
}

// compareWithStates checks a snapshot against the per-media states read one
// by one: the same set of MediaIds, each line the newest version's number
// and document byte for byte; and its metadata against the lines.
func compareWithStates(t *testing.T, s *localstack.Stack, meta snapshot.Meta, lines map[string]snapshot.Line, order []string) {
	t.Helper()
	store, err := media.NewStore(s.Client, s.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var maxVersion uint64
	err = store.EachNewest(ctxT(t), func(v statestore.Version) error {
		ids = append(ids, v.ID)
		l, ok := lines[v.ID]
		if !ok {
			t.Errorf("snapshot lacks %s", v.ID)
			return nil
		}
		stored := getObject(t, s, v.Key)
		if l.Version != v.Seq || !bytes.Equal(l.State, stored) {
			t.Errorf("snapshot line of %s: version %d %s\nthe state object: version %d %s", v.ID, l.Version, l.State, v.Seq, stored)
		}
		m, err := state.Unmarshal(l.State)
		if err != nil || m.MediaID != v.ID {
			t.Errorf("snapshot line of %s is not its state document: %v", v.ID, err)
		}
		maxVersion = max(maxVersion, v.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, order) {
		t.Errorf("snapshot order %v, want the listing order %v", order, ids)
	}
	if meta.Count != len(ids) || meta.MaxVersion != maxVersion || meta.TakenAt.IsZero() || meta.NewestWrite.IsZero() {
		t.Errorf("snapshot metadata %+v: want count %d, max version %d, times set", meta, len(ids), maxVersion)
	}
}

// TestSnapshot: after a sweep, one object holds every current media state;
// a second sweep reuses the lines of unchanged media, reads only what
// changed, lists first, and prunes old snapshots.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media", "sweep")
	seedID := map[string]string{
		"ims-register-media-complete.json": "71151b80f2d471ecb21b472190a9****",
		"ims-create-audit-complete.json":   "71151b80f2d471ecb21b472190a9****",
		"ims-file-upload-complete.json":    "c321b3a0041a71eda1590674a2ce****",
	}
	apply := func(id string, seeds ...string) {
		t.Helper()
		for _, name := range seeds {
			b := withID(t, readSeed(t, name), seedID[name], id)
			if res, err := bareShape("bare", false).send(s, "media", [][]byte{b}); err != nil || res[0].Outcome != pipeline.Applied {
				t.Fatalf("apply %s to %s: %v %+v", name, id, err, res)
			}
		}
	}
	// Ids whose key segments sort differently from the ids themselves
	// ("a-b/" lists before "a/"), to check the merge order.
	base := newID()
	ids := []string{base, base + "-b", base + "0", newID(), newID()}
	for i, id := range ids {
		apply(id, []string{"ims-register-media-complete.json", "ims-create-audit-complete.json", "ims-file-upload-complete.json"}[:1+i%3]...)
	}

	first := sweepSnapshot(t, s)
	if first.Count != len(ids) || first.Read != len(ids) || first.Reused != 0 {
		t.Errorf("first snapshot %+v: want %d states, all read", first, len(ids))
	}
	meta, lines, order := readSnapshot(t, s)
	if meta.Key != first.Key {
		t.Errorf("newest snapshot listed is %s, the sweep wrote %s", meta.Key, first.Key)
	}
	compareWithStates(t, s, meta, lines, order)

	// One media changes: the next snapshot reads it alone.
	apply(ids[0], "ims-file-upload-complete.json")
	second := sweepSnapshot(t, s)
	if second.Count != len(ids) || second.Read != 1 || second.Reused != len(ids)-1 {
		t.Errorf("second snapshot %+v: want %d states, 1 read and the rest reused", second, len(ids))
	}
	meta, lines, order = readSnapshot(t, s)
	if meta.Key != second.Key || meta.Key >= first.Key {
		t.Errorf("newest snapshot listed is %s; the second sweep wrote %s, which must list before the first, %s", meta.Key, second.Key, first.Key)
	}
	compareWithStates(t, s, meta, lines, order)
	if lines[ids[0]].Version != 2 {
		t.Errorf("changed media is at version %d in the snapshot, want 2", lines[ids[0]].Version)
	}

	// Pruning keeps the newest three.
	for range 3 {
		sweepSnapshot(t, s)
	}
	page, err := s.Client.List(context.Background(), ossx.ListOptions{Prefix: snapshot.KeyPrefix(s.Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != snapshot.DefaultKeep {
		t.Errorf("%d snapshots kept, want %d", len(page.Objects), snapshot.DefaultKeep)
	}
}
