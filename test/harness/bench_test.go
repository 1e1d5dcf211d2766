package main

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/state"
)

// lifecycleSample returns the bodies of every event of n lifecycles and,
// for each, the state of its media before it.
func lifecycleSample(tb testing.TB, n int) ([][]byte, []*state.Media) {
	fx := fixtures(tb)
	rng := rand.New(rand.NewPCG(1, 7))
	var bodies [][]byte
	var before []*state.Media
	for i := 0; i < n; i++ {
		life, err := fx.Lifecycle(rng, mediaID("cp", 0, i), time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			tb.Fatal(err)
		}
		var m *state.Media
		for _, e := range life {
			ev, err := callback.Decode(e.Body)
			if err != nil {
				tb.Fatal(err)
			}
			bodies, before = append(bodies, e.Body), append(before, m)
			if m, _, err = state.Apply(m, ev); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return bodies, before
}

// BenchmarkLifecycleDecodeApplyMarshal is the hot path's CPU per event
// over the harness's realistic mix: every event of 200 lifecycles decoded,
// applied to the state its media has at that point, and the new document
// marshalled. ns/op is per event. The goal is 20 µs.
func BenchmarkLifecycleDecodeApplyMarshal(b *testing.B) {
	bodies, before := lifecycleSample(b, 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(bodies)
		i++
		ev, err := callback.Decode(bodies[k])
		if err != nil {
			b.Fatal(err)
		}
		next, _, err := state.Apply(before[k], ev)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := state.Marshal(next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLifecycleDecode is callback.Decode alone over the same mix.
func BenchmarkLifecycleDecode(b *testing.B) {
	bodies, _ := lifecycleSample(b, 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := callback.Decode(bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPipelineInProcess is the whole pipeline of one function in
// process (unwrap, decode, apply, OSS requests to the loopback test server
// without injected latency, log line, answer) for EventBridge batches of 5
// lifecycle events: ns/op is per event and includes the OSS server's CPU.
func BenchmarkPipelineInProcess(b *testing.B) {
	fx := fixtures(b)
	env, err := StartEnv(context.Background(), &Config{Instances: 1, InProcess: true}, []string{"media"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	plan, err := fx.BuildPlan(PlanOptions{Tag: "bp", Seed: 1, Media: max(10, b.N/7+1), Window: 64, BatchMax: 5, Single: "media"})
	if err != nil {
		b.Fatal(err)
	}
	var deliveries []*Delivery
	for _, d := range plan.Deliveries {
		if !d.HTTP {
			deliveries = append(deliveries, d)
		}
	}
	payloads := make([][]byte, len(deliveries))
	for i, d := range deliveries {
		payloads[i] = payload(env, d, "bp", "")
	}
	b.ResetTimer()
	events := 0
	for i := 0; events < b.N && i < len(payloads); i++ {
		res, err := env.Invoke(context.Background(), "media", payloads[i], "bench")
		if err != nil || res.Error != nil {
			b.Fatalf("invoke: %v %v", err, res)
		}
		events += len(deliveries[i].Items)
	}
	b.StopTimer()
	if events < b.N {
		b.Logf("only %d of %d events in the plan", events, b.N)
	}
	env.Logs.Lines(context.Background(), 0)
}
