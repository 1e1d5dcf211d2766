package statestore_test

import (
	"slices"
	"testing"
	"time"

	"mediastate/shared/statestore"
	"mediastate/test/osstest"
)

// These tests pin the rule the sweep's safety rests on: a write may start
// from version n only if OSS showed n to be the newest less than CacheTTL
// ago. Each reproduces a way the store once broke it, answering "applied"
// for an event that no reader ever saw. The storage stamps objects with the
// same fake clock, so the sweep's age rule sees the clock steps.

// fakeTime is a clock that the stores and the storage share, stepped by
// the test.
type fakeTime struct{ t time.Time }

func (f *fakeTime) now() time.Time { return f.t }

// onFakeTime returns a fake clock, storage stamped by it, and n store
// instances reading it.
func onFakeTime(t *testing.T, n int) (*fakeTime, *osstest.Env, []*statestore.Store[doc]) {
	clock := &fakeTime{t: time.Now()}
	env := osstest.Memory(clock.now)
	var stores []*statestore.Store[doc]
	for range n {
		stores = append(stores, newStore(t, env.Bucket(t), statestore.Options{Now: clock.now}))
	}
	return clock, env, stores
}

// sweepThenWrite: once sweeper has swept, item written through writer must
// be in the newest version.
func sweepThenWrite(t *testing.T, writer, sweeper *statestore.Store[doc], item string) {
	t.Helper()
	if _, err := sweeper.Sweep(ctxTimeout(t, 10*time.Second), statestore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	res, _ := update(t, writer, "x", item, statestore.UpdateOptions{})
	d, ver, err := sweeper.Get(ctxTimeout(t, 10*time.Second), "x")
	if err != nil || !slices.Contains(d.Items, item) {
		t.Fatalf("%s acknowledged as version %d, newest is version %d: %v %v", item, res.Version, ver, d.Items, err)
	}
}

// TestStaleCacheAfterSweep: duplicates must not renew the trust in a
// cached version (nothing was read).
func TestStaleCacheAfterSweep(t *testing.T) {
	clock, _, st := onFakeTime(t, 2)
	a, b := st[0], st[1]
	update(t, a, "x", "e1", statestore.UpdateOptions{})
	for _, e := range []string{"e2", "e3", "e4"} {
		update(t, b, "x", e, statestore.UpdateOptions{})
	}
	for range 20 {
		clock.t = clock.t.Add(4 * time.Minute)
		update(t, a, "x", "e1", statestore.UpdateOptions{})
	}
	sweepThenWrite(t, a, b, "e5")
}

// TestCreateFirstAfterSweep: a create-first guess that lands in a hole
// the sweep left (version 1 deleted, later ones kept) must be detected
// before it is acknowledged, and the event applied to the newest version.
func TestCreateFirstAfterSweep(t *testing.T) {
	clock, env, st := onFakeTime(t, 1)
	a := st[0]
	for i := 1; i <= 6; i++ {
		update(t, a, "x", "e"+string(rune('0'+i)), statestore.UpdateOptions{})
	}
	clock.t = clock.t.Add(2 * time.Hour)
	if sw, err := a.Sweep(ctxTimeout(t, 10*time.Second), statestore.SweepOptions{}); err != nil || sw.Deleted != 4 {
		t.Fatalf("sweep: %+v %v, want 4 versions deleted", sw, err)
	}
	// Two instances that have never seen x guess that it is new, one after
	// the other: the first lands in the hole, the second finds it taken.
	for _, item := range []string{"n1", "n2"} {
		c := newStore(t, env.Bucket(t), statestore.Options{Now: clock.now})
		res, _ := update(t, c, "x", item, statestore.UpdateOptions{CreateFirst: true})
		d, ver, err := a.Get(ctxTimeout(t, 10*time.Second), "x")
		if err != nil || !slices.Contains(d.Items, item) || res.Version != ver {
			t.Fatalf("%s acknowledged as version %d, newest is version %d: %v %v", item, res.Version, ver, d.Items, err)
		}
	}
	// The hole is not left filled: the retained versions stay a chain.
	checkChain(t, env, "x")
}

// TestDirectReadKeepsTrust: after a lost race on a cached version, the
// version read directly by key may be far behind the newest; caching it
// must not make it trusted as of now.
func TestDirectReadKeepsTrust(t *testing.T) {
	clock, _, st := onFakeTime(t, 2)
	a, b := st[0], st[1]
	item := func(i int) string { return "e" + string(rune('A'+i)) }
	update(t, a, "x", item(0), statestore.UpdateOptions{})
	for i := 1; i < 30; i++ {
		update(t, b, "x", item(i), statestore.UpdateOptions{})
	}
	// a receives b's events again, one every 4 minutes: each is a lost
	// race on a's cached version, settled by reading the next one.
	for i := 1; i <= 20; i++ {
		clock.t = clock.t.Add(4 * time.Minute)
		update(t, a, "x", item(i), statestore.UpdateOptions{})
	}
	sweepThenWrite(t, a, b, "new")
}

// checkChain asserts that every retained version of id holds every item
// of the retained version below it (versions are listed newest first).
func checkChain(t *testing.T, env *osstest.Env, id string) {
	t.Helper()
	b := env.Bucket(t)
	s := newStore(t, b, statestore.Options{})
	ctx := ctxTimeout(t, 30*time.Second)
	var prev *doc
	var prevSeq uint64
	err := s.EachVersion(ctx, id, func(v statestore.Version, d *doc) error {
		if prev != nil {
			for _, it := range d.Items {
				if !slices.Contains(prev.Items, it) {
					t.Errorf("version %d lacks %s that version %d below it holds", prevSeq, it, v.Seq)
				}
			}
		}
		prev, prevSeq = d, v.Seq
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCreateFirstBuiltOnBeforeConfirmed: another instance builds version 2
// on our guessed version 1 before our confirming LIST. Our version stays
// (it is no hole), and our answer says written: exactly one of the two
// writers of the event must say so.
func TestCreateFirstBuiltOnBeforeConfirmed(t *testing.T) {
	env := osstest.Memory(nil)
	b := newStore(t, env.Bucket(t), statestore.Options{})
	var other statestore.Result
	interleaved := false
	clock := func() time.Time {
		// The first clock read after our PUT landed: the other instance
		// writes the next version there.
		if !interleaved && env.Server.Stats().Requests["PutObject"] == 1 {
			interleaved = true
			other, _ = update(t, b, "x", "e2", statestore.UpdateOptions{})
		}
		return time.Now()
	}
	a := newStore(t, env.Bucket(t), statestore.Options{Now: clock})
	res, _ := update(t, a, "x", "e1", statestore.UpdateOptions{CreateFirst: true})
	if !interleaved || !other.Written || other.Version != 2 {
		t.Fatalf("the other instance did not write version 2 in between: %+v", other)
	}
	if !res.Written || res.Version != 2 {
		t.Fatalf("guess built on before its LIST: %+v, want written, version 2", res)
	}
	checkAllApplied(t, env, "x", 2)
}
