package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user+system CPU time of a process from
// /proc/<pid>/stat, and false when it cannot be read.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: fields
	// start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * clockTick, true
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures CPU used over an interval by this process and by the
// function processes.
type cpuMeter struct {
	env   *Env
	self  time.Duration
	procs map[int]time.Duration
}

func (e *Env) functionPIDs() []int {
	if e.Stack == nil {
		return nil
	}
	var pids []int
	for _, f := range e.Stack.Functions {
		for _, p := range f.PIDs() {
			if p > 0 {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

func startCPU(env *Env) *cpuMeter {
	m := &cpuMeter{env: env, self: selfCPU(), procs: map[int]time.Duration{}}
	if env != nil {
		for _, p := range env.functionPIDs() {
			if c, ok := procCPU(p); ok {
				m.procs[p] = c
			}
		}
	}
	return m
}

// stop returns the CPU used since start by this process (OSS server,
// emulator, senders) and by the function processes alive at both ends.
func (m *cpuMeter) stop() (self, functions time.Duration) {
	self = selfCPU() - m.self
	if m.env != nil {
		for _, p := range m.env.functionPIDs() {
			if c, ok := procCPU(p); ok {
				functions += c - m.procs[p]
			}
		}
	}
	return self, functions
}
