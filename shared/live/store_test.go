package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	"mediastate/test/osstest"
)

// TestApplierConcurrent: two instances apply the same occurrences, each in
// its own random order with duplicates, from several goroutines; the
// stored document equals the fold of the set.
func TestApplierConcurrent(t *testing.T) {
	env := osstest.Start(t) // over the OSS protocol and the real SDK
	r := rand.New(rand.NewPCG(1, 2))
	set := genSetN(t, r, 14)
	want := marshalChecked(t, fold(t, set, MaxFiles))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for inst := 0; inst < 2; inst++ {
		store, err := NewStore(env.Bucket(t), "p/", statestore.Options{CacheTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		a := Applier{Store: store}
		for g := 0; g < 3; g++ {
			order := append([]delivery(nil), set...)
			order = append(order, set[:len(set)/2]...)
			rr := rand.New(rand.NewPCG(uint64(inst*10+g), 3))
			rr.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, d := range order {
					if _, err := a.Apply(ctx, &trigger.Delivery{Occurrence: &trigger.Occurrence{Seq: d.occ.Seq, ReceivedAt: d.occ.ReceivedAt}}, d.e); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rd, err := NewReader(env.Bucket(t), "p/")
	if err != nil {
		t.Fatal(err)
	}
	got, ver, err := rd.Get(ctx, "live.example.com", "app1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if b := marshalChecked(t, got); !bytes.Equal(b, want) {
		t.Fatalf("stored state (version %d) differs from the fold:\nwant %s\n got %s", ver, want, b)
	}
	if _, _, err := rd.Get(ctx, "live.example.com", "app1", "nothing"); !errors.Is(err, statestore.ErrNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
}

func TestApplierRefusesVOD(t *testing.T) {
	env := osstest.Memory(nil)
	store, err := NewStore(env.Bucket(t), "p/", statestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := callback.Decode([]byte(`{"EventType":"TranscodeComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v1","Status":"success"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Applier{Store: store}).Apply(context.Background(), nil, e); !apierr.Is(err, apierr.WrongFamily) || !apierr.IsPermanent(err) {
		t.Fatalf("VOD event: %v, want permanent WrongFamily", err)
	}
	if n := env.Server.Stats().Requests["PutObject"]; n != 0 {
		t.Fatalf("%d PUTs for a refused event", n)
	}
}

// TestRecordAgainAfterSweep: a stream that records again hours after its
// last session, once the sweep has removed its first versions, keeps the
// whole new session: record_started (a create-first guess) and the files
// after it are in the newest version.
func TestRecordAgainAfterSweep(t *testing.T) {
	now := time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	env := osstest.Memory(clock)
	ctx := context.Background()
	newApplier := func() Applier {
		s, err := NewStore(env.Bucket(t), "p/", statestore.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return Applier{Store: s}
	}
	seq := uint64(0)
	apply := func(a Applier, body string) statestore.Result {
		t.Helper()
		seq++ // every reception here is a callback of its own
		d := &trigger.Delivery{Occurrence: &trigger.Occurrence{Seq: seq, ReceivedAt: now}}
		res, err := a.Apply(ctx, d, decode(t, body))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := newApplier()
	apply(first, statusBody("s1", "record_started"))
	for i := range 10 {
		now = now.Add(time.Minute)
		apply(first, fileBody("s1", fmt.Sprintf("old/%d.m3u8", i), int64(60*(i+1))))
	}
	apply(first, statusBody("s1", "record_paused"))
	now = now.Add(2 * time.Hour)
	if st, err := first.Store.Sweep(ctx, statestore.SweepOptions{}); err != nil || st.Deleted == 0 {
		t.Fatalf("sweep: %+v %v", st, err)
	}
	// The new session reaches another instance.
	again := newApplier()
	now = now.Add(time.Second)
	apply(again, statusBody("s1", "record_started"))
	var uris []string
	for i := range 4 {
		now = now.Add(time.Minute)
		uri := fmt.Sprintf("new/%d.m3u8", i)
		uris = append(uris, uri)
		apply(again, fileBody("s1", uri, int64(10000+60*i)))
	}
	got, ver, err := (&Reader{store: first.Store}).Get(ctx, "live.example.com", "app1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateRecording {
		t.Errorf("newest version %d is %s, want %s", ver, got.State, StateRecording)
	}
	for _, uri := range uris {
		if !slices.ContainsFunc(got.Files, func(f File) bool { return f.URI == uri }) {
			t.Errorf("newest version %d lacks the new session's file %s", ver, uri)
		}
	}
}
