package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	Root, BinCache     string
	Senders, Instances int
	Latency            time.Duration
	Seed               uint64
	Run                uint32 // tags this run's MediaIds
	InProcess          bool
	ExtraEnv           []string
}

// Scenario describes one scenario.
type Scenario struct {
	Name, Title string
	Plan        PlanOptions
	Faults      ossserver.Faults // latency included
	// Functions receive the workload (default mediaFunctions); Quiet are
	// started besides them without warm-up.
	Functions, Quiet []string
	Hostile          bool     // mix hostile requests in, then measure them alone
	Env              []string // added to the functions' environment
}

// ClassAgg counts the messages of one class and the OSS requests they made.
type ClassAgg struct {
	N   int
	Ops map[string]int64
}

// The classes of messages, from the harness's view of which instance had
// already handled the media and the function's log line.
const (
	ClassCreate    = "first write (v1)"
	ClassCold      = "cold: instance had not seen the media"
	ClassColdRace  = "cold, lost race: create-first guess wrong or concurrent writer"
	ClassWarm      = "warm: instance knew the newest version"
	ClassStale     = "warm, lost race: stale cache or concurrent writer"
	ClassDuplicate = "duplicate"
	ClassRetry     = "attempt answered retry"
)

var classOrder = []string{ClassCreate, ClassCold, ClassColdRace, ClassWarm, ClassStale, ClassDuplicate, ClassRetry}

// Result is what one scenario measured.
type Result struct {
	Name, Title                   string
	Media, Events, Messages       int // Events: distinct; Messages: sent, duplicates included
	Deliveries, Invocations, HTTP int
	Wall                          time.Duration
	EventsPerS, Ratio             float64 // Ratio: to the baseline's events/s
	OSS, OSSErrors                map[string]int64
	Faults                        ossserver.FaultCounts
	LatP50, LatP99                time.Duration
	Conflicts, StoreRetries       int // from the log lines
	Redelivered, Applied          int
	Classes                       map[string]*ClassAgg
	DupPuts                       int64 // PutObjects made while handling duplicates
	PeakRSS                       map[string]int64
	PeakRunning                   map[string]int
	ColdStarts                    []time.Duration
	Check                         *CheckReport
	Hostile                       *HostileReport
	Problems                      []string // answer-level violations
}

// OSSPerEvent returns all OSS requests of the scenario per distinct event.
func (r *Result) OSSPerEvent() float64 { return float64(total(r.OSS)) / float64(max(1, r.Events)) }

func total(m map[string]int64) (t int64) {
	for _, v := range m {
		t += v
	}
	return t
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
	env, err := StartEnv(ctx, cfg, append(slices.Clone(fns), sc.Quiet...), append(slices.Clone(sc.Env), cfg.ExtraEnv...))
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
	env.Logs.Lines(ctx, 0)

	var stopHostile func() *HostileReport
	if sc.Hostile {
		stopHostile = startHostile(ctx, env, 4)
	}
	recs, wall := Send(ctx, env, plan, cfg.Senders, attempts, sc.Plan.Tag)
	res := &Result{Name: sc.Name, Title: sc.Title, Media: len(plan.Media), Events: plan.Distinct, Messages: plan.Items,
		Deliveries: len(plan.Deliveries), Wall: wall, EventsPerS: float64(plan.Distinct) / wall.Seconds(),
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
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	lines, err := env.Logs.Lines(wctx, answered(recs))
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
	}
	analyze(res, recs, lines)

	if res.Check, err = Verify(ctx, BucketObjects{env.Client}, env.Prefix, plan.Media); err != nil {
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

// warmUp sends an event of a media of its own (tagged "wu") to every
// instance of every function, so that the measured run starts with warm
// instances (process started, bucket checked, connections open). It
// returns, per function, the time from its first process's start to its
// first poll plus that first invocation: a cold start.
func warmUp(ctx context.Context, env *Env, fx *Fixtures, fns []string, cfg *Config) ([]time.Duration, error) {
	p := &Plan{}
	for i := range len(fns) * cfg.Instances {
		id := mediaID("wu", cfg.Run, i)
		e, err := newEvent(id, 0, fx.Body("ims-file-upload-complete", id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
		if err != nil {
			return nil, err
		}
		p.Deliveries = append(p.Deliveries, &Delivery{ID: i, Fn: fns[i%len(fns)], Items: []*Item{{Event: e}}})
	}
	recs, _ := Send(ctx, env, p, len(p.Deliveries), 1, "wu")
	var cold []time.Duration
	for i, r := range recs {
		if r.GaveUp {
			return nil, fmt.Errorf("%s: %v", r.Delivery.Fn, r.Problems)
		}
		if i < len(fns) && len(env.Functions) > 0 {
			cold = append(cold, env.Functions[fns[i]].Stats().Instances[0].InitDuration+r.Latency)
		}
	}
	return cold, nil
}

// warmupPrefix starts the request ids of warm-up invocations. Their log
// lines may come through the pipes after the scenario has started, so
// Lines leaves them out.
const warmupPrefix = "h-wu-"

// answered counts the messages of the attempts an instance answered: the
// delivery log lines to expect.
func answered(recs []*DeliveryRecord) (n int) {
	for _, r := range recs {
		for _, a := range r.Attempts {
			if a.Instance != "" {
				n += len(r.Delivery.Items)
			}
		}
	}
	return n
}

// analyze fills res from the delivery records and the functions' logs:
// the answer checks, latency, and where the OSS requests went per class
// of message.
func analyze(res *Result, recs []*DeliveryRecord, lines map[string]*LogLine) {
	var lat []time.Duration
	var all []*Attempt
	for _, r := range recs {
		d := r.Delivery
		lat, all = append(lat, r.Latency), append(all, r.Attempts...)
		res.Invocations, res.Redelivered = res.Invocations+len(r.Attempts), res.Redelivered+max(0, len(r.Attempts)-1)
		if d.HTTP {
			res.HTTP++
		}
		if r.GaveUp {
			res.Problems = append(res.Problems, fmt.Sprintf("delivery %d to %s gave up after %d attempts: %v", d.ID, d.Fn, len(r.Attempts), r.Problems))
			continue
		}
		for i, it := range d.Items {
			if out := r.Final[i]; out.Outcome != "applied" && out.Outcome != "duplicate" {
				res.Problems = append(res.Problems, fmt.Sprintf("event %s of %s answered %q %s", it.Event.EventID, it.Event.MediaID, out.Outcome, out.Code))
			}
		}
	}
	res.LatP50, res.LatP99 = percentile(lat, 0.50), percentile(lat, 0.99)

	// Which instance knew which media, in the order the attempts ended.
	slices.SortFunc(all, func(a, b *Attempt) int { return int(a.Done - b.Done) })
	known := map[string]bool{} // instance/MediaId
	for _, a := range all {
		for i, it := range a.Delivery.Items {
			l := lines[fmt.Sprintf("%s/%d", a.RequestID, i)]
			if a.Instance == "" || l == nil {
				continue // unanswered; WaitFor reported a missing line
			}
			res.Conflicts, res.StoreRetries = res.Conflicts+l.Conflicts, res.StoreRetries+l.Retries
			kn := known[a.Instance+"/"+it.Event.MediaID]
			class := ClassWarm
			switch {
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
			}
			if l.Outcome == "applied" {
				res.Applied++
			}
			if res.Classes[class] == nil {
				res.Classes[class] = &ClassAgg{Ops: map[string]int64{}}
			}
			c := res.Classes[class]
			c.N++
			for k, v := range l.OSS {
				c.Ops[k] += v
			}
			if l.Outcome == "applied" || l.Outcome == "duplicate" {
				known[a.Instance+"/"+it.Event.MediaID] = true
			}
		}
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
	env, err := StartEnv(ctx, &Config{Root: cfg.Root, Instances: 1, InProcess: true}, []string{"media"}, nil)
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
