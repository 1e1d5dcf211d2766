//go:build !linux

package fcemu

import (
	"os"
	"os/exec"
)

// sigterm is the signal Close sends before it kills a process. Platforms
// without SIGTERM delivery fall back to killing after the grace period.
var sigterm os.Signal = os.Interrupt

// setProcAttr does nothing outside Linux.
func setProcAttr(*exec.Cmd) {}

// readVmHWM is not available outside Linux.
func readVmHWM(int) (int64, bool) { return 0, false }

// maxRSS is not available outside Linux.
func maxRSS(*os.ProcessState) int64 { return 0 }
