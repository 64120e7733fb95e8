//go:build unix

package health

import (
	"os/exec"
	"syscall"
)

// killGroup runs cmd in its own process group and makes its cancellation kill the whole
// group, so that a timed-out script does not leave its children behind (keepalived kills
// -pid too).
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
