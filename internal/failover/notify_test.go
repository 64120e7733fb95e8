package failover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

func TestNotifyCommands(t *testing.T) {
	in := notifyScripts{master: "/m.sh 'a b'", backup: "/b.sh", fault: "", stop: "/s.sh", generic: "/n.sh x"}
	grp := notifyScripts{group: true, master: "/gm.sh", generic: "/gn.sh"}
	cases := []struct {
		s    notifyScripts
		n    vrrp.Notification
		want [][]string
	}{
		{in, vrrp.Notification{Name: "VI_1", State: vrrp.Master, Priority: 150},
			[][]string{{"/m.sh 'a b'"}, {"/n.sh x", "INSTANCE", "VI_1", "MASTER", "150"}}},
		{in, vrrp.Notification{Name: "VI_1", State: vrrp.Backup, Priority: 90},
			[][]string{{"/b.sh"}, {"/n.sh x", "INSTANCE", "VI_1", "BACKUP", "90"}}},
		{in, vrrp.Notification{Name: "VI_1", State: vrrp.Fault, Priority: 100},
			[][]string{{"/n.sh x", "INSTANCE", "VI_1", "FAULT", "100"}}},
		{in, vrrp.Notification{Name: "VI_1", State: vrrp.Stop, Priority: 100},
			[][]string{{"/s.sh"}, {"/n.sh x", "INSTANCE", "VI_1", "STOP", "100"}}},
		{in, vrrp.Notification{Name: "VI_1", State: vrrp.Init}, nil},
		{grp, vrrp.Notification{Group: true, Name: "G", State: vrrp.Master},
			[][]string{{"/gm.sh"}, {"/gn.sh", "GROUP", "G", "MASTER", "0"}}},
		{grp, vrrp.Notification{Group: true, Name: "G", State: vrrp.Stop},
			[][]string{{"/gn.sh", "GROUP", "G", "STOP", "0"}}},
	}
	for _, c := range cases {
		if got := c.s.commands(c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.n, got, c.want)
		}
	}
	cfg := &config.VRRPInstance{NotifyMaster: "m", NotifyBackup: "b", NotifyFault: "f", NotifyStop: "s", Notify: "n"}
	if got := instanceScripts(cfg); got != (notifyScripts{master: "m", backup: "b", fault: "f", stop: "s", generic: "n"}) {
		t.Errorf("instanceScripts = %+v", got)
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", path, b, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNotifierOrder: one instance's scripts run one after the other in the order of the
// notifications, with keepalived's arguments, even when an earlier one is slow.
func TestNotifierOrder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	slow := script(t, dir, "master.sh", fmt.Sprintf("sleep 0.2; echo master \"$@\" >> %s", out))
	generic := script(t, dir, "notify.sh", fmt.Sprintf("echo notify \"$@\" >> %s", out))
	backup := script(t, dir, "backup.sh", fmt.Sprintf("echo backup >> %s", out))
	nt := newNotifier(testLogger(t), 5*time.Second)
	s := notifyScripts{master: slow + " 'x y'", backup: backup, generic: generic}
	nt.notify("INSTANCE VI", s, vrrp.Notification{Name: "VI", State: vrrp.Master, Priority: 150})
	nt.notify("INSTANCE VI", s, vrrp.Notification{Name: "VI", State: vrrp.Backup, Priority: 150})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nt.close(ctx)
	want := "master x y\nnotify INSTANCE VI MASTER 150\nbackup\nnotify INSTANCE VI BACKUP 150\n"
	waitFile(t, out, want)
}

// TestNotifierLimits: a STOP script is killed after a second (with its children); a
// slow script of another state is left running after NotifyWait and the next starts.
func TestNotifierLimits(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	pidFile := filepath.Join(dir, "child.pid")
	stop := script(t, dir, "stop.sh", fmt.Sprintf("sleep 30 & echo $! > %s; sleep 3; echo stop >> %s", pidFile, out))
	nt := newNotifier(testLogger(t), 100*time.Millisecond)
	start := time.Now()
	nt.notify("INSTANCE VI", notifyScripts{stop: stop}, vrrp.Notification{Name: "VI", State: vrrp.Stop})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nt.close(ctx)
	if d := time.Since(start); d < 900*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("STOP script ran %v, want about 1 s", d)
	}
	b, _ := os.ReadFile(pidFile)
	waitGone(t, strings.TrimSpace(string(b)))

	slow := script(t, dir, "slow.sh", fmt.Sprintf("sleep 1; echo slow >> %s", out))
	fast := script(t, dir, "fast.sh", fmt.Sprintf("echo fast >> %s", out))
	s := notifyScripts{master: slow, backup: fast}
	nt.notify("INSTANCE VI", s, vrrp.Notification{Name: "VI", State: vrrp.Master})
	nt.notify("INSTANCE VI", s, vrrp.Notification{Name: "VI", State: vrrp.Backup})
	waitFile(t, out, "fast\n")
	waitFile(t, out, "fast\nslow\n") // the killed STOP script wrote nothing
	nt.close(ctx)
	nt.reap.Wait()
}

func TestNotifierBadCommand(t *testing.T) {
	nt := newNotifier(testLogger(t), time.Second)
	nt.notify("x", notifyScripts{master: "'unterminated"}, vrrp.Notification{State: vrrp.Master})
	nt.notify("x", notifyScripts{master: "/nonexistent/script"}, vrrp.Notification{State: vrrp.Master})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nt.close(ctx)
	if ctx.Err() != nil {
		t.Fatal("close timed out")
	}
}

func TestScriptExec(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	dir := t.TempDir()
	e := ScriptExecutor{TermGrace: 200 * time.Millisecond}
	if err := e.Exec(context.Background(), "/bin/sh -c 'exit 0'"); err != nil {
		t.Fatalf("exit 0: %v", err)
	}
	if err := e.Exec(context.Background(), "/bin/sh -c 'exit 3'"); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("exit 3: %v", err)
	}
	if err := e.Exec(context.Background(), "/nonexistent/check"); err == nil {
		t.Fatal("a missing command succeeded")
	}
	if err := e.Exec(context.Background(), "'oops"); err == nil {
		t.Fatal("an unterminated quote ran")
	}

	// Timeout: SIGTERM ends the script; its background child goes with the group.
	pidFile := filepath.Join(dir, "child.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Exec(ctx, script(t, dir, "hang.sh", fmt.Sprintf("sleep 30 & echo $! > %s; wait", pidFile)))
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("timed-out script: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed-out script took %v", d)
	}
	b, _ := os.ReadFile(pidFile)
	waitGone(t, strings.TrimSpace(string(b)))

	// A script that ignores SIGTERM is killed after TermGrace.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	err = e.Exec(ctx2, script(t, dir, "stubborn.sh", "trap '' TERM; sleep 30 & wait; sleep 30"))
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("stubborn script: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("stubborn script took %v, want TermGrace after the timeout", d)
	}
}

// waitGone waits until process pid no longer exists.
func waitGone(t *testing.T, pid string) {
	t.Helper()
	if pid == "" {
		t.Fatal("no pid")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
