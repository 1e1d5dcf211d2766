package live

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/statestore"
	"mediastate/test/osstest"
)

// TestApplierConcurrent: two instances apply the same occurrences, each in
// its own random order with duplicates, from several goroutines; the
// stored document equals the fold of the set.
func TestApplierConcurrent(t *testing.T) {
	env := osstest.Start(t)
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
					if _, err := a.Apply(WithOccurrence(ctx, d.occ), d.e); err != nil {
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
	env := osstest.Start(t)
	store, err := NewStore(env.Bucket(t), "p/", statestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := callback.Decode([]byte(`{"EventType":"TranscodeComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v1","Status":"success"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Applier{Store: store}).Apply(context.Background(), e); !apierr.Is(err, apierr.WrongFamily) || !apierr.IsPermanent(err) {
		t.Fatalf("VOD event: %v, want permanent WrongFamily", err)
	}
	if n := env.Server.Stats().Requests["PutObject"]; n != 0 {
		t.Fatalf("%d PUTs for a refused event", n)
	}
}
