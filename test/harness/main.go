// Command harness measures the mediastate functions end to end and checks
// that they lose, duplicate and regress nothing while it does.
//
// It drives the real pipeline (the built function binaries behind the FC
// runtime-API emulator, or, with -inprocess or -cpuprofile, the same
// pipeline in process through fcapp.New) against the OSS test server with
// an injected per-request latency (default 5 ms, an in-region OSS round
// trip), through these scenarios:
//
//	baseline    blind PutObject of the lifecycle bodies, one request per
//	            event, no ordering: the floor any correct design pays
//	lifecycle   -media media assets, each with its realistic event sequence
//	            (upload, registration, review, transcodes, base changes,
//	            ...), routed to their family's function, -senders at once
//	duplicates  lifecycle with -dup-rate of the messages delivered again
//	outoforder  lifecycle shuffled
//	faults      lifecycle with 503s, connection resets and lost responses
//	hotkey      one MediaId, -hot-events distinct events
//	instance    lifecycle with every event sent to one instance of the
//	            media function (RSS with 32 concurrent invocations), cold
//	            starts, stripped binary sizes
//
// After each scenario it checks every stored version (each media's newest
// version byte-identical to the fold of its events computed here with
// callback.Decode and state.Apply; every version a superset of the one
// before) and the dead letters of the malformed deliveries it injected.
// A violated check makes it exit with status 1.
//
//	go run ./test/harness                                  # everything, 1–1.5 minutes on 2 cores
//	go run ./test/harness -markdown test/harness/RESULTS.md
//	go run ./test/harness -media 200 -scenarios lifecycle,hotkey
//	go run ./test/harness -cpuprofile cpu.out -scenarios lifecycle   # in process
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"mediastate/test/fcemu"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

var allScenarios = []string{"baseline", "lifecycle", "duplicates", "outoforder", "faults", "hotkey", "instance", "hostile"}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	cfg := &Config{}
	fs.IntVar(&cfg.Media, "media", 2000, "media assets per lifecycle scenario")
	fs.IntVar(&cfg.Senders, "senders", 32, "concurrent senders")
	fs.DurationVar(&cfg.Latency, "latency", 5*time.Millisecond, "latency injected into every OSS request")
	fs.DurationVar(&cfg.Jitter, "jitter", 0, "extra random latency per OSS request, uniform in [0, jitter)")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "scenarios to run, comma-separated: "+strings.Join(allScenarios, ","))
	fs.IntVar(&cfg.Instances, "instances", 1, "instances (processes) per function")
	markdown := fs.String("markdown", "", "write the results table (Markdown) to this file")
	cpuprofile := fs.String("cpuprofile", "", "run in process and write a CPU profile of the whole run to this file")
	fs.BoolVar(&cfg.InProcess, "inprocess", false, "run the pipeline in process (fcapp.New) instead of the function binaries")
	seed := fs.Uint64("seed", 1, "seed of the workload and fault choices")
	fs.IntVar(&cfg.HotEvents, "hot-events", 200, "distinct events of the hot-key media")
	fs.Float64Var(&cfg.DupRate, "dup-rate", 0.3, "share of messages delivered twice in the duplicates scenario")
	fs.IntVar(&cfg.BatchMax, "batch", 5, "largest EventBridge batch (batches are 1..batch messages)")
	fs.Float64Var(&cfg.HTTPShare, "http", 0.2, "share of messages sent as signed HTTP callbacks")
	fs.IntVar(&cfg.Bad, "bad", 6, "malformed deliveries injected per scenario (must be dead-lettered)")
	fs.IntVar(&cfg.Attempts, "attempts", 10, "attempts per delivery before a sender gives up")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "function timeout")
	fs.IntVar(&cfg.Window, "window", 0, "media in flight at once in time order (default 4 × senders)")
	fs.Float64Var(&cfg.Fault503, "fault-503", 0.05, "faults scenario: share of OSS requests answered 503")
	fs.Float64Var(&cfg.FaultReset, "fault-reset", 0.01, "faults scenario: share of OSS requests reset")
	fs.Float64Var(&cfg.FaultLost, "fault-lost", 0.01, "faults scenario: share of OSS requests applied with the response lost")
	fs.IntVar(&cfg.ColdSamples, "cold-samples", 5, "instance scenario: cold starts measured")
	instMedia := fs.Int("instance-media", 4500, "instance scenario: media assets (the default fills the functions' default 4096-entry state cache)")
	env := fs.String("env", "", "extra environment for the functions, KEY=value,KEY=value (e.g. STATE_CACHE_SIZE=100)")
	gobench := fs.Bool("gobench", true, "run shared/state BenchmarkDecodeApplyMarshal and report it")
	benchtime := fs.String("benchtime", "200ms", "-benchtime of that run")
	cpu := fs.Bool("cpu", true, "measure decode + apply + marshal per event in the harness")
	strict := fs.Bool("strict-goals", false, "exit with status 1 when a goal is missed too")
	fs.BoolVar(&cfg.Verbose, "v", false, "log progress details")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Seed = *seed
	cfg.Run = uint32(time.Now().UnixNano())
	if cfg.Window <= 0 {
		cfg.Window = 4 * cfg.Senders
	}
	if *env != "" {
		cfg.ExtraEnv = strings.Split(*env, ",")
	}
	if *cpuprofile != "" {
		cfg.InProcess = true
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...)
	}
	var selected []string
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(os.Stderr, "harness: unknown scenario %q; known: %s\n", s, strings.Join(allScenarios, ","))
			return 2
		}
		selected = append(selected, s)
	}
	root, err := localstack.FindRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	cfg.Root = root
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := &Report{Command: "go run ./test/harness" + argString(args), Started: time.Now(), Cfg: cfg}
	if !cfg.InProcess {
		// Build the functions once into a directory of ours, removed at the
		// end: the local stack reuses these binaries (fcemu caches builds per
		// process) instead of leaving a copy in a temporary directory of its
		// own at every start.
		dir, err := os.MkdirTemp("", "mediastate-harness-fn-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		for _, fn := range mediaFunctions {
			if _, err := fcemu.Build(ctx, filepath.Join(root, "functions", fn), dir); err != nil {
				fmt.Fprintln(os.Stderr, "harness:", err)
				return 2
			}
		}
	}
	fx, err := LoadFixtures(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			cfg.Logf("CPU profile written to %s (go tool pprof %s)", *cpuprofile, *cpuprofile)
		}()
	}

	lifecycle := PlanOptions{Name: "lifecycle", Tag: "lc", Run: cfg.Run, Seed: cfg.Seed, Media: cfg.Media, Window: cfg.Window,
		BatchMax: cfg.BatchMax, HTTP: cfg.HTTPShare, Base64: 0.1, Bad: cfg.Bad, Route: FamilyRouter}
	var baseline *Result
	for _, name := range selected {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		cfg.Logf("scenario %s ...", name)
		var res *Result
		var err error
		switch name {
		case "baseline":
			var plan *Plan
			po := lifecycle
			po.Tag, po.Bad = "bl", 0
			if plan, err = fx.BuildPlan(po); err == nil {
				res, err = RunBaseline(ctx, cfg, plan)
				baseline = res
			}
		default:
			sc, ok := scenario(name, cfg, lifecycle, fx, rep, *instMedia)
			if !ok {
				continue
			}
			res, err = RunScenario(ctx, cfg, fx, sc)
		}
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", name, err))
			cfg.Logf("scenario %s: %v", name, err)
		}
		if res != nil {
			if baseline != nil && res != baseline && baseline.EventsPerS > 0 {
				res.Ratio = res.EventsPerS / baseline.EventsPerS
			}
			rep.Scenarios = append(rep.Scenarios, res)
			verdict := "checks ok"
			if res.Failed() {
				verdict = "CHECKS FAILED"
			}
			cfg.Logf("scenario %s: %d events in %s, %.0f events/s, %.2f OSS requests/event, p99 %s, %s (%s)",
				name, res.Events, ms(res.Wall), res.EventsPerS, float64(res.TotalOSS())/float64(max(1, res.Events)), ms(res.LatP99), verdict, ms(time.Since(t0)))
		}
	}
	if *cpu && ctx.Err() == nil {
		cfg.Logf("CPU per event ...")
		if rep.CPU, err = MeasureCPU(fx, cfg.Seed); err != nil {
			rep.Errors = append(rep.Errors, "cpu: "+err.Error())
		}
		if *gobench && rep.CPU != nil {
			b, command, err := RunSharedStateBench(ctx, root, *benchtime)
			if err != nil {
				rep.Errors = append(rep.Errors, "shared/state bench: "+err.Error())
			}
			rep.CPU.SharedStateBench, rep.CPU.SharedStateBenchCommand = b, command
		}
	}
	rep.Wall = time.Since(rep.Started)
	rep.Markdown(os.Stdout)
	if *markdown != "" {
		f, err := os.Create(*markdown)
		if err == nil {
			rep.Markdown(f)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
		cfg.Logf("results written to %s", *markdown)
	}
	if ctx.Err() != nil {
		return 1
	}
	if rep.Failed() {
		cfg.Logf("FAILED: a check was violated (see above)")
		return 1
	}
	if *strict {
		for _, g := range rep.Goals() {
			if g.Status != "met" {
				cfg.Logf("goal missed: %s", g.Name)
				return 1
			}
		}
	}
	return 0
}

func argString(args []string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteByte(' ')
		if strings.ContainsAny(a, " \t'\"$") {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// scenario returns the named scenario.
func scenario(name string, cfg *Config, lifecycle PlanOptions, fx *Fixtures, rep *Report, instMedia int) (Scenario, bool) {
	sc := Scenario{Name: name, Plan: lifecycle, Faults: cfg.faults(ossserver.Faults{})}
	sc.Plan.Name = name
	switch name {
	case "lifecycle":
		sc.Title = fmt.Sprintf("%d media, realistic event sequences in time order, each event to its family's function", cfg.Media)
	case "duplicates":
		sc.Title = fmt.Sprintf("lifecycle with %.0f%% of the messages delivered again later", cfg.DupRate*100)
		sc.Plan.Tag, sc.Plan.DupRate = "du", cfg.DupRate
	case "outoforder":
		sc.Title = "lifecycle with all messages shuffled"
		sc.Plan.Tag, sc.Plan.Shuffle = "oo", true
	case "faults":
		sc.Title = fmt.Sprintf("lifecycle with %.0f%% OSS 503s, %.0f%% connection resets, %.0f%% lost responses", cfg.Fault503*100, cfg.FaultReset*100, cfg.FaultLost*100)
		sc.Plan.Tag = "fa"
		sc.Faults = cfg.faults(ossserver.Faults{Error503Rate: cfg.Fault503, ResetRate: cfg.FaultReset, LostResponseRate: cfg.FaultLost})
	case "hotkey":
		sc.Title = fmt.Sprintf("one MediaId, %d distinct events, each its own delivery", cfg.HotEvents)
		sc.Plan.Tag, sc.Plan.HotKey, sc.Plan.BatchMax, sc.Plan.Window = "hk", cfg.HotEvents, 1, 1
	case "instance":
		n := instMedia
		if n <= 0 {
			n = cfg.Media
		}
		if cfg.Media < 2000 {
			// A scaled-down run scales this one down too.
			n = min(n, cfg.Media)
		}
		sc.Title = fmt.Sprintf("%d media lifecycles all sent to ONE media instance (RSS under concurrency, cold starts, binary sizes)", n)
		sc.Plan.Tag, sc.Plan.Media, sc.Plan.Route = "in", n, SingleRouter("media")
		sc.Functions = []string{"media"}
		sc.Plan.Functions = sc.Functions
		rep.Instance = &InstanceReport{}
		sc.Before = func(ctx context.Context, env *Env) error {
			sizes, err := BuildSizes(ctx, cfg.Root)
			if err != nil {
				return err
			}
			rep.Instance.BinarySizes = sizes
			return SampleColdStarts(ctx, env, fx, "media", cfg.ColdSamples, cfg.Run, rep.Instance)
		}
	case "hostile":
		sc.Title = "lifecycle with anonymous hostile requests mixed in (unsigned, empty, 1 MiB control characters, 10,000-deep, 5 MiB, Live poisoning), then each kind alone and two memory bursts on the media instance"
		sc.Plan.Tag, sc.Hostile, sc.Unwarmed = "ho", true, []string{"liverecord"}
		// As deployed (s.yaml, template.yml): the memory figures are the
		// instance's.
		sc.Env = []string{"GOMEMLIMIT=100MiB"}
	default:
		return sc, false
	}
	return sc, true
}
