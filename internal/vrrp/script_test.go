package vrrp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

func TestScriptRecord(t *testing.T) {
	for _, tt := range []struct {
		rise, fall int
		results    string // s = success, f = failure
		want       string // the reports: + for OK, - for failed, . for none
	}{
		{1, 1, "sfsf", "+-+-"},
		{1, 1, "ssff", "+.-."},
		{1, 1, "f", "-"},
		{3, 1, "s", "+"}, // the first success is enough
		{3, 1, "fsss", "-..+"},
		{3, 1, "fssfsss", "-.....+"},
		{2, 3, "sfffs", "+..-."},
		{2, 3, "sffsfff", "+.....-"},
		{1, 2, "sfsff", "+...-"},
	} {
		r := &scriptRun{rise: tt.rise, fall: tt.fall, result: tt.rise - 1, init: true}
		var got []byte
		for _, c := range tt.results {
			ok := c == 's'
			switch {
			case !r.record(ok):
				got = append(got, '.')
			case ok:
				got = append(got, '+')
			default:
				got = append(got, '-')
			}
		}
		if string(got) != tt.want {
			t.Errorf("rise %d fall %d, results %s: reports %s, want %s", tt.rise, tt.fall, tt.results, got, tt.want)
		}
	}
}

// scriptLab runs a ScriptRunner on a fake clock with commands that succeed or fail as
// told, or hang until cancelled.
type scriptLab struct {
	t       *testing.T
	clock   *fakeClock
	mu      sync.Mutex
	plan    map[string][]string // per script: "ok", "fail" or "hang" for each run
	runs    map[string]int
	reports []string
	cancel  context.CancelFunc
	done    chan error
}

func (l *scriptLab) exec(ctx context.Context, script string) error {
	l.mu.Lock()
	p := l.plan[script]
	what := "ok"
	if n := l.runs[script]; n < len(p) {
		what = p[n]
	}
	l.runs[script]++
	l.mu.Unlock()
	switch what {
	case "fail":
		return errors.New("exit status 1")
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (l *scriptLab) report(name string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, fmt.Sprintf("%s %v", name, ok))
}

// wait waits for n turns of the runner's loop.
func (l *scriptLab) wait(n int) {
	l.t.Helper()
	for range n {
		select {
		case <-l.clock.armed:
		case <-time.After(10 * time.Second):
			l.t.Fatal("the runner did not go round its loop")
		}
	}
}

func startScripts(t *testing.T, plan map[string][]string, scripts ...*config.VRRPScript) *scriptLab {
	l := &scriptLab{t: t, clock: newFakeClock(), plan: plan, runs: map[string]int{}, done: make(chan error)}
	s := NewScriptRunner(scripts, l.exec, l.report, ScriptOptions{Clock: l.clock, Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(t.Context())
	l.cancel = cancel
	go func() { l.done <- s.Run(ctx) }()
	return l
}

func (l *scriptLab) stop() {
	l.cancel()
	if err := <-l.done; err != nil {
		l.t.Errorf("Run = %v", err)
	}
}

func (l *scriptLab) took() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reports
	l.reports = nil
	return out
}

func TestScriptRunner(t *testing.T) {
	chk := &config.VRRPScript{Name: "chk", Script: "/chk", Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 2}
	l := startScripts(t, map[string][]string{"/chk": {"ok", "fail", "fail", "ok", "ok", "hang", "hang"}}, chk)
	defer l.stop()
	l.wait(1) // armed at start (run due now)
	l.wait(2) // first run started, then its result
	if got := l.took(); !slices.Equal(got, []string{"chk true"}) {
		t.Fatalf("after the first run: %v", got)
	}
	step := func() {
		l.clock.Advance(2 * time.Second)
		l.wait(2)
	}
	step() // fail 1 of 2
	if got := l.took(); len(got) != 0 {
		t.Fatalf("one failure with fall 2: %v", got)
	}
	step() // fail 2 of 2
	if got := l.took(); !slices.Equal(got, []string{"chk false"}) {
		t.Fatalf("two failures: %v", got)
	}
	step() // ok 1 of 2
	step() // ok 2 of 2
	if got := l.took(); !slices.Equal(got, []string{"chk true"}) {
		t.Fatalf("two successes: %v", got)
	}
	// Two runs that hang past their timeout count as two failures.
	for range 2 {
		l.clock.Advance(2 * time.Second)
		l.wait(1) // started
		l.clock.Advance(time.Second)
		l.wait(2) // timed out, then the result
	}
	if got := l.took(); !slices.Equal(got, []string{"chk false"}) {
		t.Fatalf("two timeouts: %v", got)
	}
}

// TestScriptSkipsWhileRunning: with a timeout longer than the interval, a run still
// going when the next is due makes that one skip.
func TestScriptSkipsWhileRunning(t *testing.T) {
	chk := &config.VRRPScript{Name: "slow", Script: "/slow", Interval: time.Second, Timeout: 5 * time.Second, Rise: 1, Fall: 1}
	l := startScripts(t, map[string][]string{"/slow": {"hang"}}, chk)
	defer l.stop()
	l.wait(2) // armed, started
	for range 3 {
		l.clock.Advance(time.Second)
		l.wait(1)
	}
	l.mu.Lock()
	runs := l.runs["/slow"]
	l.mu.Unlock()
	if runs != 1 {
		t.Errorf("%d runs while the first hangs, want 1", runs)
	}
	l.clock.Advance(2 * time.Second) // timeout at 5 s, and a run due at 4 s skips
	l.wait(2)
	if got := l.took(); !slices.Equal(got, []string{"slow false"}) {
		t.Errorf("reports %v", got)
	}
}
