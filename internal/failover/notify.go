package failover

import (
	"context"
	"log/slog"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

// notifyScripts are the notify commands of one instance or sync group.
type notifyScripts struct {
	group                                bool
	master, backup, fault, stop, generic string
}

func instanceScripts(in *config.VRRPInstance) notifyScripts {
	return notifyScripts{master: in.NotifyMaster, backup: in.NotifyBackup, fault: in.NotifyFault,
		stop: in.NotifyStop, generic: in.Notify}
}

func groupScripts(g *config.VRRPSyncGroup) notifyScripts {
	return notifyScripts{group: true, master: g.NotifyMaster, backup: g.NotifyBackup, fault: g.NotifyFault,
		generic: g.Notify}
}

// commands returns the command lines to run for n, in keepalived's order
// (send_instance_notifies / send_group_notifies): the state's own script, then the
// generic one with "INSTANCE"|"GROUP" NAME STATE PRIORITY appended (notify_script_exec;
// a group's priority is 0). States without a script of their own (INIT) run only the
// generic one, which keepalived never reaches with INIT either, so nothing runs.
func (s notifyScripts) commands(n vrrp.Notification) [][]string {
	var own string
	switch n.State {
	case vrrp.Master:
		own = s.master
	case vrrp.Backup:
		own = s.backup
	case vrrp.Fault:
		own = s.fault
	case vrrp.Stop:
		own = s.stop
	default:
		return nil
	}
	var out [][]string
	if own != "" {
		out = append(out, []string{own})
	}
	if s.generic != "" {
		kind := "INSTANCE"
		if n.Group {
			kind = "GROUP"
		}
		out = append(out, []string{s.generic, kind, n.Name, n.State.String(), strconv.Itoa(n.Priority)})
	}
	return out
}

// notifyJob is one command to run: a keepalived command line and extra arguments.
type notifyJob struct {
	line  string
	extra []string
	// kill, when > 0, is when the process group is killed (STOP scripts).
	kill time.Duration
	why  string // "INSTANCE VI_1 MASTER", for the log
}

// notifier runs notify commands: one queue per instance or group, its commands one
// after the other, each waited for at most wait before the next starts. Safe for
// concurrent use.
type notifier struct {
	log  *slog.Logger
	wait time.Duration

	mu      sync.Mutex
	queues  map[string][]notifyJob
	running map[string]bool
	wg      sync.WaitGroup // one per running queue worker
	reap    sync.WaitGroup // processes left running past wait
}

func newNotifier(log *slog.Logger, wait time.Duration) *notifier {
	return &notifier{log: log, wait: wait, queues: map[string][]notifyJob{}, running: map[string]bool{}}
}

// notify queues the commands of n; key names its queue.
func (nt *notifier) notify(key string, s notifyScripts, n vrrp.Notification) {
	cmds := s.commands(n)
	if len(cmds) == 0 {
		return
	}
	kind := "INSTANCE"
	if n.Group {
		kind = "GROUP"
	}
	why := kind + " " + n.Name + " " + n.State.String()
	var kill time.Duration
	if n.State == vrrp.Stop {
		kill = time.Second // keepalived: system_call_script(..., TIMER_HZ, ...) for STOP
	}
	nt.mu.Lock()
	defer nt.mu.Unlock()
	for _, c := range cmds {
		nt.queues[key] = append(nt.queues[key], notifyJob{line: c[0], extra: c[1:], kill: kill, why: why})
	}
	if !nt.running[key] {
		nt.running[key] = true
		nt.wg.Add(1)
		go nt.work(key)
	}
}

// work runs key's queue until it is empty.
func (nt *notifier) work(key string) {
	defer nt.wg.Done()
	for {
		nt.mu.Lock()
		q := nt.queues[key]
		if len(q) == 0 {
			delete(nt.queues, key)
			delete(nt.running, key)
			nt.mu.Unlock()
			return
		}
		j := q[0]
		nt.queues[key] = q[1:]
		nt.mu.Unlock()
		nt.run(j)
	}
}

// run starts one command and waits for it: until it exits, until j.kill (then its
// process group is killed), or until nt.wait (then it is left running).
func (nt *notifier) run(j notifyJob) {
	argv, err := config.SplitCommand(j.line)
	if err != nil {
		nt.log.Error("notify script not run", "for", j.why, "command", j.line, "err", err)
		return
	}
	argv = append(argv, j.extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	ownGroup(cmd) // standard input and output stay /dev/null, as keepalived's set_std_fd
	start := time.Now()
	if err := cmd.Start(); err != nil {
		nt.log.Error("notify script not run", "for", j.why, "argv", argv, "err", err)
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	limit, killing := nt.wait, false
	if j.kill > 0 {
		limit, killing = j.kill, true
	}
	attrs := []any{"for", j.why, "argv", argv}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err := <-exited:
		attrs = append(attrs, "duration", time.Since(start).Round(time.Millisecond))
		if err != nil {
			nt.log.Warn("notify script failed", append(attrs, "err", err)...)
			return
		}
		nt.log.Info("notify script done", attrs...)
	case <-timer.C:
		if killing {
			killGroup(cmd.Process.Pid)
			<-exited
			nt.log.Warn("notify script killed after its time limit", append(attrs, "limit", limit)...)
			return
		}
		nt.log.Warn("notify script still running; the next one starts", append(attrs, "after", limit)...)
		nt.reap.Go(func() { <-exited })
	}
}

// close waits for the queued commands to be run, at most until ctx ends. Commands still
// running are left running (keepalived does not kill notify scripts either, except STOP
// ones, which run is bounded).
func (nt *notifier) close(ctx context.Context) {
	done := make(chan struct{})
	go func() { nt.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		nt.log.Warn("notify scripts still queued at shutdown")
	}
}
