//go:build !unix

package failover

import (
	"os"
	"os/exec"
)

// ownGroup does nothing: process groups are a unix notion.
func ownGroup(*exec.Cmd) {}

// killGroup kills the process itself.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// termGroup kills the process itself (no SIGTERM here).
func termGroup(pid int) { killGroup(pid) }
