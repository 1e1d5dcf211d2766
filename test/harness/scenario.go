package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"mediastate/shared/ossx"
	"mediastate/test/ossserver"
)

// Config is the harness configuration (flags).
type Config struct {
	Root        string
	Media       int
	Senders     int
	Latency     time.Duration
	Jitter      time.Duration
	Instances   int
	Seed        uint64
	Run         uint32
	HotEvents   int
	DupRate     float64
	BatchMax    int
	HTTPShare   float64
	Bad         int
	Attempts    int
	Timeout     time.Duration
	Window      int
	InProcess   bool
	Fault503    float64
	FaultReset  float64
	FaultLost   float64
	ColdSamples int
	ExtraEnv    []string
	Verbose     bool
	Logf        func(format string, args ...any)
}

// Scenario describes one scenario.
type Scenario struct {
	Name      string
	Title     string
	Plan      PlanOptions
	Faults    ossserver.Faults
	Functions []string
	// Before runs after the warm-up, before the measured sends.
	Before func(ctx context.Context, env *Env) error
	// Unwarmed are functions started besides Functions, without warm-up
	// (they receive no lifecycle events).
	Unwarmed []string
	// Hostile mixes anonymous hostile requests into the sends, then
	// measures them alone (see HostileReport).
	Hostile bool
	// Env is added to the functions' environment (-env overrides it).
	Env []string
}

// ClassAgg aggregates deliveries of one kind: OSS requests they made.
type ClassAgg struct {
	N   int
	Req int64
	Ops map[string]int64
}

func (c *ClassAgg) add(l *LogLine) {
	c.N++
	c.Req += l.Requests
	if c.Ops == nil {
		c.Ops = map[string]int64{}
	}
	for k, v := range l.OSS {
		c.Ops[k] += v
	}
}

// Per-message classes, from the harness's view of which instance had
// already handled the media and the function's log line.
const (
	ClassCreate    = "first write (v1)"
	ClassCold      = "cold: instance had not seen the media"
	ClassWarm      = "warm: instance knew the newest version"
	ClassStale     = "warm, lost race: stale cache or concurrent writer"
	ClassColdRace  = "cold, lost race: create-first guess wrong or concurrent writer"
	ClassDuplicate = "duplicate"
	ClassRetry     = "attempt answered retry"
	ClassBad       = "bad input (dead-lettered)"
)

var classOrder = []string{ClassCreate, ClassCold, ClassColdRace, ClassWarm, ClassStale, ClassDuplicate, ClassRetry, ClassBad}

// Result is what one scenario measured.
type Result struct {
	Name, Title string
	InProcess   bool
	Media       int
	Events      int // distinct events
	Messages    int // event messages sent (duplicates included)
	Dups        int
	Bad         int
	Deliveries  int
	Invocations int // attempts, retries included
	HTTP        int
	Wall        time.Duration
	EventsPerS  float64
	Ratio       float64 // to the baseline's events/s
	OSS         map[string]int64
	OSSErrors   map[string]int64
	Faults      ossserver.FaultCounts
	LatP50      time.Duration
	LatP99      time.Duration
	LatMax      time.Duration
	Conflicts   int64 // lost races (store), from the logs
	StoreRetry  int64 // transient OSS failures retried by the store
	Redelivered int   // deliveries sent again by the senders
	GaveUp      int
	Classes     map[string]*ClassAgg
	DupWithPut  int   // duplicate messages whose handling made a PutObject
	DupPuts     int64 // PutObjects made while handling duplicates
	// DupRaced counts duplicates with a PutObject whose handling overlapped
	// the attempt that applied the event (a true race, not a cache miss).
	DupRaced    int
	Applied     int // log lines with outcome applied
	PeakRSS     map[string]int64
	PeakRunning map[string]int
	// CPU used during the sends: by this process (OSS server, emulator,
	// senders; everything when in process) and by the function processes.
	CPUHarness, CPUFunctions time.Duration
	LogMissing               int
	LogUnparsed              int
	Check                    *CheckReport
	Hostile                  *HostileReport
	Problems                 []string // answer-level violations
	Extra                    map[string]string
}

// TotalOSS returns all OSS requests of the scenario.
func (r *Result) TotalOSS() int64 {
	var t int64
	for _, v := range r.OSS {
		t += v
	}
	return t
}

// Failed reports whether a check failed.
func (r *Result) Failed() bool {
	return len(r.Problems) > 0 || (r.Check != nil && !r.Check.OK())
}

func (cfg *Config) faults(extra ossserver.Faults) ossserver.Faults {
	extra.Latency, extra.Jitter = cfg.Latency, cfg.Jitter
	if extra.Seed == 0 {
		extra.Seed = int64(cfg.Seed) + 1
	}
	return extra
}

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
	env, err := StartEnv(ctx, EnvOptions{Root: cfg.Root, Functions: append(slices.Clone(fns), sc.Unwarmed...), Instances: cfg.Instances, Timeout: cfg.Timeout,
		InProcess: cfg.InProcess, ExtraEnv: append(slices.Clone(sc.Env), cfg.ExtraEnv...)})
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", sc.Name, err)
	}
	defer env.Close()
	if err := warmUp(ctx, env, fx, fns, cfg.Run, cfg.Instances); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", sc.Name, err)
	}
	if sc.Before != nil {
		// With the latency (not the faults) of the scenario.
		if err := env.OSS.SetFaults(cfg.faults(ossserver.Faults{})); err != nil {
			return nil, err
		}
		if err := sc.Before(ctx, env); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.Name, err)
		}
	}
	if err := env.OSS.SetFaults(sc.Faults); err != nil {
		return nil, err
	}
	env.OSS.ResetStats()
	env.Logs.Take()

	meter := startCPU(env)
	var stopHostile func() (map[string]int, []string)
	if sc.Hostile {
		stopHostile = startHostile(ctx, env, 4)
	}
	sent := Send(ctx, env, plan, SenderOptions{Senders: cfg.Senders, Attempts: cfg.Attempts, Scenario: sc.Plan.Tag, Keys: env.Keys, Seed: cfg.Seed})
	var hostile *HostileReport
	if stopHostile != nil {
		hostile = &HostileReport{}
		hostile.Mixed, hostile.Unexpected = stopHostile()
	}
	st := env.OSS.Stats()
	cpuSelf, cpuFn := meter.stop()
	if err := env.OSS.SetFaults(ossserver.Faults{}); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	res := &Result{Name: sc.Name, Title: sc.Title, InProcess: cfg.InProcess, Media: len(plan.Media), Events: plan.Distinct,
		Messages: plan.Items, Dups: plan.Dups, Bad: len(plan.Bad), Deliveries: len(plan.Deliveries), Wall: sent.Wall,
		OSS: st.Requests, OSSErrors: st.Errors, Faults: st.Faults, PeakRSS: env.PeakRSS(), PeakRunning: env.PeakRunning(),
		Classes: map[string]*ClassAgg{}, Extra: map[string]string{}, CPUHarness: cpuSelf, CPUFunctions: cpuFn}
	res.EventsPerS = float64(plan.Distinct) / sent.Wall.Seconds()

	// Every answered attempt logged one line per message; wait for them
	// to come through the pipes.
	want := 0
	for _, r := range sent.Records {
		if r == nil {
			continue
		}
		for _, a := range r.Attempts {
			if a.Instance != "" {
				want += len(a.Delivery.Items)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	if err := env.Logs.WaitFor(wctx, want); err != nil {
		res.Extra["logs"] = err.Error()
	}
	cancel()
	lines, unparsed, err := env.Logs.Take()
	if err != nil {
		res.Extra["log parse"] = err.Error()
	}
	res.LogUnparsed = unparsed
	analyze(res, sent, lines)

	check, err := Verify(ctx, BucketObjects{B: env.Client}, Expectation{
		Prefix: env.Prefix, Media: plan.Media, Bad: plan.Bad,
		Ignore: func(id string) bool { return strings.HasPrefix(id, "wu") },
	}, 8)
	if err != nil {
		return res, fmt.Errorf("%s: verify: %w", sc.Name, err)
	}
	res.Check = check
	if hostile != nil {
		res.Hostile = hostile
		if err := hostileAfter(ctx, env, hostile); err != nil {
			return res, fmt.Errorf("%s: hostile: %w", sc.Name, err)
		}
		for _, p := range append(slices.Clone(hostile.Unexpected), hostile.MemProblems...) {
			res.Problems = append(res.Problems, "hostile: "+p)
		}
		if hostile.StoredObjects != 0 || hostile.VictimRecords != 0 {
			res.Problems = append(res.Problems, fmt.Sprintf("hostile: %d requests stored %d objects (%d bytes); %d victim records",
				hostile.Alone, hostile.StoredObjects, hostile.StoredBytes, hostile.VictimRecords))
		}
	}
	return res, nil
}

// warmUp sends events of media assets of its own to every function until
// each instance has answered one, so that the measured run starts with
// warm instances (process started, bucket checked, connections open).
func warmUp(ctx context.Context, env *Env, fx *Fixtures, fns []string, run uint32, instances int) error {
	instances = max(1, instances)
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = warmFunction(ctx, env, fx, fn, i, run, instances)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func warmFunction(ctx context.Context, env *Env, fx *Fixtures, fn string, fi int, run uint32, instances int) error {
	n := 0
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		errs := make([]error, instances)
		for k := 0; k < instances; k++ {
			n++
			wg.Add(1)
			go func(k, n int) {
				defer wg.Done()
				id := mediaID("wu", run, fi*10000+n)
				e, err := newEvent(id, 0, fx.Body("ims-file-upload-complete", id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
				if err != nil {
					errs[k] = err
					return
				}
				d := &Delivery{ID: n, Fn: fn, Items: []*Item{{Event: e}}}
				ans, err := env.Invoke(ctx, fn, buildPayload("wu", d), fmt.Sprintf("%s%s-%d", warmupPrefix, fn, n))
				switch {
				case err != nil:
					errs[k] = err
				case ans.Failed:
					errs[k] = fmt.Errorf("%s: %s", fn, ans.Err)
				}
			}(k, n)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if env.Stack == nil {
			return nil // in process: the instances take turns
		}
		all := true
		for _, in := range env.Stack.Functions[fn].Stats().Instances {
			all = all && in.Served > 0
		}
		if all {
			return nil
		}
	}
	return fmt.Errorf("%s: not every instance answered a warm-up invocation", fn)
}

// warmupPrefix starts the request ids of warm-up invocations. Their log
// lines may come through the pipes after the scenario has started, so
// analyze leaves them out.
const warmupPrefix = "warmup-"

type lineKey struct {
	req string
	idx int
}

// analyze fills res from the delivery records and the functions' logs.
func analyze(res *Result, sent *SendResult, lines []LogLine) {
	byKey := make(map[lineKey]*LogLine, len(lines))
	for i := range lines {
		l := &lines[i]
		if strings.HasPrefix(l.RequestID, warmupPrefix) {
			continue
		}
		byKey[lineKey{l.RequestID, l.Index}] = l
		res.Conflicts += int64(l.Conflicts)
		res.StoreRetry += int64(l.Retries)
		if l.Outcome == "applied" {
			res.Applied++
		}
	}
	var lat []time.Duration
	var attempts []*AttemptRecord
	for _, r := range sent.Records {
		if r == nil {
			res.Problems = append(res.Problems, "a delivery was never sent")
			continue
		}
		d := r.Delivery
		lat = append(lat, r.Latency)
		attempts = append(attempts, r.Attempts...)
		res.Invocations += len(r.Attempts)
		res.Redelivered += max(0, len(r.Attempts)-1)
		if d.HTTP {
			res.HTTP++
		}
		if r.GaveUp {
			res.GaveUp++
			res.Problems = append(res.Problems, fmt.Sprintf("delivery %d to %s gave up after %d attempts: %s",
				d.ID, d.Fn, len(r.Attempts), strings.Join(lastN(r.Problems, 2), "; ")))
			continue
		}
		for i, it := range d.Items {
			out := r.Final[i]
			switch {
			case it.Bad != nil && out.Outcome != badOutcome(it.Bad):
				res.Problems = append(res.Problems, fmt.Sprintf("bad input %s (%s) answered %q (status %d), want %s",
					it.Bad.Nonce, it.Bad.Kind, out.Outcome, out.Status, badOutcome(it.Bad)))
			case it.Bad != nil && d.HTTP && (out.Status < 400 || out.Status >= 500):
				res.Problems = append(res.Problems, fmt.Sprintf("bad HTTP input %s (%s) answered status %d, want 4xx", it.Bad.Nonce, it.Bad.Kind, out.Status))
			case it.Event != nil && out.Outcome != "applied" && out.Outcome != "duplicate":
				res.Problems = append(res.Problems, fmt.Sprintf("event %s %s of %s answered %q %s", it.Event.Type, it.Event.EventID, it.Event.MediaID, out.Outcome, out.Code))
			}
		}
	}
	res.LatP50, res.LatP99, res.LatMax = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)

	// The attempt that applied each event.
	appliedBy := map[string]*AttemptRecord{}
	for _, a := range attempts {
		for i := range a.Delivery.Items {
			if l := byKey[lineKey{a.RequestID, i}]; l != nil && l.Outcome == "applied" {
				appliedBy[l.EventID] = a
			}
		}
	}
	// Which instance knew which media, in the order the attempts ended.
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Done < attempts[j].Done })
	known := map[string]map[string]bool{}
	for _, a := range attempts {
		if a.Instance == "" {
			continue
		}
		kn := known[a.Instance]
		if kn == nil {
			kn = map[string]bool{}
			known[a.Instance] = kn
		}
		for i, it := range a.Delivery.Items {
			l := byKey[lineKey{a.RequestID, i}]
			if l == nil {
				res.LogMissing++
				continue
			}
			class := ""
			switch {
			case it.Bad != nil:
				class = ClassBad
			case l.Outcome == "retry":
				class = ClassRetry
			case l.Outcome == "duplicate":
				class = ClassDuplicate
				if p := l.OSS["PutObject"]; p > 0 {
					res.DupWithPut++
					res.DupPuts += p
					if o := appliedBy[l.EventID]; o != nil && o.Start.Before(a.Start.Add(a.Duration)) && a.Start.Before(o.Start.Add(o.Duration)) {
						res.DupRaced++
					}
				}
			case l.Conflicts > 0 && kn[it.Event.MediaID]:
				class = ClassStale
			case l.Conflicts > 0:
				class = ClassColdRace
			case !kn[it.Event.MediaID] && l.Version == 1:
				class = ClassCreate
			case !kn[it.Event.MediaID]:
				class = ClassCold
			default:
				class = ClassWarm
			}
			c := res.Classes[class]
			if c == nil {
				c = &ClassAgg{}
				res.Classes[class] = c
			}
			c.add(l)
			if it.Event != nil && (l.Outcome == "applied" || l.Outcome == "duplicate") {
				kn[it.Event.MediaID] = true
			}
		}
	}
	if len(res.Problems) > 25 {
		n := len(res.Problems)
		res.Problems = append(res.Problems[:25], fmt.Sprintf("... and %d more", n-25))
	}
}

// badOutcome is the outcome a bad input must be answered with.
func badOutcome(b *BadInput) string {
	if b.Refused {
		return "refused"
	}
	return "dead-lettered"
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// percentile returns the q-quantile (nearest rank) of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(len(s)-1, i))]
}

// RunBaseline writes the same bodies with blind PutObjects, one request
// per event, no ordering, with the same latency and concurrency: the floor
// any correct design pays at least once.
func RunBaseline(ctx context.Context, cfg *Config, plan *Plan) (*Result, error) {
	env, err := startInProcess(EnvOptions{Timeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	defer env.Close()
	var evs []*Event
	for _, d := range plan.Deliveries {
		for _, it := range d.Items {
			if it.Event != nil && !it.Dup {
				evs = append(evs, it.Event)
			}
		}
	}
	if err := env.OSS.SetFaults(cfg.faults(ossserver.Faults{})); err != nil {
		return nil, err
	}
	env.OSS.ResetStats()
	work := make(chan *Event)
	lat := make([]time.Duration, len(evs))
	idx := map[*Event]int{}
	for i, e := range evs {
		idx[e] = i
	}
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	meter := startCPU(nil)
	start := time.Now()
	for w := 0; w < cfg.Senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				t0 := time.Now()
				key := fmt.Sprintf("baseline/%s/%d.json", e.MediaID, e.Seq)
				if err := env.Client.PutObject(ctx, key, e.Body, ossx.PutOptions{}); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
				lat[idx[e]] = time.Since(t0)
			}
		}()
	}
	for _, e := range evs {
		work <- e
	}
	close(work)
	wg.Wait()
	wall := time.Since(start)
	cpuSelf, _ := meter.stop()
	st := env.OSS.Stats()
	_ = env.OSS.SetFaults(ossserver.Faults{})
	res := &Result{Name: "baseline", Title: "blind PutObject per event (floor)", Media: len(plan.Media), Events: len(evs),
		Messages: len(evs), Deliveries: len(evs), Invocations: len(evs), Wall: wall, EventsPerS: float64(len(evs)) / wall.Seconds(),
		Ratio: 1, OSS: st.Requests, OSSErrors: st.Errors, Faults: st.Faults, Classes: map[string]*ClassAgg{}, Extra: map[string]string{},
		CPUHarness: cpuSelf}
	res.LatP50, res.LatP99, res.LatMax = percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1)
	for _, e := range errs[:min(len(errs), 5)] {
		res.Problems = append(res.Problems, "baseline put: "+e)
	}
	keys, err := BucketObjects{B: env.Client}.Keys(ctx, "baseline/")
	if err != nil {
		return res, err
	}
	res.Check = &CheckReport{Versions: len(keys), Events: len(evs), Media: len(plan.Media)}
	if len(keys) != len(evs) {
		res.Check.violate(&sync.Mutex{}, "baseline stored %d objects for %d events", len(keys), len(evs))
	}
	return res, nil
}

// opsPerEvent formats requests per event by operation.
func opsPerEvent(ops map[string]int64, events int) string {
	if events == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		if ops[k] == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", shortOp(k), float64(ops[k])/float64(events)))
	}
	return strings.Join(parts, ", ")
}

func shortOp(op string) string {
	switch op {
	case "PutObject":
		return "PUT"
	case "GetObject":
		return "GET"
	case "ListObjectsV2":
		return "LIST"
	case "HeadObject":
		return "HEAD"
	case "GetBucketVersioning":
		return "VERS"
	}
	return op
}
