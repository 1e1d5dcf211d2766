package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"mediastate/shared/ossx"
	"mediastate/test/ossserver"
)

const (
	functionTimeout = 30 * time.Second
	attempts        = 10 // per delivery, the first included
)

// Config is the harness configuration (flags).
type Config struct {
	Root      string
	Senders   int
	Latency   time.Duration
	Instances int
	Seed      uint64
	Run       uint32 // tags this run's MediaIds
	InProcess bool
	ExtraEnv  []string
}

// Scenario describes one scenario.
type Scenario struct {
	Name, Title string
	Plan        PlanOptions
	Faults      ossserver.Faults // latency included
	// Functions receive the workload (default mediaFunctions); Quiet are
	// started besides them without warm-up.
	Functions, Quiet []string
	// Hostile mixes anonymous hostile requests into the sends, then
	// measures them alone (see HostileReport).
	Hostile bool
	Env     []string // added to the functions' environment
}

// ClassAgg aggregates the messages of one class: OSS requests they made.
type ClassAgg struct {
	N   int
	Req int64
	Ops map[string]int64
}

// Per-message classes, from the harness's view of which instance had
// already handled the media and the function's log line.
const (
	ClassCreate    = "first write (v1)"
	ClassCold      = "cold: instance had not seen the media"
	ClassColdRace  = "cold, lost race: create-first guess wrong or concurrent writer"
	ClassWarm      = "warm: instance knew the newest version"
	ClassStale     = "warm, lost race: stale cache or concurrent writer"
	ClassDuplicate = "duplicate"
	ClassRetry     = "attempt answered retry"
	ClassBad       = "bad input (dead-lettered or refused)"
)

var classOrder = []string{ClassCreate, ClassCold, ClassColdRace, ClassWarm, ClassStale, ClassDuplicate, ClassRetry, ClassBad}

// Result is what one scenario measured.
type Result struct {
	Name, Title                   string
	Media, Events, Messages, Bad  int // Events: distinct; Messages: event messages sent
	Deliveries, Invocations, HTTP int
	Wall                          time.Duration
	EventsPerS, Ratio             float64 // Ratio: to the baseline's events/s
	OSS, OSSErrors                map[string]int64
	Faults                        ossserver.FaultCounts
	LatP50, LatP99                time.Duration
	Conflicts, StoreRetries       int64 // from the log lines
	Redelivered, Applied, Missing int   // Missing: log lines that never came
	Classes                       map[string]*ClassAgg
	DupPuts                       int64 // PutObjects made while handling duplicates
	PeakRSS                       map[string]int64
	PeakRunning                   map[string]int
	ColdStarts                    []time.Duration // first poll + first (warm-up) invocation per function
	Check                         *CheckReport
	Hostile                       *HostileReport
	Problems                      []string // answer-level violations
}

// OSSPerEvent returns all OSS requests of the scenario per distinct event.
func (r *Result) OSSPerEvent() float64 {
	var t int64
	for _, v := range r.OSS {
		t += v
	}
	return float64(t) / float64(max(1, r.Events))
}

// Failed reports whether a check failed.
func (r *Result) Failed() bool { return len(r.Problems) > 0 || r.Check == nil || !r.Check.OK() }

// RunScenario runs one scenario on a fresh system and checks the outcome.
func RunScenario(ctx context.Context, cfg *Config, fx *Fixtures, sc Scenario) (*Result, error) {
	plan, err := fx.BuildPlan(sc.Plan)
	if err != nil {
		return nil, err
	}
	fns := sc.Functions
	if len(fns) == 0 {
		fns = mediaFunctions
	}
	env, err := StartEnv(ctx, cfg.Root, append(slices.Clone(fns), sc.Quiet...), cfg.Instances, cfg.InProcess, append(slices.Clone(sc.Env), cfg.ExtraEnv...))
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", sc.Name, err)
	}
	defer env.Close()
	if err := env.OSS.SetFaults(ossserver.Faults{Latency: sc.Faults.Latency}); err != nil {
		return nil, err
	}
	cold, err := warmUp(ctx, env, fx, fns, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", sc.Name, err)
	}
	if err := env.OSS.SetFaults(sc.Faults); err != nil {
		return nil, err
	}
	env.OSS.ResetStats()
	env.Logs.Take()

	var stopHostile func() *HostileReport
	if sc.Hostile {
		stopHostile = startHostile(ctx, env, 4)
	}
	recs, wall := Send(ctx, env, plan, cfg.Senders, attempts, sc.Plan.Tag)
	res := &Result{Name: sc.Name, Title: sc.Title, Media: len(plan.Media), Events: plan.Distinct, Messages: plan.Items,
		Bad: len(plan.Bad), Deliveries: len(plan.Deliveries), Wall: wall, EventsPerS: float64(plan.Distinct) / wall.Seconds(),
		Classes: map[string]*ClassAgg{}, ColdStarts: cold}
	if stopHostile != nil {
		res.Hostile = stopHostile()
	}
	st := env.OSS.Stats()
	res.OSS, res.OSSErrors, res.Faults = st.Requests, st.Errors, st.Faults
	res.PeakRSS, res.PeakRunning = env.PeakRSS()
	if err := env.OSS.SetFaults(ossserver.Faults{}); err != nil || ctx.Err() != nil {
		return nil, errors.Join(err, ctx.Err())
	}

	// Every answered attempt logged one line per message; wait for them
	// to come through the pipes.
	want := 0
	for _, r := range recs {
		for _, a := range r.Attempts {
			if a.Instance != "" {
				want += len(a.Delivery.Items)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	if err := env.Logs.WaitFor(wctx, want); err != nil {
		res.Problems = append(res.Problems, "logs: "+err.Error())
	}
	cancel()
	lines, unparsed := env.Logs.Take()
	if unparsed > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d log lines could not be read", unparsed))
	}
	analyze(res, recs, lines)

	if res.Check, err = Verify(ctx, BucketObjects{env.Client}, env.Prefix, plan.Media, plan.Bad); err != nil {
		return res, fmt.Errorf("%s: verify: %w", sc.Name, err)
	}
	if res.Hostile != nil {
		if err := hostileAfter(ctx, env, res.Hostile); err != nil {
			return res, fmt.Errorf("%s: hostile: %w", sc.Name, err)
		}
		res.Problems = append(res.Problems, res.Hostile.Problems...)
	}
	return res, nil
}

// warmUp sends events of media assets of its own (tagged "wu") to every
// function until each instance has answered one, so that the measured
// run starts with warm instances (process started, bucket checked,
// connections open). It returns, per function, the time from its first
// process's start to its first poll plus the first invocation: a cold
// start.
func warmUp(ctx context.Context, env *Env, fx *Fixtures, fns []string, cfg *Config) ([]time.Duration, error) {
	var mu sync.Mutex
	var errs []error
	var cold []time.Duration
	forEach(len(fns), len(fns), func(fi int) {
		fn := fns[fi]
		for round := 0; round < 20; round++ {
			forEach(cfg.Instances, cfg.Instances, func(k int) {
				id := mediaID("wu", cfg.Run, fi*10000+round*100+k)
				e, err := newEvent(id, 0, fx.Body("ims-file-upload-complete", id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
				t0 := time.Now()
				var ans Answer
				if err == nil {
					d := &Delivery{Fn: fn, Items: []*Item{{Event: e}}}
					ans, err = env.Invoke(ctx, fn, payload(env, d, "wu", ""), fmt.Sprintf("%s%s-%d-%d", warmupPrefix, fn, round, k))
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil || ans.Failed {
					errs = append(errs, fmt.Errorf("%s: %v %s", fn, err, ans.Err))
				} else if round == 0 && k == 0 && env.Stack != nil {
					cold = append(cold, env.Stack.Functions[fn].Stats().Instances[0].InitDuration+time.Since(t0))
				}
			})
			if env.Stack == nil {
				return // in process: the instances take turns
			}
			all := true
			for _, in := range env.Stack.Functions[fn].Stats().Instances {
				all = all && in.Served > 0
			}
			if all {
				return
			}
		}
		mu.Lock()
		errs = append(errs, fmt.Errorf("%s: not every instance answered a warm-up invocation", fn))
		mu.Unlock()
	})
	return cold, errors.Join(errs...)
}

// warmupPrefix starts the request ids of warm-up invocations. Their log
// lines may come through the pipes after the scenario has started, so
// analyze leaves them out.
const warmupPrefix = "warmup-"

type lineKey struct {
	req string
	idx int
}

// analyze fills res from the delivery records and the functions' logs:
// the answer checks, latency, and where the OSS requests went per class
// of message.
func analyze(res *Result, recs []*DeliveryRecord, lines []LogLine) {
	byKey := make(map[lineKey]*LogLine, len(lines))
	for i := range lines {
		l := &lines[i]
		if !strings.HasPrefix(l.RequestID, warmupPrefix) {
			byKey[lineKey{l.RequestID, l.Index}] = l
		}
	}
	var lat []time.Duration
	var all []*Attempt
	for _, r := range recs {
		d := r.Delivery
		lat = append(lat, r.Latency)
		all = append(all, r.Attempts...)
		res.Invocations += len(r.Attempts)
		res.Redelivered += max(0, len(r.Attempts)-1)
		if d.HTTP {
			res.HTTP++
		}
		if r.GaveUp {
			res.Problems = append(res.Problems, fmt.Sprintf("delivery %d to %s gave up after %d attempts: %v", d.ID, d.Fn, len(r.Attempts), r.Problems))
			continue
		}
		for i, it := range d.Items {
			out := r.Final[i]
			switch {
			case it.Bad != nil && it.Bad.Refused && out.Outcome != "refused",
				it.Bad != nil && !it.Bad.Refused && out.Outcome != "dead-lettered",
				it.Bad != nil && d.HTTP && (out.Status < 400 || out.Status >= 500):
				res.Problems = append(res.Problems, fmt.Sprintf("bad input %s (%s) answered %q (status %d)", it.Bad.Nonce, it.Bad.Kind, out.Outcome, out.Status))
			case it.Event != nil && out.Outcome != "applied" && out.Outcome != "duplicate":
				res.Problems = append(res.Problems, fmt.Sprintf("event %s of %s answered %q %s", it.Event.EventID, it.Event.MediaID, out.Outcome, out.Code))
			}
		}
	}
	res.LatP50, res.LatP99 = percentile(lat, 0.50), percentile(lat, 0.99)

	// Which instance knew which media, in the order the attempts ended.
	slices.SortFunc(all, func(a, b *Attempt) int { return int(a.Done - b.Done) })
	known := map[string]bool{} // instance + MediaId
	for _, a := range all {
		if a.Instance == "" {
			continue
		}
		for i, it := range a.Delivery.Items {
			l := byKey[lineKey{a.RequestID, i}]
			if l == nil {
				res.Missing++
				continue
			}
			res.Conflicts += int64(l.Conflicts)
			res.StoreRetries += int64(l.Retries)
			kn := it.Event != nil && known[a.Instance+"/"+it.Event.MediaID]
			var class string
			switch {
			case it.Bad != nil:
				class = ClassBad
			case l.Outcome == "retry":
				class = ClassRetry
			case l.Outcome == "duplicate":
				class = ClassDuplicate
				res.DupPuts += l.OSS["PutObject"]
			case l.Conflicts > 0 && kn:
				class = ClassStale
			case l.Conflicts > 0:
				class = ClassColdRace
			case !kn && l.Version == 1:
				class = ClassCreate
			case !kn:
				class = ClassCold
			default:
				class = ClassWarm
			}
			if l.Outcome == "applied" {
				res.Applied++
			}
			c := res.Classes[class]
			if c == nil {
				c = &ClassAgg{Ops: map[string]int64{}}
				res.Classes[class] = c
			}
			c.N, c.Req = c.N+1, c.Req+l.Requests
			for k, v := range l.OSS {
				c.Ops[k] += v
			}
			if it.Event != nil && (l.Outcome == "applied" || l.Outcome == "duplicate") {
				known[a.Instance+"/"+it.Event.MediaID] = true
			}
		}
	}
	if res.Missing > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d messages answered without a log line", res.Missing))
	}
	if n := len(res.Problems); n > 25 {
		res.Problems = append(res.Problems[:25], fmt.Sprintf("... and %d more", n-25))
	}
}

// RunBaseline writes the lifecycle's bodies with blind PutObjects, one
// request per event, no ordering, with the same latency and concurrency:
// the floor any correct design pays at least once.
func RunBaseline(ctx context.Context, cfg *Config, fx *Fixtures, sc Scenario) (*Result, error) {
	plan, err := fx.BuildPlan(sc.Plan)
	if err != nil {
		return nil, err
	}
	env, err := startInProcess(nil, 1, nil)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	var evs []*Event
	for _, id := range plan.MediaOrder {
		evs = append(evs, plan.Media[id]...)
	}
	if err := env.OSS.SetFaults(sc.Faults); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, len(evs))
	errs := make([]error, len(evs))
	start := time.Now()
	forEach(cfg.Senders, len(evs), func(i int) {
		t0 := time.Now()
		errs[i] = env.Client.PutObject(ctx, fmt.Sprintf("baseline/%s/%d.json", evs[i].MediaID, evs[i].Seq), evs[i].Body, ossx.PutOptions{})
		lat[i] = time.Since(t0)
	})
	wall := time.Since(start)
	st := env.OSS.Stats()
	res := &Result{Name: sc.Name, Title: sc.Title, Media: len(plan.Media), Events: len(evs), Messages: len(evs), Deliveries: len(evs),
		Invocations: len(evs), Wall: wall, EventsPerS: float64(len(evs)) / wall.Seconds(), Ratio: 1, OSS: st.Requests,
		OSSErrors: st.Errors, LatP50: percentile(lat, 0.5), LatP99: percentile(lat, 0.99), Classes: map[string]*ClassAgg{}}
	if err := errors.Join(errs...); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("baseline put: %.300s", err))
	}
	keys, err := BucketObjects{env.Client}.List(ctx, "baseline/")
	res.Check = &CheckReport{Versions: len(keys), Media: len(plan.Media)}
	if len(keys) != len(evs) {
		res.Check.violate("baseline stored %d objects for %d events", len(keys), len(evs))
	}
	return res, err
}
