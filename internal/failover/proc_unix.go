//go:build unix

package failover

import (
	"os/exec"
	"syscall"
)

// ownGroup makes cmd the leader of a new process group, so that the whole group can be
// signalled (keepalived's system_call_script calls setpgid(0, 0) in the child).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by pid; a group already gone is no
// error.
func signalGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) { signalGroup(pid, syscall.SIGKILL) }

// termGroup sends SIGTERM to the process group led by pid.
func termGroup(pid int) { signalGroup(pid, syscall.SIGTERM) }
