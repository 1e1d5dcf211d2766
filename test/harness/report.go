package main

import (
	"bufio"
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
	Instance  *InstanceReport
	CPU       *CPUFigures
	Errors    []string
}

// Goal is one target of the issue and where it stands.
type Goal struct {
	Name, Target, Measured, Status string
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
	if len(r.Errors) > 0 {
		return true
	}
	for _, s := range r.Scenarios {
		if s.Failed() {
			return true
		}
	}
	return false
}

func status(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/1e3) }

// Goals evaluates the goals against the figures.
func (r *Report) Goals() []Goal {
	var gs []Goal
	if lc := r.result("lifecycle"); lc != nil {
		rpe := float64(lc.TotalOSS()) / float64(lc.Events)
		warm := ""
		if w, s := lc.Classes[ClassWarm], lc.Classes[ClassStale]; w != nil || s != nil {
			var n int
			var req int64
			for _, c := range []*ClassAgg{w, s} {
				if c != nil {
					n += c.N
					req += c.Req
				}
			}
			if n > 0 {
				warm = fmt.Sprintf("; updates on an instance that knew the media: %.2f (%d of %d)", float64(req)/float64(n), n, lc.Events)
			}
		}
		one, oneRatio := "", ""
		if in := r.result("instance"); in != nil && in.Events > 0 {
			one = fmt.Sprintf("; all of a media's events to one instance (instance scenario): %.2f", float64(in.TotalOSS())/float64(in.Events))
			if in.Ratio > 0 {
				oneRatio = fmt.Sprintf("; all events to one instance: %.2f", in.Ratio)
			}
		}
		gs = append(gs, Goal{"Lifecycle: OSS requests per event (warm instances)", "≤ 2",
			fmt.Sprintf("%.2f overall (%s)%s%s", rpe, opsPerEvent(lc.OSS, lc.Events), warm, one), status(rpe <= 2)})
		if lc.Ratio > 0 {
			gs = append(gs, Goal{"Lifecycle: throughput vs blind-PUT baseline", "≥ 0.5",
				fmt.Sprintf("%.2f (%.0f vs %.0f events/s)%s", lc.Ratio, lc.EventsPerS, lc.EventsPerS/lc.Ratio, oneRatio), status(lc.Ratio >= 0.5)})
		}
	}
	if du := r.result("duplicates"); du != nil {
		c := du.Classes[ClassDuplicate]
		n := 0
		if c != nil {
			n = c.N
		}
		gs = append(gs, Goal{"Duplicates: a duplicate costs no PUT", "0 PUT per duplicate",
			fmt.Sprintf("%d PUTs for %d duplicate messages handled (%d of them made a PUT, %d of those while the original was being applied; %.3f PUT/duplicate)",
				du.DupPuts, n, du.DupWithPut, du.DupRaced, float64(du.DupPuts)/float64(max(1, n))), status(du.DupPuts == 0)})
	}
	if hk := r.result("hotkey"); hk != nil {
		lost := "?"
		ok := hk.Check != nil && hk.Check.OK()
		if hk.Check != nil {
			lost = fmt.Sprint(hk.Check.Count)
		}
		gs = append(gs, Goal{"Hot key: zero lost events", "0 lost; report throughput, retries",
			fmt.Sprintf("%s violations, %d events in %s = %.0f events/s; per event %.2f lost races, %.2f store retries, %.2f redeliveries, %.1f OSS requests",
				lost, hk.Events, ms(hk.Wall), hk.EventsPerS, float64(hk.Conflicts)/float64(hk.Events), float64(hk.StoreRetry)/float64(hk.Events),
				float64(hk.Redelivered)/float64(hk.Events), float64(hk.TotalOSS())/float64(hk.Events)), status(ok)})
	}
	if c := r.CPU; c != nil {
		worst := c.DecodeApplyMarshal
		desc := fmt.Sprintf("%s/event over the lifecycle mix (decode %s, apply %s, marshal %s)", us(c.DecodeApplyMarshal), us(c.Decode), us(c.Apply), us(c.Marshal))
		if len(c.SharedStateBench) > 0 {
			var sum float64
			var hi GoBench
			for _, b := range c.SharedStateBench {
				sum += b.NsPerOp
				if b.NsPerOp > hi.NsPerOp {
					hi = b
				}
			}
			desc += fmt.Sprintf("; shared/state BenchmarkDecodeApplyMarshal mean %.1f µs, max %.1f µs (%s)",
				sum/float64(len(c.SharedStateBench))/1e3, hi.NsPerOp/1e3, strings.TrimPrefix(hi.Name, "BenchmarkDecodeApplyMarshal/"))
			worst = max(worst, time.Duration(hi.NsPerOp))
		}
		gs = append(gs, Goal{"Decode + merge CPU per event", "≤ 20 µs", desc, status(worst <= 20*time.Microsecond)})
	}
	if in := r.Instance; in != nil {
		if len(in.BinarySizes) > 0 {
			var hi int64
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(in.BinarySizes)) {
				hi = max(hi, in.BinarySizes[k])
				parts = append(parts, fmt.Sprintf("%s %s", k, mb(in.BinarySizes[k])))
			}
			gs = append(gs, Goal{"Stripped linux/amd64 binary", "≤ 15 MB", strings.Join(parts, ", "), status(hi <= 15<<20)})
		}
		if len(in.ColdStarts) > 0 {
			med, hi := percentile(in.ColdStarts, 0.5), percentile(in.ColdStarts, 1)
			gs = append(gs, Goal{"Process start to first answered invocation", "≤ 50 ms",
				fmt.Sprintf("median %s, max %s over %d fresh %s processes (of which start to first poll: median %s; the first event makes 2 OSS requests at %s each)",
					ms(med), ms(hi), len(in.ColdStarts), in.Function, ms(percentile(in.Inits, 0.5)), ms(r.Cfg.Latency)), status(hi <= 50*time.Millisecond)})
		}
	}
	if one := r.result("instance"); one != nil && one.PeakRSS != nil {
		rss, run := one.PeakRSS["media"], one.PeakRunning["media"]
		gs = append(gs, Goal{"RSS with 32 concurrent invocations in one instance", "≤ 64 MB",
			fmt.Sprintf("%s peak (VmHWM) with up to %d invocations running at once in the one media instance", mb(rss), run),
			status(rss <= 64<<20 && run >= 32)})
	}
	if ho := r.result("hostile"); ho != nil && ho.Hostile != nil {
		h := ho.Hostile
		mixed := 0
		for _, n := range h.Mixed {
			mixed += n
		}
		ok := ho.Check != nil && ho.Check.OK() && len(ho.Problems) == 0
		gs = append(gs, Goal{"Hostile: what an anonymous request stores", "nothing; legitimate events still applied exactly once",
			fmt.Sprintf("%d objects, %d bytes for %d hostile requests alone (%.1f bytes/request); %d victim Live records; %d hostile requests mixed into %d events, checks %s",
				h.StoredObjects, h.StoredBytes, h.Alone, float64(h.StoredBytes)/float64(max(1, h.Alone)), h.VictimRecords, mixed, ho.Events, map[bool]string{true: "ok", false: "FAILED"}[ok]),
			status(ok && h.StoredObjects == 0 && h.VictimRecords == 0)})
		if h.RSSAtLimit > 0 {
			gs = append(gs, Goal{"Hostile: media RSS, 32 concurrent worst-case requests at the size limit", "< 128 MB",
				fmt.Sprintf("%s peak (VmHWM reset before the burst; up to %d invocations at once)", mb(h.RSSAtLimit), h.RunningAtLimit), status(h.RSSAtLimit < 128<<20)})
			gs = append(gs, Goal{"Hostile: media RSS, 8 concurrent 5 MiB requests", "< 128 MB",
				fmt.Sprintf("%s peak (VmHWM reset before the burst)", mb(h.RSSOver)), status(h.RSSOver < 128<<20)})
		}
	}
	return gs
}

// Markdown writes the results table.
func (r *Report) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Harness results\n\n")
	p("Generated by the harness (`test/harness`); the command below reproduces it.\n\n")
	p("- **Command**: `%s`\n", r.Command)
	p("- **Machine**: %s\n", machine())
	p("- **Date**: %s; whole run %s wall\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), ms(r.Wall))
	mode := "built function binaries behind the FC runtime-API emulator (`test/fcemu`), one process per instance"
	if r.Cfg.InProcess {
		mode = "in process (`fcapp.New` + `App.Handle`), no FC emulator: no RSS figures"
	}
	p("- **Setup**: %s; %d instance(s) per function; OSS test server with %s injected latency per request (jitter %s); %d concurrent senders; "+
		"EventBridge CloudEvents batches of 1..%d messages (%.0f%% of messages as signed HTTP instead); seed %d\n\n",
		mode, r.Cfg.Instances, ms(r.Cfg.Latency), ms(r.Cfg.Jitter), r.Cfg.Senders, r.Cfg.BatchMax, r.Cfg.HTTPShare*100, r.Cfg.Seed)

	p("## Scenarios\n\n")
	p("| scenario | media | events (distinct) | messages | invocations | events/s | × baseline | OSS requests/event | by operation | p50 delivery | p99 delivery | lost races/event | store retries | redeliveries | CPU/event | peak RSS | checks |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, s := range r.Scenarios {
		rss := "n/a"
		if s.PeakRSS != nil {
			var hi int64
			for _, v := range s.PeakRSS {
				hi = max(hi, v)
			}
			rss = mb(hi)
		}
		check := "ok"
		if s.Failed() {
			n := len(s.Problems)
			if s.Check != nil {
				n += s.Check.Count
			}
			check = fmt.Sprintf("**FAILED (%d)**", n)
		}
		p("| %s | %d | %d | %d | %d | %.0f | %.2f | %.2f | %s | %s | %s | %.3f | %d | %d | %s | %s | %s |\n",
			s.Name, s.Media, s.Events, s.Messages+s.Bad, s.Invocations, s.EventsPerS, s.Ratio, float64(s.TotalOSS())/float64(max(1, s.Events)),
			opsPerEvent(s.OSS, s.Events), ms(s.LatP50), ms(s.LatP99), float64(s.Conflicts)/float64(max(1, s.Events)), s.StoreRetry, s.Redelivered,
			us((s.CPUFunctions+s.CPUHarness)/time.Duration(max(1, s.Events))), rss, check)
	}
	p("\nScenarios: ")
	var titles []string
	for _, s := range r.Scenarios {
		titles = append(titles, fmt.Sprintf("**%s**: %s", s.Name, s.Title))
	}
	p("%s. Events/s counts distinct events over the wall time of the sends; OSS requests are counted by the server over the same time and divided by distinct events (dead letters and retries included). Delivery latency is per invocation as the sender sees it, from the first attempt to the final answer. CPU/event is all CPU used during the sends (function processes, plus this process: OSS server, emulator, senders) per distinct event. The checks (exactly once against the in-process fold, no regression between versions, dead letters) are run after each scenario.\n\n",
		strings.Join(titles, "; "))

	p("## Goals\n\n| goal | target | measured | status |\n| --- | --- | --- | --- |\n")
	for _, g := range r.Goals() {
		p("| %s | %s | %s | %s |\n", g.Name, g.Target, g.Measured, g.Status)
	}

	p("\n## Where the OSS requests go\n\n")
	p("Per message handled (each attempt of each message, from the functions' per-delivery log lines). A message is *warm* when the instance that handled it had already handled an event of the same media; *lost race* when its first create-only PUT got 409.\n\n")
	p("| scenario | class | messages | requests/message | by operation |\n| --- | --- | ---: | ---: | --- |\n")
	for _, s := range r.Scenarios {
		for _, c := range classOrder {
			a := s.Classes[c]
			if a == nil || a.N == 0 {
				continue
			}
			p("| %s | %s | %d | %.2f | %s |\n", s.Name, c, a.N, float64(a.Req)/float64(a.N), opsPerEvent(a.Ops, a.N))
		}
	}

	p("\n## Details\n\n")
	for _, s := range r.Scenarios {
		p("- **%s**: wall %s; %d deliveries (%d HTTP), %d invocations; 409 FileAlreadyExists %d; injected faults: %d 503, %d resets, %d lost responses; "+
			"p50/p99/max delivery %s / %s / %s; applied log lines %d for %d events",
			s.Name, ms(s.Wall), s.Deliveries, s.HTTP, s.Invocations, s.OSSErrors["FileAlreadyExists"], s.Faults.Error503, s.Faults.Resets, s.Faults.LostResponses,
			ms(s.LatP50), ms(s.LatP99), ms(s.LatMax), s.Applied, s.Events)
		if s.Events > 0 {
			p("; CPU per event: functions %s, harness (OSS server, emulator, senders) %s; cores busy %.2f of %d",
				us(s.CPUFunctions/time.Duration(s.Events)), us(s.CPUHarness/time.Duration(s.Events)),
				(s.CPUFunctions+s.CPUHarness).Seconds()/s.Wall.Seconds(), runtime.NumCPU())
		}
		if s.Check != nil {
			p("; checked %d media, %d versions (%d added no event), %d dead letters", s.Check.Media, s.Check.Versions, s.Check.EmptyVersions, s.Check.DeadLetters)
		}
		if s.PeakRSS != nil {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(s.PeakRSS)) {
				parts = append(parts, fmt.Sprintf("%s %s (≤%d at once)", k, mb(s.PeakRSS[k]), s.PeakRunning[k]))
			}
			p("; peak RSS %s", strings.Join(parts, ", "))
		}
		if s.LogMissing > 0 || s.LogUnparsed > 0 {
			p("; log lines missing %d, unreadable %d", s.LogMissing, s.LogUnparsed)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Extra)) {
			p("; %s: %s", k, s.Extra[k])
		}
		if h := s.Hostile; h != nil {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(h.Mixed)) {
				parts = append(parts, fmt.Sprintf("%s %d", k, h.Mixed[k]))
			}
			p("; hostile requests mixed in: %s", strings.Join(parts, ", "))
		}
		p("\n")
		for _, v := range s.Problems {
			p("  - answer check: %s\n", v)
		}
		if s.Check != nil {
			for _, v := range s.Check.Violations {
				p("  - state check: %s\n", v)
			}
			if s.Check.Count > len(s.Check.Violations) {
				p("  - ... %d state check violations in all\n", s.Check.Count)
			}
		}
	}
	if c := r.CPU; c != nil {
		p("\n## CPU per event (single goroutine, `testing.Benchmark` in the harness)\n\n")
		p("| step | per event |\n| --- | ---: |\n")
		p("| decode + apply + marshal (%d events of 200 lifecycles, each applied to its media's state at that point) | %s (%d allocs, %d B) |\n",
			c.Events, us(c.DecodeApplyMarshal), c.AllocsPerEvent, c.BytesPerEvent)
		p("| callback.Decode | %s |\n| state.Apply | %s |\n| state.Marshal | %s |\n| state.Unmarshal (cold reads) | %s |\n", us(c.Decode), us(c.Apply), us(c.Marshal), us(c.Unmarshal))
		if len(c.SharedStateBench) > 0 {
			p("\n`%s`:\n\n| benchmark | µs/op | B/op | allocs/op |\n| --- | ---: | ---: | ---: |\n", c.SharedStateBenchCommand)
			for _, b := range c.SharedStateBench {
				p("| %s | %.1f | %d | %d |\n", strings.TrimPrefix(b.Name, "BenchmarkDecodeApplyMarshal/"), b.NsPerOp/1e3, b.BytesPerOp, b.AllocsPerOp)
			}
		}
	}
	if in := r.Instance; in != nil && len(in.ColdStarts) > 0 {
		p("\n## Cold starts (%s, process start to first answered invocation)\n\n", in.Function)
		var parts []string
		for i := range in.ColdStarts {
			parts = append(parts, fmt.Sprintf("%s (first poll %s)", ms(in.ColdStarts[i]), ms(in.Inits[i])))
		}
		p("%s\n", strings.Join(parts, ", "))
	}
	if len(r.Errors) > 0 {
		p("\n## Errors\n\n")
		for _, e := range r.Errors {
			p("- %s\n", e)
		}
	}
}

// machine describes the host.
func machine() string {
	model := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
			}
		}
	}
	if model == "" {
		model = "unknown CPU"
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			mem += fmt.Sprintf(", load average %s %s %s at the end of the run (the cores are shared)", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, %s%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), mem)
}
