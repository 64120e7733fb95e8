package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// ExternalChecker runs a command and judges the real by its exit status, as keepalived's
// MISC_CHECK (keepalived/check/check_misc.c, misc_check_child_thread) and ldirectord's
// checktype=external (check_external / system_timeout in /usr/sbin/ldirectord):
//   - exit status 0: up;
//   - with Dynamic (misc_dynamic), exit status 2..255: up, and the real's weight becomes
//     status-2 (0..253); Result.Weight carries it. Status 0 leaves the weight alone;
//   - any other exit status (1 always): down;
//   - killed by a signal, or not started at all: down;
//   - still running when ctx ends: the whole process group is killed with SIGKILL, reaped,
//     and the check is down ("timed out").
//
// The command line is split into words by SplitCommand, the way keepalived splits misc_path
// (alloc_strvec_quoted_escaped in lib/parser.c), and executed directly, not through a
// shell: write "/bin/sh -c '...'" for shell syntax.
// ldirectord calls its checkcommand with four arguments, the virtual address and port and
// the real address and port: its adapter appends them to Command, quoted.
//
// The command runs in a process group of its own, with stdin, stdout and stderr on
// /dev/null, so nothing it leaves running can hold the check open through a pipe.
// keepalived sends SIGTERM at the timeout and SIGKILL two seconds later; the Checker
// contract (return by the deadline) leaves no such grace, so the group gets SIGKILL at once.
type ExternalChecker struct {
	argv    []string
	dynamic bool
}

// Interface guards.
var _ Checker = (*ExternalChecker)(nil)

func newExternalChecker(c *config.Check) (*ExternalChecker, error) {
	if strings.TrimSpace(c.Command) == "" {
		return nil, errors.New("health: external check has no command")
	}
	argv, err := config.SplitCommand(c.Command)
	if err != nil {
		return nil, fmt.Errorf("health: external command %q: %v", c.Command, err)
	}
	return &ExternalChecker{argv: argv, dynamic: c.Dynamic}, nil
}

// Check runs the command once, waiting for it or for ctx to end, whichever is first.
func (c *ExternalChecker) Check(ctx context.Context) Result {
	if err := ctx.Err(); err != nil {
		return checkDownErr(ctx, "run "+c.argv[0], err)
	}
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	setProcessGroup(cmd)
	// Wait returns as soon as the killed process is reaped: there are no pipes to drain.
	cmd.WaitDelay = time.Second
	// On a timeout, Cancel (setProcessGroup) kills the group before the leader is reaped,
	// so the group id cannot have been reused. On a normal exit keepalived leaves what the
	// command left behind alone, and so do we.
	err := cmd.Run()
	if ctx.Err() != nil && (err != nil || cmd.ProcessState == nil) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return checkDown("%s: timed out, process group killed", c.argv[0])
		}
		return checkDown("%s: %v, process group killed", c.argv[0], ctx.Err())
	}
	if cmd.ProcessState == nil {
		return checkDown("%s: %v", c.argv[0], errText(err))
	}
	if sig, ok := signaled(cmd.ProcessState); ok {
		return checkDown("%s: killed by signal %s", c.argv[0], sig)
	}
	code := cmd.ProcessState.ExitCode()
	switch {
	case code == 0:
		return checkOK("%s: exit status 0", c.argv[0])
	case c.dynamic && code >= 2 && code <= 255:
		return Result{OK: true, Reason: fmt.Sprintf("%s: exit status %d, weight %d", c.argv[0], code, code-2), Weight: code - 2}
	}
	return checkDown("%s: exit status %d", c.argv[0], code)
}
