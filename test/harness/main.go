// Command harness measures the mediastate functions end to end under load,
// contention and faults (the scenarios of README.md), through the real
// pipeline against the OSS test server with an injected per-request
// latency, and checks after each scenario that every event was applied
// exactly once, versions are 1..n with nothing lost, and every answer was
// right; a violated check makes it exit with status 1.
//
//	go run ./test/harness -markdown test/harness/RESULTS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// The workload's fixed shape: EventBridge batches of 1..batchMax
// messages, httpShare of them sent as signed HTTP callbacks instead.
const batchMax, httpShare = 5, 0.2

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	cfg := &Config{Run: uint32(time.Now().UnixNano())}
	media := fs.Int("media", 2000, "media assets per lifecycle scenario")
	instMedia := fs.Int("instance-media", 4500, "media of the instance scenario (the default fills the functions' 4096-entry state cache; at most -media when -media < 2000)")
	fs.IntVar(&cfg.Senders, "senders", 32, "concurrent senders")
	fs.DurationVar(&cfg.Latency, "latency", 5*time.Millisecond, "latency injected into every OSS request")
	scen := fs.String("scenarios", "baseline,lifecycle,duplicates,outoforder,faults,hotkey,instance,hostile", "scenarios to run, comma-separated")
	fs.IntVar(&cfg.Instances, "instances", 1, "instances (processes) per function")
	fs.BoolVar(&cfg.InProcess, "inprocess", false, "run the pipeline in process (fcapp.New) instead of the function binaries")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the workload and fault choices")
	env := fs.String("env", "", "extra environment for the functions, KEY=value,KEY=value (e.g. STATE_CACHE_SIZE=100)")
	markdown := fs.String("markdown", "", "write the results (Markdown) to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *env != "" {
		cfg.ExtraEnv = strings.Split(*env, ",")
	}
	if *media < 2000 {
		*instMedia = min(*instMedia, *media) // a scaled-down run scales this one down too
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if cfg.Root, err = localstack.FindRoot("."); err != nil {
		logf("%v", err)
		return 2
	}
	all := scenarios(cfg, *media, *instMedia)
	var selected []Scenario
	for _, name := range strings.Split(*scen, ",") {
		sc, ok := all[strings.TrimSpace(name)]
		if !ok {
			logf("unknown scenario %q", name)
			return 2
		}
		selected = append(selected, sc)
	}
	fx, err := LoadFixtures(cfg.Root)
	if err != nil {
		logf("%v", err)
		return 2
	}
	// The stack keeps the built binaries here between scenarios.
	if cfg.BinCache, err = os.MkdirTemp("", "mediastate-harness-bin-"); err != nil {
		logf("%v", err)
		return 2
	}
	defer os.RemoveAll(cfg.BinCache)

	rep := &Report{Command: strings.Join(append([]string{"go run ./test/harness"}, args...), " "), Started: time.Now(), Cfg: cfg}
	var baseline float64
	for _, sc := range selected {
		if ctx.Err() != nil {
			break
		}
		logf("scenario %s ...", sc.Name)
		runner := RunScenario
		if sc.Name == "baseline" {
			runner = RunBaseline
		}
		res, err := runner(ctx, cfg, fx, sc)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", sc.Name, err))
			logf("scenario %s: %v", sc.Name, err)
		}
		if res == nil {
			continue
		}
		if sc.Name == "baseline" {
			baseline = res.EventsPerS
		} else if baseline > 0 {
			res.Ratio = res.EventsPerS / baseline
		}
		rep.Scenarios = append(rep.Scenarios, res)
		logf("scenario %s: %d events in %s, %.0f events/s, %.2f OSS requests/event, p99 %s, failed %v",
			sc.Name, res.Events, ms(res.Wall), res.EventsPerS, res.OSSPerEvent(), ms(res.LatP99), res.Failed())
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
			logf("%v", err)
			return 1
		}
	}
	if ctx.Err() != nil || rep.Failed() {
		logf("FAILED: a check was violated or a scenario did not run (see above)")
		return 1
	}
	return 0
}

// scenarios returns every scenario by name.
func scenarios(cfg *Config, media, instMedia int) map[string]Scenario {
	out := map[string]Scenario{}
	add := func(name, tag, title string, change func(*Scenario)) {
		sc := Scenario{Name: name, Title: title, Faults: ossserver.Faults{Latency: cfg.Latency, Seed: int64(cfg.Seed) + 1},
			Plan: PlanOptions{Tag: tag, Run: cfg.Run, Seed: cfg.Seed, Media: media, Window: 4 * cfg.Senders, BatchMax: batchMax, HTTP: httpShare, Base64: 0.1}}
		if change != nil {
			change(&sc)
		}
		out[name] = sc
	}
	add("baseline", "bl", "blind PutObject of the lifecycle bodies, one request per event, same latency and concurrency: the floor", nil)
	add("lifecycle", "lc", fmt.Sprintf("%d media, realistic event sequences in time order, each event to its family's function", media), nil)
	add("duplicates", "du", "lifecycle with 30% of the messages delivered again later", func(sc *Scenario) { sc.Plan.DupRate = 0.3 })
	add("outoforder", "oo", "lifecycle with all messages shuffled", func(sc *Scenario) { sc.Plan.Shuffle = true })
	add("faults", "fa", "lifecycle with 5% OSS 503s, 1% connection resets, 1% lost responses", func(sc *Scenario) {
		sc.Faults.Error503Rate, sc.Faults.ResetRate, sc.Faults.LostResponseRate = 0.05, 0.01, 0.01
	})
	add("hotkey", "hk", "one MediaId, 200 distinct events, each its own delivery", func(sc *Scenario) {
		sc.Plan.HotKey, sc.Plan.BatchMax, sc.Plan.Window = 200, 1, 1
	})
	add("instance", "in", fmt.Sprintf("%d media lifecycles all sent to ONE media instance (RSS under concurrency)", instMedia), func(sc *Scenario) {
		sc.Plan.Media, sc.Plan.Single, sc.Functions = instMedia, "media", []string{"media"}
	})
	add("hostile", "ho", "lifecycle with anonymous hostile requests mixed in by 4 senders (unsigned, empty, 1 MiB control characters, "+
		"10,000-deep, 5 MiB, unsigned Live callbacks to liverecord), each answered 4xx; then 20 of each kind alone (nothing stored); "+
		"then two memory bursts on the media instance; the functions get `GOMEMLIMIT=100MiB` as deployed", func(sc *Scenario) {
		sc.Hostile, sc.Quiet, sc.Env = true, []string{"liverecord"}, []string{"GOMEMLIMIT=100MiB"}
	})
	return out
}
