package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/health"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

func catalog() lb.Catalog {
	return lb.Catalog{Scheduler: sched.Known, PE: func(string) bool { return false }}
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, format, text string
		wantErr            string // "" = loads
		wantWarn           string
		services           int
	}{
		{"keepalived", "keepalived", "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", "", "", 1},
		{"keepalived warning", "keepalived", "global_defs {\n enable_snmp_vrrp\n}\nvirtual_server 10.0.0.1 80 {\n lb_algo rr\n protocol TCP\n}\n", "", "enable_snmp_vrrp", 0},
		{"keepalived syntax error", "keepalived", "virtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.1.1 {\n", "keepalived.conf", "", 0},
		{"keepalived unknown scheduler", "keepalived", "virtual_server 10.0.0.1 80 {\n lb_algo nosuch\n protocol TCP\n}\n", "nosuch", "", 0},
		{"ldirectord", "ldirectord", "virtual=10.0.0.1:80\n\treal=10.0.1.1:80 masq\n\tchecktype=connect\n", "", "", 1},
		{"ldirectord unknown directive", "ldirectord", "virtual=10.0.0.1:80\n\treal=10.0.1.1:80 masq\n\tbogus=1\n", "bogus", "", 0},
		{"unknown format", "haproxy", "", "unknown configuration format", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "keepalived.conf"
			if c.format == "ldirectord" {
				name = "ldirectord.cf"
			}
			p := write(t, dir, strings.ReplaceAll(c.name, " ", "-")+"-"+name, c.text)
			cfg, err := Load(Format(c.format), p, "host", catalog())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Services) != c.services {
				t.Errorf("%d services, want %d", len(cfg.Services), c.services)
			}
			if c.wantWarn != "" {
				var all []string
				for _, w := range cfg.Warnings {
					all = append(all, w.Msg)
				}
				if !strings.Contains(strings.Join(all, "\n"), c.wantWarn) {
					t.Errorf("warnings %q lack %q", all, c.wantWarn)
				}
			}
		})
	}
	if _, err := Load(Keepalived, filepath.Join(dir, "missing.conf"), "", catalog()); err == nil {
		t.Error("a missing file loaded")
	}
}

// director records the tables the runner hands it.
type director struct {
	mu     sync.Mutex
	states []*lb.State
	notify chan struct{}
}

func (d *director) Replace(_ context.Context, st *lb.State) error {
	d.mu.Lock()
	d.states = append(d.states, st)
	d.mu.Unlock()
	select {
	case d.notify <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits (bounded) until the last table has the reals want lists for its first
// service, as "addr:port" in any order.
func (d *director) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		d.mu.Lock()
		var got []string
		if n := len(d.states); n > 0 && len(d.states[n-1].Services) > 0 {
			for _, r := range d.states[n-1].Services[0].Reals {
				got = append(got, netipString(r))
			}
		}
		d.mu.Unlock()
		if sameSet(got, want) {
			return
		}
		select {
		case <-d.notify:
		case <-deadline:
			t.Fatalf("reals %v, want %v", got, want)
		}
	}
}

func netipString(r lb.Real) string { return fmt.Sprintf("%s:%d", r.Addr, r.Port) }

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// upChecker passes at once: every real with a check is up.
func upChecker(*config.Check, health.Target) (health.Checker, error) { return up{}, nil }

type up struct{}

func (up) Check(context.Context) health.Result { return health.Result{OK: true, Weight: -1} }

// TestRunReloads runs a file, reloads a changed one (the new real appears), then a broken
// one (refused: the table stays) and checks that autoreload notices a change by itself.
func TestRunReloads(t *testing.T) {
	dir := t.TempDir()
	conf := func(reals ...string) string {
		s := "autoreload=yes\ncheckinterval=1\nvirtual=10.0.0.1:80\n\tchecktype=connect\n"
		for _, r := range reals {
			s += "\treal=" + r + " masq\n"
		}
		return s
	}
	p := write(t, dir, "ldirectord.cf", conf("10.0.1.1:80"))
	d := &director{notify: make(chan struct{}, 1)}
	var logs strings.Builder
	var logMu sync.Mutex
	r := New(Options{
		Format: Ldirectord, Path: p, Catalog: catalog(), Director: d, NewChecker: upChecker,
		Logger:       slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)),
		PollInterval: 50 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, reload) }()
	d.waitFor(t, "10.0.1.1:80")

	write(t, dir, "ldirectord.cf", conf("10.0.1.1:80", "10.0.1.2:80"))
	reload <- struct{}{}
	d.waitFor(t, "10.0.1.1:80", "10.0.1.2:80")

	write(t, dir, "ldirectord.cf", conf("10.0.1.1:80")+"\tbogus=1\n")
	reload <- struct{}{}
	waitLog(t, &logMu, &logs, "reload refused")
	d.waitFor(t, "10.0.1.1:80", "10.0.1.2:80")

	// autoreload: a change is noticed without a signal
	write(t, dir, "ldirectord.cf", conf("10.0.1.3:80"))
	d.waitFor(t, "10.0.1.3:80")

	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 {
		t.Errorf("status has %d services, want 1", len(st.Services))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRefusesABadFirstLoad(t *testing.T) {
	p := write(t, t.TempDir(), "keepalived.conf", "virtual_server 10.0.0.1 80 {\n lb_algo nosuch\n}\n")
	r := New(Options{Format: Keepalived, Path: p, Catalog: catalog(), Director: &director{}, NewChecker: upChecker})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Run(ctx, nil); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("Run = %v, want the scheduler named", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func waitLog(t *testing.T, mu *sync.Mutex, b *strings.Builder, want string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		mu.Lock()
		s := b.String()
		mu.Unlock()
		if strings.Contains(s, want) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("log lacks %q", want)
}
