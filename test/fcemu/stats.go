package fcemu

import (
	"context"
	"fmt"
	"time"
)

// Stats is a snapshot of a Function's counters and instances.
type Stats struct {
	// Invocations counts invocations accepted into the queue.
	Invocations int64
	// Succeeded counts invocations the function answered without error.
	Succeeded int64
	// Errors counts errors the function posted to the runtime API,
	// panics included.
	Errors int64
	// Timeouts counts invocations whose deadline passed.
	Timeouts int64
	// Crashed counts invocations failed because their instance exited.
	Crashed int64
	// Canceled counts invocations abandoned because the Invoke context
	// ended.
	Canceled int64
	// Closed counts invocations abandoned because of Close.
	Closed int64
	// LateAnswers counts answers posted after their invocation ended (after
	// a timeout, a cancellation or Close).
	LateAnswers int64
	// Restarts counts processes started to replace an exited one.
	Restarts int64
	// InFlight counts invocations queued or running now.
	InFlight int
	// ColdStarts lists, per process in order of first answer, the time from
	// process start to its first answered invocation.
	ColdStarts []time.Duration
	// Instances describes each instance slot.
	Instances []InstanceStats
}

// InstanceStats describes one instance slot and its current (or last)
// process.
type InstanceStats struct {
	// Index is the slot index.
	Index int
	// PID is the process ID of the current or last process, 0 before the
	// first start.
	PID int
	// Alive reports whether that process is running.
	Alive bool
	// ExitStatus describes how that process exited, when it did.
	ExitStatus string
	// Starts counts processes started in this slot.
	Starts int
	// Served counts invocations handed to this slot's processes.
	Served int64
	// Running counts invocations the current process is running now.
	Running int
	// PeakRunning is the largest number of invocations this slot's
	// processes ran at once.
	PeakRunning int
	// InitDuration is the time from process start to its first poll for an
	// invocation, zero until it polls.
	InitDuration time.Duration
	// ColdStart is the time from process start to its first answered
	// invocation, zero until it answers.
	ColdStart time.Duration
}

// Stats returns a snapshot of the counters and instances.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statsLocked()
}

// Await blocks until cond holds for the current Stats, re-evaluating it after
// every change of state (an invocation queued, dispatched or finished, a
// process started, ready or exited), or until ctx ends. Tests use it to wait
// for a condition without sleeping. cond runs with internal locks held and
// must not call methods of the Function.
func (f *Function) Await(ctx context.Context, cond func(Stats) bool) error {
	for {
		f.mu.Lock()
		ok := cond(f.statsLocked())
		wake := f.wake
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("fcemu: await %s: %w", f.cfg.Name, ctx.Err())
		}
	}
}

// statsLocked builds a Stats snapshot; the caller holds f.mu.
func (f *Function) statsLocked() Stats {
	s := Stats{
		Invocations: f.counts.invocations,
		Succeeded:   f.counts.succeeded,
		Errors:      f.counts.errors,
		Timeouts:    f.counts.timeouts,
		Crashed:     f.counts.crashed,
		Canceled:    f.counts.canceled,
		Closed:      f.counts.closed,
		LateAnswers: f.counts.lateAnswers,
		Restarts:    f.counts.restarts,
		InFlight:    len(f.active),
		ColdStarts:  append([]time.Duration(nil), f.coldStarts...),
	}
	for _, inst := range f.instances {
		is := InstanceStats{Index: inst.index, Starts: inst.starts, Served: inst.served, PeakRunning: inst.peakRunning}
		if p := inst.proc; p != nil {
			is.PID = p.pid
			is.Alive = !p.dead
			is.ExitStatus = p.exitStatus
			is.Running = len(p.inflight)
			if !p.readyAt.IsZero() {
				is.InitDuration = p.readyAt.Sub(p.startedAt)
			}
			if !p.firstAnswerAt.IsZero() {
				is.ColdStart = p.firstAnswerAt.Sub(p.startedAt)
			}
		}
		s.Instances = append(s.Instances, is)
	}
	return s
}

// PIDs returns the process ID of each instance slot's current or last
// process (0 before the first start).
func (f *Function) PIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	pids := make([]int, len(f.instances))
	for i, inst := range f.instances {
		if inst.proc != nil {
			pids[i] = inst.proc.pid
		}
	}
	return pids
}

// PeakRSS returns, per instance slot, the peak resident set size in bytes of
// its current or last process: VmHWM from /proc/<pid>/status while the
// process runs, the maximum RSS reported by wait(2) once it exited, and 0
// when unknown (no process yet, or not on Linux).
func (f *Function) PeakRSS() []int64 {
	type probe struct {
		pid   int
		alive bool
		proc  *process
	}
	f.mu.Lock()
	probes := make([]probe, len(f.instances))
	for i, inst := range f.instances {
		if p := inst.proc; p != nil {
			probes[i] = probe{pid: p.pid, alive: !p.dead, proc: p}
		}
	}
	f.mu.Unlock()

	out := make([]int64, len(probes))
	for i, pr := range probes {
		if pr.proc == nil {
			continue
		}
		if pr.alive {
			if v, ok := readVmHWM(pr.pid); ok {
				out[i] = v
				continue
			}
		}
		// The process exited (or exited while we looked): use rusage.
		f.mu.Lock()
		state := pr.proc.state
		f.mu.Unlock()
		if state != nil {
			out[i] = maxRSS(state)
		}
	}
	return out
}
