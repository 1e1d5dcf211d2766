package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/state"
	"mediastate/test/ossserver"
)

func lifecyclePlan(t *testing.T, fx *Fixtures, o PlanOptions) *Plan {
	t.Helper()
	if o.Tag == "" {
		o.Tag = "ts"
	}
	if o.Window == 0 {
		o.Window = 8
	}
	if o.BatchMax == 0 {
		o.BatchMax = 5
	}
	p, err := fx.BuildPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanIsDeterministicAndComplete(t *testing.T) {
	fx := fixtures(t)
	o := PlanOptions{Seed: 7, Media: 40, HTTP: 0.3, Base64: 0.2, DupRate: 0.3}
	a, b := lifecyclePlan(t, fx, o), lifecyclePlan(t, fx, o)
	if len(a.Deliveries) != len(b.Deliveries) {
		t.Fatalf("same seed, %d and %d deliveries", len(a.Deliveries), len(b.Deliveries))
	}
	for i := range a.Deliveries {
		if fmt.Sprint(shape(a.Deliveries[i])) != fmt.Sprint(shape(b.Deliveries[i])) {
			t.Fatalf("same seed, delivery %d differs: %v and %v", i, shape(a.Deliveries[i]), shape(b.Deliveries[i]))
		}
	}
	if c := lifecyclePlan(t, fx, PlanOptions{Seed: 8, Media: 40}); c.Distinct == a.Distinct && len(c.Deliveries) == len(a.Deliveries) {
		t.Errorf("another seed gave the same plan size (%d events, %d deliveries)", c.Distinct, len(c.Deliveries))
	}

	// Every event is delivered at least once, duplicates are repeats of
	// events, every function gets its family.
	sent := map[string]int{}
	items, dups, http := 0, 0, 0
	for _, d := range a.Deliveries {
		if len(d.Items) == 0 || len(d.Items) > 5 {
			t.Fatalf("delivery %d has %d messages", d.ID, len(d.Items))
		}
		if d.HTTP {
			http++
			if len(d.Items) != 1 {
				t.Fatalf("HTTP delivery with %d messages", len(d.Items))
			}
		}
		for _, it := range d.Items {
			items++
			sent[it.Event.EventID]++
			if it.Dup {
				dups++
			}
			if d.Fn != FamilyRouter(it.Event) {
				t.Errorf("%s sent to %s", it.Event.EventID, d.Fn)
			}
		}
	}
	if len(sent) != a.Distinct || items != a.Items || dups != a.Dups {
		t.Errorf("sent %d distinct events in %d messages (%d repeats); plan says %d, %d, %d", len(sent), items, dups, a.Distinct, a.Items, a.Dups)
	}
	if dups == 0 || dups > a.Distinct/2 || http == 0 {
		t.Errorf("%d repeats of %d events at rate 0.3, %d HTTP deliveries", dups, a.Distinct, http)
	}
}

func shape(d *Delivery) []string {
	s := []string{d.Fn, fmt.Sprint(d.HTTP)}
	for _, it := range d.Items {
		s = append(s, it.Event.EventID[:10], fmt.Sprint(it.Dup, it.Base64))
	}
	return s
}

func TestLifecycleEvents(t *testing.T) {
	fx := fixtures(t)
	rng := rand.New(rand.NewPCG(1, 2))
	types := map[string]bool{}
	for i := 0; i < 200; i++ {
		id := mediaID("tl", 1, i)
		evs, err := fx.Lifecycle(rng, id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) < 5 || len(evs) > 12 {
			t.Fatalf("%d events in a lifecycle", len(evs))
		}
		if evs[0].Family != callback.FamilyUpload {
			t.Errorf("lifecycle starts with %s", evs[0].Family)
		}
		seen := map[string]bool{}
		var prev time.Time
		for _, e := range evs {
			ev, err := callback.Decode(e.Body)
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID != id || seen[ev.EventID] || !ev.Time.After(prev) {
				t.Fatalf("event %s: id %s (want %s), repeated %v, time %v after %v", ev.Type, ev.ID, id, seen[ev.EventID], ev.Time, prev)
			}
			seen[ev.EventID], prev = true, ev.Time
			types[ev.Type] = true
		}
		// All of them change the state: none is a no-op.
		var m *state.Media
		for _, e := range evs {
			ev, _ := callback.Decode(e.Body)
			var changed bool
			if m, changed, err = state.Apply(m, ev); err != nil || !changed {
				t.Fatalf("%s changed=%v err=%v", ev.Type, changed, err)
			}
		}
	}
	for _, want := range []string{"FileUploadComplete", "RegisterMediaComplete", "CreateAuditComplete", "StreamTranscodeComplete",
		"TranscodeComplete", "MediaBaseChangeComplete", "ProduceMediaComplete", "SnapshotComplete", "DeleteMediaComplete"} {
		if !types[want] {
			t.Errorf("no %s in 200 lifecycles", want)
		}
	}
	hot := lifecyclePlan(t, fx, PlanOptions{Tag: "th", HotKey: 200})
	if len(hot.Media) != 1 || hot.Distinct != 200 {
		t.Fatalf("hot key: %d media, %d events", len(hot.Media), hot.Distinct)
	}
	ids := map[string]bool{}
	for _, e := range hot.Media[hot.MediaOrder[0]] {
		ids[e.EventID] = true
	}
	if len(ids) != 200 {
		t.Errorf("hot key: %d distinct events of 200", len(ids))
	}
}

func TestFoldIsOrderIndependent(t *testing.T) {
	fx := fixtures(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		evs, err := fx.Lifecycle(rng, mediaID("tf", 1, i), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		want, err := Fold(evs)
		if err != nil {
			t.Fatal(err)
		}
		shuffled := slices.Clone(evs)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got, err := Fold(append(shuffled, shuffled[0]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("fold depends on order:\n%s\n%s", got, want)
		}
	}
}

// memObjects is an in-memory Objects.
type memObjects map[string][]byte

func (m memObjects) List(_ context.Context, prefix string) (map[string]int64, error) {
	ks := map[string]int64{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			ks[k] = int64(len(v))
		}
	}
	return ks, nil
}

func (m memObjects) Get(_ context.Context, key string) ([]byte, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ossx.ErrNotFound)
	}
	return b, nil
}

func versionKey(id string, seq uint64) string {
	return fmt.Sprintf("p/media/%s/%016x.json", id, ^seq)
}

// storeFolds stores version k as the fold of the events in seqs[k].
func storeFolds(t *testing.T, objs memObjects, id string, evs []*Event, seqs ...[]int) {
	t.Helper()
	for k, idx := range seqs {
		var sub []*Event
		for _, i := range idx {
			sub = append(sub, evs[i])
		}
		b, err := Fold(sub)
		if err != nil {
			t.Fatal(err)
		}
		objs[versionKey(id, uint64(k+1))] = b
	}
}

func TestVerifyDetectsViolations(t *testing.T) {
	fx := fixtures(t)
	rng := rand.New(rand.NewPCG(5, 6))
	id := mediaID("tv", 1, 0)
	evs, err := fx.Lifecycle(rng, id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	evs = evs[:5]
	good := func() memObjects {
		objs := memObjects{}
		storeFolds(t, objs, id, evs, []int{0}, []int{0, 1}, []int{0, 1, 2}, []int{0, 1, 2, 3}, []int{0, 1, 2, 3, 4})
		return objs
	}
	media := map[string][]*Event{id: evs}

	rep, err := Verify(context.Background(), good(), "p/", media)
	if err != nil || !rep.OK() {
		t.Fatalf("a correct store fails the checks: %v %v", err, rep.Violations)
	}
	if rep.Versions != 5 || rep.Media != 1 {
		t.Errorf("report %+v", rep)
	}

	cases := []struct {
		name   string
		tamper func(memObjects)
		want   string
	}{
		{"last event missing", func(o memObjects) { delete(o, versionKey(id, 5)) }, "differs from the fold"},
		{"regression", func(o memObjects) { storeFolds(t, o, id, evs, []int{0}, []int{0, 1}, []int{0, 2}) }, "regressed"},
		{"gap", func(o memObjects) { delete(o, versionKey(id, 2)) }, "without gaps"},
		{"event twice", func(o memObjects) {
			m, _ := state.Unmarshal(o[versionKey(id, 5)])
			m.Events = append(m.Events, m.Events[0])
			o[versionKey(id, 5)], _ = state.Marshal(m)
		}, "twice"},
		{"unknown event", func(o memObjects) {
			other, _ := fx.Lifecycle(rand.New(rand.NewPCG(9, 9)), id, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			b, _ := Fold(append(slices.Clone(evs), other[3]))
			o[versionKey(id, 6)] = b
		}, "never sent"},
		{"no state", func(o memObjects) {
			for k := range maps.Clone(o) {
				if strings.Contains(k, "/media/") {
					delete(o, k)
				}
			}
		}, "no state stored"},
		{"unexpected media", func(o memObjects) { o[versionKey("stranger", 1)] = o[versionKey(id, 1)] }, "no event of it was sent"},
		{"dead letter", func(o memObjects) { o["p/deadletter/upload/bbbb.json"] = []byte("{}") }, "dead letter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := good()
			c.tamper(objs)
			rep, err := Verify(context.Background(), objs, "p/", media)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatalf("tampered store passes the checks")
			}
			if !strings.Contains(strings.Join(rep.Violations, "\n"), c.want) {
				t.Errorf("violations %q do not mention %q", rep.Violations, c.want)
			}
		})
	}
}

func TestLogSinkReassemblesSplitLines(t *testing.T) {
	line := func(req string, i int) string {
		return fmt.Sprintf(`{"time":"2024-01-01T00:00:00Z","level":"INFO","msg":"delivery","requestId":%q,"index":%d,"outcome":"applied","oss":{"PutObject":1},"ossRequests":1}`, req, i)
	}
	a1, a2, b1 := line("a", 0), line("a", 1), line("b", 0)
	s := NewLogSink()
	// Function A's chunk ends in the middle of a line (right before the
	// "oss" object, which starts with '{'); function B writes whole
	// lines, one of them the SDK's own; then A's line ends.
	cut := strings.Index(a2, `{"PutObject"`)
	writes := []string{
		a1 + "\n" + a2[:cut],
		"FC Invoke Start RequestId: b\n" + b1 + "\n",
		a2[cut:] + "\n" + "FC Invoke End RequestId: a\n",
	}
	for _, w := range writes {
		s.Write([]byte(w))
	}
	lines, err := s.Lines(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, l := range lines {
		got = append(got, fmt.Sprintf("%s/%d", k, l.OSS["PutObject"]))
	}
	slices.Sort(got)
	if want := []string{"a/0/1", "a/1/1", "b/0/1"}; !slices.Equal(got, want) {
		t.Fatalf("lines %v, want %v", got, want)
	}
	// Two pending halves: each continuation goes to the half it completes.
	s.Write([]byte(a1[:40]))
	s.Write([]byte(b1[:50]))
	s.Write([]byte(b1[50:] + "\n"))
	s.Write([]byte(a1[40:] + "\n"))
	if lines, err := s.Lines(context.Background(), 2); len(lines) != 2 || err != nil {
		t.Fatalf("interleaved halves: %d lines, %v", len(lines), err)
	}
	s.Write([]byte(`{"time":"x", broken` + "\n"))
	if _, err := s.Lines(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "1 log lines could not be read") {
		t.Errorf("a broken line is not reported: %v", err)
	}
}

func TestLogSinkLinesWaits(t *testing.T) {
	s := NewLogSink()
	done := make(chan error, 1)
	go func() {
		lines, err := s.Lines(context.Background(), 2)
		if err == nil && len(lines) != 2 {
			err = fmt.Errorf("%d lines", len(lines))
		}
		done <- err
	}()
	for i := 0; i < 2; i++ {
		fmt.Fprintf(s, `{"time":"t","msg":"delivery","requestId":"r","index":%d}`+"\n", i)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Lines(ctx, 3); err == nil {
		t.Error("Lines returned no error for a line that never came")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(ds, q); got != want {
			t.Errorf("percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing")
	}
}

// runInProcess sends a plan through the in-process pipeline and returns
// the environment (still running) and what was sent.
func runInProcess(t *testing.T, plan *Plan, faults ossserver.Faults) (*Env, []*DeliveryRecord) {
	t.Helper()
	ctx := context.Background()
	env, err := StartEnv(ctx, &Config{Instances: 2, InProcess: true}, mediaFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	if err := env.OSS.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	sent, _ := Send(ctx, env, plan, 8, 20, "ip")
	if err := env.OSS.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	return env, sent
}

func TestInProcessScenarioPassesChecksAndTamperingFails(t *testing.T) {
	fx := fixtures(t)
	plan := lifecyclePlan(t, fx, PlanOptions{Tag: "ti", Seed: 11, Media: 25, HTTP: 0.3, Base64: 0.2, DupRate: 0.3})
	env, sent := runInProcess(t, plan, ossserver.Faults{Error503Rate: 0.05, ResetRate: 0.02, LostResponseRate: 0.02, Seed: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lines, err := env.Logs.Lines(ctx, answered(sent)) // in process, written before the answer
	if err != nil || len(lines) != answered(sent) {
		t.Fatalf("%d log lines for %d answered messages: %v", len(lines), answered(sent), err)
	}
	res := &Result{Classes: map[string]*ClassAgg{}}
	analyze(res, sent, lines)
	if len(res.Problems) > 0 {
		t.Fatalf("answers: %v", res.Problems)
	}
	if res.Classes[ClassCreate] == nil || res.Classes[ClassDuplicate] == nil || res.Classes[ClassWarm] == nil {
		t.Errorf("classes %v", slices.Collect(maps.Keys(res.Classes)))
	}
	objs := BucketObjects{B: env.Client}
	rep, err := Verify(context.Background(), objs, env.Prefix, plan.Media)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("checks failed after a correct run: %v", rep.Violations)
	}
	if rep.Media != 25 || rep.Versions != plan.Distinct {
		t.Errorf("report %+v; want 25 media, %d versions (one per distinct event)", rep, plan.Distinct)
	}

	// Overwrite one media's newest version with its predecessor: the
	// event of the newest is lost, which the checks must see.
	id := plan.MediaOrder[3]
	listed, err := objs.List(context.Background(), env.Prefix+"media/"+id+"/")
	keys := slices.Sorted(maps.Keys(listed)) // newest first
	if err != nil || len(keys) < 2 {
		t.Fatalf("keys of %s: %v %v", id, keys, err)
	}
	older, err := objs.Get(context.Background(), keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.PutObject(context.Background(), keys[0], older, ossx.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(context.Background(), objs, env.Prefix, plan.Media)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !strings.Contains(strings.Join(rep.Violations, "\n"), id) {
		t.Fatalf("a lost event passes the checks: %v", rep.Violations)
	}
}

func TestHotKeyInProcessLosesNothing(t *testing.T) {
	fx := fixtures(t)
	plan := lifecyclePlan(t, fx, PlanOptions{Tag: "th", Seed: 2, HotKey: 60, BatchMax: 1, Window: 1, HTTP: 0.2})
	env, sent := runInProcess(t, plan, ossserver.Faults{})
	for _, r := range sent {
		if r.GaveUp {
			t.Fatalf("delivery gave up: %v", r.Problems)
		}
	}
	rep, err := Verify(context.Background(), BucketObjects{B: env.Client}, env.Prefix, plan.Media)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Versions != 60 {
		t.Fatalf("hot key: %d versions for 60 events, violations %v", rep.Versions, rep.Violations)
	}
}

// TestStackScenario runs a small lifecycle through the real binaries (the
// path the harness measures) and checks what the report is built from.
func TestStackScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the function binaries")
	}
	fx := fixtures(t)
	cfg := &Config{Root: repoRoot(t), Senders: 8, Instances: 1, Seed: 1, Run: 42}
	lc := PlanOptions{Tag: "st", Seed: 1, Media: 30, Window: 16, BatchMax: 4, HTTP: 0.3, Base64: 0.2}
	sc := Scenario{Name: "st", Plan: lc, Faults: ossserver.Faults{Latency: time.Millisecond}}
	res, err := RunScenario(context.Background(), cfg, fx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("checks failed: %v %v", res.Problems, res.Check.Violations)
	}
	if res.Applied != res.Events {
		t.Errorf("%d applied log lines for %d events", res.Applied, res.Events)
	}
	if res.OSS["PutObject"] < int64(res.Events) {
		t.Errorf("%d PUTs for %d events", res.OSS["PutObject"], res.Events)
	}
	for _, fn := range mediaFunctions {
		if res.PeakRSS[fn] <= 0 {
			t.Errorf("no RSS for %s", fn)
		}
	}
	if w := res.Classes[ClassWarm]; w == nil || w.Ops["PutObject"] != int64(w.N) {
		t.Errorf("a warm message that lost no race makes exactly one PUT: %+v", w)
	}
	if c := res.Classes[ClassCreate]; c == nil || c.N < 30 {
		t.Errorf("every media starts with a first write: %+v", c)
	}
}
