package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is everything one run measured.
type Report struct {
	Command   string
	Started   time.Time
	Wall      time.Duration
	Cfg       *Config
	Scenarios []*Result
	Errors    []string
}

func (r *Report) result(name string) *Result {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Failed reports whether a check failed or a scenario could not run.
func (r *Report) Failed() bool {
	return len(r.Errors) > 0 || slices.ContainsFunc(r.Scenarios, (*Result).Failed)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func ms(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// perOp formats requests per n by operation.
func perOp(ops map[string]int64, n int) string {
	short := map[string]string{"PutObject": "PUT", "GetObject": "GET", "ListObjectsV2": "LIST", "HeadObject": "HEAD", "GetBucketVersioning": "VERS"}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		if ops[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", cmp.Or(short[k], k), float64(ops[k])/float64(max(1, n))))
		}
	}
	return strings.Join(parts, ", ")
}

// goals evaluates the goals against the figures, one row each.
func (r *Report) goals(row func(name, target string, ok bool, measured string)) {
	in := r.result("instance")
	if lc := r.result("lifecycle"); lc != nil {
		m := fmt.Sprintf("%.2f overall (%s)", lc.OSSPerEvent(), perOp(lc.OSS, lc.Events))
		if w, s := lc.Classes[ClassWarm], lc.Classes[ClassStale]; w != nil && s != nil {
			m += fmt.Sprintf("; updates on an instance that knew the media: %.2f (%d of %d)", float64(total(w.Ops)+total(s.Ops))/float64(w.N+s.N), w.N+s.N, lc.Events)
		}
		if in != nil {
			m += fmt.Sprintf("; all of a media's events to one instance (instance scenario): %.2f", in.OSSPerEvent())
		}
		row("Lifecycle: OSS requests per event (warm instances)", "≤ 2", lc.OSSPerEvent() <= 2, m)
		if lc.Ratio > 0 {
			m := fmt.Sprintf("%.2f (%.0f vs %.0f events/s)", lc.Ratio, lc.EventsPerS, lc.EventsPerS/lc.Ratio)
			if in != nil {
				m += fmt.Sprintf("; all events to one instance: %.2f", in.Ratio)
			}
			row("Lifecycle: throughput vs blind-PUT baseline", "≥ 0.5", lc.Ratio >= 0.5, m)
		}
	}
	if du := r.result("duplicates"); du != nil && du.Classes[ClassDuplicate] != nil {
		row("Duplicates: a duplicate costs no PUT", "0 PUT per duplicate", du.DupPuts == 0,
			fmt.Sprintf("%d PUTs for %d duplicate messages handled", du.DupPuts, du.Classes[ClassDuplicate].N))
	}
	if hk := r.result("hotkey"); hk != nil && hk.Check != nil {
		e := float64(hk.Events)
		row("Hot key: zero lost events", "0 lost; report throughput, retries", !hk.Failed(), fmt.Sprintf("%d violations, %d events in %s = %.0f events/s; per event %.2f lost races, %.2f store retries, %.2f redeliveries, %.1f OSS requests",
			hk.Check.Count, hk.Events, ms(hk.Wall), hk.EventsPerS, float64(hk.Conflicts)/e, float64(hk.StoreRetries)/e, float64(hk.Redelivered)/e, hk.OSSPerEvent()))
	}
	var cold []time.Duration
	for _, s := range r.Scenarios {
		cold = append(cold, s.ColdStarts...)
	}
	if len(cold) > 0 {
		row("Process start to first answered invocation", "≤ 50 ms", percentile(cold, 1) <= 50*time.Millisecond, fmt.Sprintf("median %s, max %s over %d fresh processes (start to first poll, plus the first invocation: bucket check and one new media, OSS at %s per request)",
			ms(percentile(cold, 0.5)), ms(percentile(cold, 1)), len(cold), ms(r.Cfg.Latency)))
	}
	if in != nil && in.PeakRSS != nil {
		rss, run := in.PeakRSS["media"], in.PeakRunning["media"]
		row("RSS with 32 concurrent invocations in one instance", "≤ 64 MB", rss <= 64<<20 && run >= 32,
			fmt.Sprintf("%s peak (VmHWM) with up to %d invocations running at once in the one media instance", mb(rss), run))
	}
	if ho := r.result("hostile"); ho != nil && ho.Hostile != nil {
		h := ho.Hostile
		mixed := 0
		for _, n := range h.Mixed {
			mixed += n
		}
		row("Hostile: what an anonymous request stores", "nothing; legitimate events still applied exactly once", !ho.Failed(), fmt.Sprintf("%d objects, %d bytes for %d hostile requests alone; %d victim Live records; %d hostile requests mixed into %d events, checks %s",
			h.StoredObjects, h.StoredBytes, h.Alone, h.VictimRecords, mixed, ho.Events, map[bool]string{true: "FAILED", false: "ok"}[ho.Failed()]))
		if h.RSSAtLimit > 0 {
			row("Hostile: media RSS, 32 concurrent worst-case requests at the size limit", "< 128 MB", h.RSSAtLimit < 128<<20,
				fmt.Sprintf("%s peak (VmHWM reset before the burst; up to %d invocations at once)", mb(h.RSSAtLimit), h.RunningAtLimit))
			row("Hostile: media RSS, 8 concurrent 5 MiB requests", "< 128 MB", h.RSSOver < 128<<20, fmt.Sprintf("%s peak (VmHWM reset before the burst)", mb(h.RSSOver)))
		}
	}
}

// Markdown writes the results (RESULTS.md).
func (r *Report) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	mode := "built function binaries behind the FC runtime-API emulator (`test/fcemu`), one process per instance"
	if r.Cfg.InProcess {
		mode = "in process (`fcapp.New` + `App.Handle`), no FC emulator: no RSS figures"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	load = append(load, " ? ? ?"...)
	p("# Harness results\n\nGenerated by the harness (`test/harness`); the command below reproduces it.\n\n")
	p("- **Command**: `%s`\n- **Machine**: %d cores, %s/%s, %s, load average %s at the end of the run (the cores are shared)\n",
		r.Command, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	p("- **Date**: %s; whole run %s wall\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), ms(r.Wall))
	p("- **Setup**: %s; %d instance(s) per function; OSS test server with %s injected latency per request; %d concurrent senders; "+
		"EventBridge CloudEvents batches of 1..%d messages (%.0f%% of messages as signed HTTP instead); seed %d\n\n",
		mode, r.Cfg.Instances, ms(r.Cfg.Latency), r.Cfg.Senders, batchMax, httpShare*100, r.Cfg.Seed)

	p("## Scenarios\n\n| scenario | media | events (distinct) | messages | invocations | events/s | × baseline | OSS requests/event | by operation | p50 delivery | p99 delivery | lost races/event | store retries | redeliveries | peak RSS | checks |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, s := range r.Scenarios {
		rss, check := "n/a", "ok"
		if len(s.PeakRSS) > 0 {
			rss = mb(slices.Max(slices.Collect(maps.Values(s.PeakRSS))))
		}
		if s.Failed() {
			check = "**FAILED**"
		}
		p("| %s | %d | %d | %d | %d | %.0f | %.2f | %.2f | %s | %s | %s | %.3f | %d | %d | %s | %s |\n",
			s.Name, s.Media, s.Events, s.Messages, s.Invocations, s.EventsPerS, s.Ratio, s.OSSPerEvent(), perOp(s.OSS, s.Events),
			ms(s.LatP50), ms(s.LatP99), float64(s.Conflicts)/float64(max(1, s.Events)), s.StoreRetries, s.Redelivered, rss, check)
	}
	p("\n")
	for _, s := range r.Scenarios {
		p("- **%s**: %s\n", s.Name, s.Title)
	}
	p("\nEvents/s counts distinct events over the wall time of the sends; OSS requests are counted by the server over the same time and " +
		"divided by distinct events (dead letters and retries included). Delivery latency is per invocation as the sender sees it, from the " +
		"first attempt to the final answer. Lost races and store retries come from the functions' per-delivery log lines. The checks " +
		"(exactly once against the in-process fold, versions 1..n with no regression, no dead letter, every answer and its log line) run after each scenario.\n\n")

	p("## Goals\n\n| goal | target | measured | status |\n| --- | --- | --- | --- |\n")
	r.goals(func(name, target string, ok bool, measured string) {
		p("| %s | %s | %s | %s |\n", name, target, measured, map[bool]string{true: "met", false: "**missed**"}[ok])
	})
	p("\nCPU per event (decode + apply + marshal, goal ≤ 20 µs) is not measured here: `go test -run '^$' -bench . ./test/harness ./shared/state`.\n")

	p("\n## Where the OSS requests go\n\nPer message handled (each attempt of each message, from the functions' per-delivery log lines). " +
		"A message is *warm* when the instance that handled it had already handled an event of the same media; *lost race* when its first create-only PUT got 409.\n\n")
	p("| scenario | class | messages | requests/message | by operation |\n| --- | --- | ---: | ---: | --- |\n")
	for _, s := range r.Scenarios {
		for _, c := range classOrder {
			if a := s.Classes[c]; a != nil {
				p("| %s | %s | %d | %.2f | %s |\n", s.Name, c, a.N, float64(total(a.Ops))/float64(a.N), perOp(a.Ops, a.N))
			}
		}
	}

	p("\n## Details\n\n")
	for _, s := range r.Scenarios {
		p("- **%s**: wall %s; %d deliveries (%d HTTP); 409 FileAlreadyExists %d; injected faults: %d 503, %d resets, %d lost responses; %d applied log lines",
			s.Name, ms(s.Wall), s.Deliveries, s.HTTP, s.OSSErrors["FileAlreadyExists"], s.Faults.Error503, s.Faults.Resets, s.Faults.LostResponses, s.Applied)
		for _, k := range slices.Sorted(maps.Keys(s.PeakRSS)) {
			p("; %s %s (≤%d at once)", k, mb(s.PeakRSS[k]), s.PeakRunning[k])
		}
		if s.Hostile != nil {
			p("; hostile requests mixed in: %s", strings.Trim(fmt.Sprint(s.Hostile.Mixed), "map[]"))
		}
		p("\n")
		for _, v := range s.Problems {
			p("  - answer check: %s\n", v)
		}
		if s.Check != nil {
			for _, v := range s.Check.Violations {
				p("  - state check: %s\n", v)
			}
		}
	}
	for _, e := range r.Errors {
		p("- **error**: %s\n", e)
	}
}
