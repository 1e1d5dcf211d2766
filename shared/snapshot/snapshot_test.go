package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/snapshot"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	"mediastate/test/osstest"
)

const prefix = "mediastate/"

// apply adds one event (a VOD SnapshotComplete, number n) to a media's
// state.
func apply(t *testing.T, s *media.Store, id string, n int) {
	t.Helper()
	ev, err := callback.Decode([]byte(fmt.Sprintf(`{"EventType":"SnapshotComplete","EventTime":"2024-01-01T00:00:%02dZ","VideoId":%q,"Status":"success","N":%d}`, n, id, n)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), id, func(cur *state.Media) (*state.Media, bool, error) { return state.Apply(cur, ev) }, statestore.UpdateOptions{}); err != nil {
		t.Fatalf("apply to %s: %v", id, err)
	}
}

// read returns the newest snapshot's lines and metadata.
func read(t *testing.T, b *ossx.Bucket) (snapshot.Meta, []snapshot.Line) {
	t.Helper()
	key, err := snapshot.Latest(t.Context(), b, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var lines []snapshot.Line
	meta, err := snapshot.Read(t.Context(), b, key, func(l snapshot.Line) error { lines = append(lines, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return meta, lines
}

// check compares the lines with the stored states, one by one.
func check(t *testing.T, s *media.Store, meta snapshot.Meta, lines []snapshot.Line) {
	t.Helper()
	var ids []string
	for _, l := range lines {
		ids = append(ids, l.MediaID)
		m, ver, err := s.Get(t.Context(), l.MediaID)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := state.Marshal(m)
		if ver != l.Version || !bytes.Equal(want, l.State) {
			t.Errorf("%s: line version %d %s, stored version %d %s", l.MediaID, l.Version, l.State, ver, want)
		}
	}
	var listed []string
	if err := s.EachNewest(t.Context(), func(v statestore.Version) error { listed = append(listed, v.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, listed) || meta.Count != len(listed) {
		t.Errorf("snapshot ids %v (count %d), stored %v", ids, meta.Count, listed)
	}
}

func TestWriteReuseAndPrune(t *testing.T) {
	env := osstest.Start(t) // over the OSS protocol and the real SDK
	b := env.Bucket(t)
	s, err := media.NewStore(b, prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Latest(t.Context(), b, prefix); err != snapshot.ErrNone {
		t.Fatalf("Latest on an empty bucket: %v, want ErrNone", err)
	}
	// "a-b/" lists before "a/": the merge must follow the listing order.
	ids := []string{"a", "a-b", "a0", "b"}
	for i, id := range ids {
		for n := 0; n <= i%2; n++ {
			apply(t, s, id, n)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m1, err := snapshot.Write(t.Context(), s, prefix, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Count != 4 || m1.Read != 4 || m1.Reused != 0 || m1.MaxVersion != 2 {
		t.Errorf("first snapshot %+v", m1)
	}
	meta, lines := read(t, b)
	check(t, s, meta, lines)
	if !meta.TakenAt.Equal(t0) || meta.Key != snapshot.Key(prefix, t0) {
		t.Errorf("metadata %+v", meta)
	}

	apply(t, s, "a0", 5)
	apply(t, s, "c", 0)
	// The same millisecond: the next key is taken, which still lists first.
	m2, err := snapshot.Write(t.Context(), s, prefix, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Count != 5 || m2.Read != 2 || m2.Reused != 3 || m2.Key == m1.Key {
		t.Errorf("second snapshot %+v (first %s)", m2, m1.Key)
	}
	meta, lines = read(t, b)
	if meta.Key != m2.Key {
		t.Errorf("newest listed %s, want %s", meta.Key, m2.Key)
	}
	check(t, s, meta, lines)

	// A damaged previous snapshot is not reused: everything is read.
	bad := snapshot.Key(prefix, t0.Add(time.Hour))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("not json\n"))
	zw.Close()
	if err := b.PutObject(context.Background(), bad, gz.Bytes(), ossx.PutOptions{Meta: map[string]string{
		snapshot.MetaFormat: snapshot.Format, snapshot.MetaCount: "1", snapshot.MetaTakenAt: t0.Format(time.RFC3339), snapshot.MetaMaxVersion: "1"}}); err != nil {
		t.Fatal(err)
	}
	m3, err := snapshot.Write(t.Context(), s, prefix, t0.Add(2*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if m3.Read != 5 || m3.Reused != 0 || m3.Pruned != 1 {
		t.Errorf("snapshot after a damaged one %+v: want all 5 read and the oldest of 4 pruned", m3)
	}
	meta, lines = read(t, b)
	check(t, s, meta, lines)
	page, err := b.List(t.Context(), ossx.ListOptions{Prefix: snapshot.KeyPrefix(prefix)})
	if err != nil || len(page.Objects) != snapshot.DefaultKeep || page.Objects[0].Key != m3.Key {
		t.Errorf("after pruning: %v %+v", err, page.Objects)
	}
}
