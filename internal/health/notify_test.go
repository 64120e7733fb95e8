package health

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the notifier's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNotifierRunsInOrderWithArgs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var logs syncBuffer
	n := NewNotifier(NotifierOptions{MaxRunning: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cmd := `/bin/sh -c 'echo "$*" >> ` + out + `; exit $1' notify`
	n.Run([]Action{
		{Kind: NotifyDown, Command: cmd + " 0 down", Real: mustAP("10.1.0.1:80")},
		{Kind: QuorumDown, Command: ""}, // nothing to run
		{Kind: QuorumUp, Command: cmd + " 3 quorum"},
		{Kind: Callback, Command: cmd + " 0", Args: []string{"/etc/ha.d/ldirectord.cf"}},
	})
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "0 down\n3 quorum\n0 /etc/ha.d/ldirectord.cf\n"; got != want {
		t.Errorf("commands ran as %q, want %q", got, want)
	}
	l := logs.String()
	for _, want := range []string{"exit=0", "exit=3", "action=quorum_up", "real=10.1.0.1:80"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	n.Run([]Action{{Kind: QuorumUp, Command: cmd}})
	if !strings.Contains(logs.String(), "notifier closed") {
		t.Error("Run after Close not logged as dropped")
	}
}

// TestNotifierTimeoutKillsGroup: a command past its timeout is killed with its children
// (a background child would otherwise hold its output open).
func TestNotifierTimeoutKillsGroup(t *testing.T) {
	var logs syncBuffer
	n := NewNotifier(NotifierOptions{Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	began := time.Now()
	n.Run([]Action{{Kind: NotifyUp, Command: "/bin/sh -c 'sleep 30 & sleep 30'"}})
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if !strings.Contains(logs.String(), "timed out") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestNotifierNeverBlocks: Run returns at once even when commands pile up; beyond the
// queue they are dropped and logged. Close with an expired context kills what runs.
func TestNotifierNeverBlocks(t *testing.T) {
	var logs syncBuffer
	n := NewNotifier(NotifierOptions{MaxRunning: 1, MaxQueued: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	began := time.Now()
	for range 10 {
		n.Run([]Action{{Kind: NotifyUp, Command: "/bin/sleep 30"}})
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Run blocked for %v", d)
	}
	if !strings.Contains(logs.String(), "too many commands waiting") {
		t.Error("no drop logged")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); err == nil {
		t.Error("Close with running commands past the deadline returned nil")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestNotifierBadCommand(t *testing.T) {
	var logs syncBuffer
	n := NewNotifier(NotifierOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	n.Run([]Action{{Kind: NotifyUp, Command: `"unterminated`}, {Kind: NotifyUp, Command: "/nonexistent/x"}})
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), "command not run"); got != 2 {
		t.Errorf("%d 'not run' lines:\n%s", got, logs.String())
	}
}
