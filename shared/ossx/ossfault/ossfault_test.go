package ossfault_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"mediastate/shared/ossx/ossfault"
)

func TestSetValidates(t *testing.T) {
	inj := ossfault.NewInjector()
	for _, f := range []ossfault.Faults{
		{Error503Rate: 1.5}, {ResetRate: -0.1}, {Error503Rate: 0.6, LostResponseRate: 0.6},
		{Latency: -time.Second}, {Ops: []string{"AppendObject"}},
	} {
		if err := inj.Set(f); err == nil {
			t.Errorf("Set(%+v) accepted", f)
		}
	}
	if err := inj.Set(ossfault.Faults{Error503Rate: 0.5, Ops: []string{"PutObject"}}); err != nil || inj.Current().Error503Rate != 0.5 {
		t.Fatalf("Set: %v, current %+v", err, inj.Current())
	}
}

// TestDecide: seeded choices repeat, rates hold roughly, Ops filters,
// latency ends early with the context, and everything is counted.
func TestDecide(t *testing.T) {
	run := func(seed int64) []ossfault.Action {
		inj := ossfault.NewInjector()
		if err := inj.Set(ossfault.Faults{Error503Rate: 0.3, ResetRate: 0.2, LostResponseRate: 0.1, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		var acts []ossfault.Action
		for range 1000 {
			acts = append(acts, inj.Decide(context.Background(), "PutObject"))
		}
		st := inj.Stats()
		if st.Requests["PutObject"] != 1000 || st.Faults.Error503+st.Faults.Resets+st.Faults.LostResponses == 0 {
			t.Fatalf("stats %+v", st)
		}
		return acts
	}
	a, b := run(7), run(7)
	if !slices.Equal(a, b) || slices.Equal(a, run(8)) {
		t.Fatal("a seed does not fix the choices")
	}
	n503 := 0
	for _, x := range a {
		if x == ossfault.Error503 {
			n503++
		}
	}
	if n503 < 240 || n503 > 360 {
		t.Errorf("%d of 1000 answered 503 at rate 0.3", n503)
	}

	inj := ossfault.NewInjector()
	if err := inj.Set(ossfault.Faults{Error503Rate: 1, Latency: time.Hour, Ops: []string{"GetObject"}}); err != nil {
		t.Fatal(err)
	}
	if act := inj.Decide(context.Background(), "PutObject"); act != ossfault.None {
		t.Fatalf("an operation outside Ops got %v", act)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if act := inj.Decide(ctx, "GetObject"); act != ossfault.Canceled {
		t.Fatalf("latency with a done context: %v", act)
	}
	inj.ResetStats()
	if st := inj.Stats(); len(st.Requests) != 0 || st.Faults != (ossfault.Counts{}) {
		t.Fatalf("after ResetStats: %+v", st)
	}
}
