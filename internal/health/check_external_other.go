//go:build !unix

package health

import (
	"os"
	"os/exec"
)

// setProcessGroup: without process groups only the command itself is killed.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(int) {}

func signaled(*os.ProcessState) (os.Signal, bool) { return nil, false }
