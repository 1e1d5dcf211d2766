//go:build linux

package fcemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// sigterm is the signal Close sends before it kills a process.
var sigterm os.Signal = syscall.SIGTERM

// setProcAttr makes the kernel kill the function process when the test
// process dies, so that an aborted run leaves no SDK loop behind.
func setProcAttr(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// readVmHWM returns the peak RSS in bytes of a running process, from
// VmHWM in /proc/<pid>/status.
func readVmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	_, rest, ok := bytes.Cut(b, []byte("\nVmHWM:"))
	if err != nil || !ok {
		return 0, false
	}
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return 0, false
	}
	kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
	return kb * 1024, err == nil
}

// maxRSS returns the peak RSS in bytes wait(2) reported for an exited
// process.
func maxRSS(state *os.ProcessState) int64 {
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return ru.Maxrss * 1024 // kilobytes on Linux
	}
	return 0
}
