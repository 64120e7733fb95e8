package health

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExternalChecker(t *testing.T) {
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	ok, down, seven := script(t, dir, "ok", "exit 0"), script(t, dir, "down", "exit 1"), script(t, dir, "seven", "exit 7")
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("exit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command string
		dynamic bool
		ok      bool
		weight  int
		reason  string
	}{
		{"exit 0", ok, false, true, -1, "exit status 0"},
		{"exit 1", down, false, false, -1, "exit status 1"},
		{"exit 7 without dynamic", seven, false, false, -1, "exit status 7"},
		{"exit 7 dynamic", seven, true, true, 5, "exit status 7, weight 5"},
		{"exit 2 dynamic", script(t, dir, "two", "exit 2"), true, true, 0, "weight 0"},
		{"exit 255 dynamic", script(t, dir, "max", "exit 255"), true, true, 253, "weight 253"},
		{"exit 1 dynamic", down, true, false, -1, "exit status 1"},
		{"exit 0 dynamic keeps the weight", ok, true, true, -1, "exit status 0"},
		{"shell", "/bin/sh -c 'exit 3'", true, true, 1, "weight 1"},
		{"signal", script(t, dir, "sig", "kill -TERM $$"), false, false, -1, "killed by signal terminated"},
		{"missing", filepath.Join(dir, "nonexistent"), false, false, -1, "no such file or directory"},
		{"not executable", notExec, false, false, -1, "permission denied"},
		{"quoted arguments", script(t, dir, "args", `printf '%s|' "$@" > `+argsFile) + ` 'a b' "c\"d" e\ f`, false, true, -1, "exit status 0"},
		{"output is discarded", script(t, dir, "noisy", "head -c 4000000 /dev/zero; head -c 4000000 /dev/zero >&2; exit 0"), false, true, -1, "exit status 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck := mustChecker(t, &config.Check{Kind: config.CheckExternal, Command: tt.command, Dynamic: tt.dynamic}, Target{})
			r := runCheck(t, ck, 2*time.Second)
			wantResult(t, r, tt.ok, tt.reason)
			if r.Weight != tt.weight {
				t.Errorf("weight %d, want %d", r.Weight, tt.weight)
			}
		})
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `a b|c"d|e f|`; got != want {
		t.Errorf("script got arguments %q, want %q", got, want)
	}
}

// A command still running at the timeout is killed with everything it started, and reaped.
func TestExternalCheckerTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	cmd := script(t, dir, "slow", `echo $$ > "$1"; sleep 30 & echo $! >> "$1"; sh -c 'sleep 31' & echo $! >> "$1"; wait`) + " " + pids
	ck := mustChecker(t, &config.Check{Kind: config.CheckExternal, Command: cmd}, Target{})

	start := time.Now()
	r := runCheck(t, ck, 500*time.Millisecond)
	wantResult(t, r, false, "timed out, process group killed")
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Errorf("returned after %v, before its timeout", el)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Fields(string(b))
	if len(list) != 3 {
		t.Fatalf("script wrote pids %q, want 3", list)
	}
	for i, s := range list {
		pid, _ := strconv.Atoi(s)
		if !processGone(pid, time.Second) {
			t.Errorf("process %d (%s) still runs after the check timed out", pid, []string{"script", "its child", "its shell child"}[i])
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// A command that exits leaves what it started alone, as keepalived does, and the check does
// not wait for it: its output goes to /dev/null, not to a pipe it could hold open.
func TestExternalCheckerDoesNotWaitForBackground(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cmd := script(t, dir, "bg", `sleep 30 & echo $! > "$1"; exit 0`) + " " + pidFile
	ck := mustChecker(t, &config.Check{Kind: config.CheckExternal, Command: cmd}, Target{})
	start := time.Now()
	wantResult(t, runCheck(t, ck, 5*time.Second), true, "exit status 0")
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("check waited %v for the background process", el)
	}
	b, _ := os.ReadFile(pidFile)
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processGone waits up to d for pid to disappear or become a zombie (dead, waiting for
// init to reap it).
func processGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		// The state follows the parenthesised command name.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
