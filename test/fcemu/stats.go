package fcemu

import (
	"context"
	"fmt"
	"time"
)

// Stats is a snapshot of a Function's counters and instances.
type Stats struct {
	// Succeeded, Errors (posted by the function, panics included),
	// Timeouts and Crashed (the process exited) count answers.
	Succeeded, Errors, Timeouts, Crashed int64
	// InFlight counts invocations queued or running.
	InFlight int
	// ColdStarts lists, per process in order of first answer, the time
	// from its start to that answer.
	ColdStarts []time.Duration
	Instances  []InstanceStats
}

// InstanceStats describes an instance slot and its current (or last)
// process.
type InstanceStats struct {
	Index, PID int
	Alive      bool
	// Starts counts the processes started in the slot, Served the
	// invocations they took; Running is what the process runs now and
	// PeakRunning the most it ran at once.
	Starts               int
	Served               int64
	Running, PeakRunning int
	// InitDuration is the time from the process's start to its first poll
	// for an invocation, ColdStart to its first answer (0 until then).
	InitDuration, ColdStart time.Duration
}

// Stats returns a snapshot.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statsLocked()
}

// Await blocks until cond holds for the Stats, evaluated again at every
// change of state (an invocation queued, taken or answered, a process
// started, polling or exited), or until ctx ends. cond runs with the
// Function's lock held and must not call its methods.
func (f *Function) Await(ctx context.Context, cond func(Stats) bool) error {
	for {
		f.mu.Lock()
		ok, wake := cond(f.statsLocked()), f.wake
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

func (f *Function) statsLocked() Stats {
	s := f.counts
	s.InFlight, s.ColdStarts, s.Instances = len(f.active), append([]time.Duration(nil), f.coldStarts...), nil
	for _, in := range f.insts {
		is := InstanceStats{Index: in.index, Starts: in.starts, Served: in.served, PeakRunning: in.peakRunning}
		if p := in.proc; p != nil {
			is.PID, is.Alive, is.Running = p.cmd.Process.Pid, !p.dead, len(p.inflight)
			if !p.readyAt.IsZero() {
				is.InitDuration = p.readyAt.Sub(p.started)
			}
			if !p.firstAnswer.IsZero() {
				is.ColdStart = p.firstAnswer.Sub(p.started)
			}
		}
		s.Instances = append(s.Instances, is)
	}
	return s
}

// PIDs returns the process id of each slot's current or last process (0
// before the first start).
func (f *Function) PIDs() []int {
	var pids []int
	for _, in := range f.Stats().Instances {
		pids = append(pids, in.PID)
	}
	return pids
}

// PeakRSS returns, per slot, the peak resident set size in bytes of its
// current or last process: VmHWM of /proc/<pid>/status while it runs, the
// maximum RSS wait(2) reported once it exited, 0 when unknown.
func (f *Function) PeakRSS() []int64 {
	f.mu.Lock()
	procs, alive := make([]*process, len(f.insts)), make([]bool, len(f.insts))
	for i, in := range f.insts {
		procs[i], alive[i] = in.proc, in.proc != nil && !in.proc.dead
	}
	f.mu.Unlock()
	out := make([]int64, len(procs))
	for i, p := range procs {
		if p == nil {
			continue
		}
		if v, ok := readVmHWM(p.cmd.Process.Pid); alive[i] && ok {
			out[i] = v
			continue
		}
		f.mu.Lock() // it exited, or exited while we looked
		state := p.state
		f.mu.Unlock()
		if state != nil {
			out[i] = maxRSS(state)
		}
	}
	return out
}
