package main

import (
	"context"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/state"
)

// BenchmarkLifecycleDecodeApplyMarshal is the hot path's CPU per event
// over the harness's realistic mix: every event of 200 lifecycles decoded,
// applied to the state its media has at that point, and the new document
// marshalled. ns/op is per event. The goal is 20 µs.
func BenchmarkLifecycleDecodeApplyMarshal(b *testing.B) {
	fx := fixtures(b)
	evs, before, bodies, err := lifecycleSample(fx, 200, 1)
	if err != nil {
		b.Fatal(err)
	}
	_ = evs
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
	fx := fixtures(b)
	_, _, bodies, err := lifecycleSample(fx, 200, 1)
	if err != nil {
		b.Fatal(err)
	}
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
	env, err := StartEnv(context.Background(), EnvOptions{Functions: []string{"media"}, Instances: 1, Timeout: 30 * time.Second, InProcess: true})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	plan, err := fx.BuildPlan(PlanOptions{Tag: "bp", Seed: 1, Media: max(10, b.N/7+1), Window: 64, BatchMax: 5, Route: SingleRouter("media")})
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
		payloads[i] = buildPayload("bp", d)
	}
	b.ResetTimer()
	events := 0
	for i := 0; events < b.N && i < len(payloads); i++ {
		ans, err := env.Invoke(context.Background(), "media", payloads[i], "bench")
		if err != nil || ans.Failed {
			b.Fatalf("invoke: %v %s", err, ans.Err)
		}
		events += len(deliveries[i].Items)
	}
	b.StopTimer()
	if events < b.N {
		b.Logf("only %d of %d events in the plan", events, b.N)
	}
	env.Logs.Take()
}
