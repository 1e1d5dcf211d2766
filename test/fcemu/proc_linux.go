//go:build linux

package fcemu

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// sigterm is the signal Close sends before it kills a process.
var sigterm os.Signal = syscall.SIGTERM

// setProcAttr makes the kernel kill the function process when the test
// process dies, so that an aborted test run leaves no SDK loop behind
// polling a vanished runtime API.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// readVmHWM returns the peak resident set size of a running process in
// bytes, read from /proc/<pid>/status.
func readVmHWM(pid int) (int64, bool) {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "VmHWM:"))
		if len(fields) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// maxRSS returns the peak resident set size in bytes that wait(2) reported
// for an exited process.
func maxRSS(state *os.ProcessState) int64 {
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return ru.Maxrss * 1024 // kilobytes on Linux
	}
	return 0
}
