package fcemu

import "time"

// Stats is a snapshot of a Function's instances.
type Stats struct {
	Instances []InstanceStats
}

// InstanceStats describes an instance slot and its current (or last)
// process.
type InstanceStats struct {
	Index, PID int
	Alive      bool
	// Running is what the process runs now, PeakRunning the most the
	// slot's processes ran at once.
	Running, PeakRunning int
	// InitDuration is the time from the process's start to its first poll
	// for an invocation (0 until then).
	InitDuration time.Duration
}

// Stats returns a snapshot.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s Stats
	for _, in := range f.insts {
		is := InstanceStats{Index: in.index, PeakRunning: in.peakRunning}
		if p := in.proc; p != nil {
			is.PID, is.Alive, is.Running = p.cmd.Process.Pid, !p.dead, len(p.inflight)
			if !p.readyAt.IsZero() {
				is.InitDuration = p.readyAt.Sub(p.started)
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
