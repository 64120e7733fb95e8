package failover

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

// Grace periods of a vrrp_script that outlives its timeout, as vrrp_script_child_thread
// (keepalived/vrrp/vrrp_scheduler.c) runs them: SIGTERM to the process group, SIGKILL
// two seconds later, then up to ten more seconds for the process to go.
const (
	scriptTermGrace = 2 * time.Second
	scriptKillGrace = 10 * time.Second
)

// ScriptExecutor runs vrrp_script commands; its Exec is a vrrp.ScriptExec.
type ScriptExecutor struct {
	// TermGrace is the time between SIGTERM and SIGKILL (default 2 s, keepalived's).
	TermGrace time.Duration
}

// Exec runs script once: split as keepalived splits commands (config.SplitCommand: no
// shell), standard input and output on /dev/null, in a process group of its own. It
// returns nil when the command exits with status 0, an error naming the status or
// signal otherwise, or an error if it cannot be started (keepalived would have disabled
// a script it cannot find when it read the configuration; lvsd counts it as failing).
// When ctx is cancelled (the script's timeout) the process group gets SIGTERM, then
// SIGKILL after TermGrace; Exec returns an error wrapping ctx.Err() once the process has
// exited (or, should it not die, ten seconds after SIGKILL). The SIGKILL also goes to
// the group when the leader died of the SIGTERM, for the children it left behind.
func (e ScriptExecutor) Exec(ctx context.Context, script string) error {
	argv, err := config.SplitCommand(script)
	if err != nil {
		return fmt.Errorf("vrrp_script %q: %w", script, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vrrp_script %q: %w", script, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("vrrp_script %q: %w", script, err)
		}
		return nil
	case <-ctx.Done():
	}
	pid := cmd.Process.Pid
	grace := e.TermGrace
	if grace <= 0 {
		grace = scriptTermGrace
	}
	termGroup(pid)
	select {
	case <-exited:
		killGroup(pid)
		return fmt.Errorf("vrrp_script %q: terminated: %w", script, ctx.Err())
	case <-time.After(grace):
	}
	killGroup(pid)
	select {
	case <-exited:
	case <-time.After(scriptKillGrace):
	}
	return fmt.Errorf("vrrp_script %q: killed: %w", script, ctx.Err())
}

// Interface guards.
var _ vrrp.ScriptExec = ScriptExecutor{}.Exec
