package health

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

type monitorRig struct {
	m   *Monitor
	clk *stepClock
	ff  *scriptFactory

	mu   sync.Mutex
	trs  []Transition
	acts []Action
}

func startMonitor(t *testing.T, cfg *config.Config, workers int, prepare func(string, *scriptChecker)) *monitorRig {
	t.Helper()
	rig := &monitorRig{clk: newStepClock()}
	rig.ff = newScriptFactory(rig.clk)
	rig.ff.prepare = prepare
	rig.m = NewMonitor(Options{
		NewChecker: rig.ff.New, Workers: workers, Clock: rig.clk, Rand: rand.New(rand.NewPCG(1, 2)),
		OnTransition: func(tr Transition) { rig.mu.Lock(); rig.trs = append(rig.trs, tr); rig.mu.Unlock() },
		OnActions:    func(a []Action) { rig.mu.Lock(); rig.acts = append(rig.acts, a...); rig.mu.Unlock() },
		ConfigFile:   "/etc/keepalived/keepalived.conf",
	})
	if err := rig.m.Start(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.m.Stop)
	return rig
}

func (r *monitorRig) transitions() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.trs...)
}

func (r *monitorRig) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return actionStrings(r.acts)
}

func (r *monitorRig) latest(t *testing.T) *lb.State {
	t.Helper()
	select {
	case st := <-r.m.States():
		return st
	default:
		t.Fatal("no table published")
		return nil
	}
}

func realStatus(t *testing.T, st Status, ap string) RealStatus {
	t.Helper()
	for _, s := range st.Services {
		for _, r := range s.Reals {
			if r.Real == mustAP(ap) {
				return r
			}
		}
	}
	t.Fatalf("no real %s in status", ap)
	return RealStatus{}
}

// TestMonitorIntervalsAndJitter: with no warmup the first run comes within the jitter
// window, then every Interval ± 5% (± the 10 ms timer slack), from one scheduler for all
// reals.
func TestMonitorIntervalsAndJitter(t *testing.T) {
	svc := mkService(vip, mkReal("10.1.0.1:80", 1, mkCheck(0)), mkReal("10.1.0.2:80", 1, mkCheck(0)),
		mkReal("10.1.0.3:80", 1, mkCheck(0)))
	rig := startMonitor(t, mkConfig(svc), 4, nil)
	if got := tableReals(rig.latest(t), svcKey(vip)); len(got) != 3 {
		t.Fatalf("initial table %q", got)
	}
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(30*time.Second))
	for _, ap := range []string{"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"} {
		calls := rig.ff.get(ap).calls()
		if len(calls) < 28 || len(calls) > 32 {
			t.Fatalf("%s: %d runs in 30 s", ap, len(calls))
		}
		if first := calls[0].Sub(clockStart); first > 110*time.Millisecond {
			t.Errorf("%s: first run after %v, want within the jitter window (100ms) and the slack", ap, first)
		}
		for i := 1; i < len(calls); i++ {
			if gap := calls[i].Sub(calls[i-1]); gap < 940*time.Millisecond || gap > 1060*time.Millisecond {
				t.Errorf("%s: run %d came %v after the previous one", ap, i, gap)
			}
		}
	}
	if trs := rig.transitions(); len(trs) != 0 {
		t.Errorf("transitions with every check passing: %+v", trs)
	}
}

// TestMonitorTransitions: a failing real goes down after its retries; the table, the
// transitions and the actions follow, and it comes back with one success.
func TestMonitorTransitions(t *testing.T) {
	c := mkCheck(2)
	c.RetryDelay = 300 * time.Millisecond
	svc := mkService(vip, mkReal("10.1.0.1:80", 2, c), mkReal("10.1.0.2:80", 1, mkCheck(2)))
	rig := startMonitor(t, mkConfig(svc), 4, func(ap string, f *scriptChecker) {
		if ap == "10.1.0.1:80" {
			f.res = []Result{resOK(), resFail("refused"), resFail("refused"), resFail("refused"), resOK()}
		}
	})
	rig.latest(t)
	// The second run (1 s ± 5% after the first, within 100 ms of the start) fails.
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(1200*time.Millisecond))
	st := monSettle(t, rig.m, rig.clk)
	if r := realStatus(t, st, "10.1.0.1:80"); !r.Up || r.Checks[0].Retries != 1 || r.Failures != 1 {
		t.Fatalf("after one failure: %+v", r)
	}
	// Two retries 300 ms apart, then down.
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(2*time.Second))
	st = monSettle(t, rig.m, rig.clk)
	r := realStatus(t, st, "10.1.0.1:80")
	if r.Up || r.Reason != "refused" || r.Failures != 3 || r.InTable || r.Checks[0].LastOK {
		t.Fatalf("after three failures: %+v", r)
	}
	calls := rig.ff.get("10.1.0.1:80").calls()
	if gap := calls[3].Sub(calls[2]); gap < 290*time.Millisecond || gap > 310*time.Millisecond {
		t.Errorf("retry after %v, want RetryDelay", gap)
	}
	if got := tableReals(rig.latest(t), svcKey(vip)); len(got) != 1 || got[0] != "10.1.0.2:80=1" {
		t.Errorf("table %q", got)
	}
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(3*time.Second))
	trs := rig.transitions()
	if len(trs) != 2 || trs[0].Kind != RealDown || trs[1].Kind != RealUp || trs[0].Check != config.CheckTCP {
		t.Fatalf("transitions %+v", trs)
	}
	want := []string{"notify_down 10.1.0.1:80", "notify_up 10.1.0.1:80"}
	if got := rig.actions(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("actions %q, want %q", got, want)
	}
	if got := tableReals(rig.latest(t), svcKey(vip)); len(got) != 2 {
		t.Errorf("table after recovery %q", got)
	}
}

// TestMonitorHungChecker: hung checks (one honouring its deadline, one ignoring it) hold a
// worker only until their timeout; the other reals are checked meanwhile, and concurrency
// never exceeds the workers.
func TestMonitorHungChecker(t *testing.T) {
	hungHonour, hungIgnore := mkCheck(0), mkCheck(0)
	hungHonour.Timeout, hungIgnore.Timeout = time.Second, 600*time.Millisecond
	svc := mkService(vip, mkReal("10.1.0.1:80", 1, hungHonour), mkReal("10.1.0.2:80", 1, hungIgnore))
	fast := []string{"10.1.0.3:80", "10.1.0.4:80", "10.1.0.5:80", "10.1.0.6:80"}
	for _, ap := range fast {
		svc.Reals = append(svc.Reals, mkReal(ap, 1, mkCheck(0)))
	}
	rig := startMonitor(t, mkConfig(svc), 3, func(ap string, f *scriptChecker) {
		switch ap {
		case "10.1.0.1:80":
			f.hang, f.honour = true, true
		case "10.1.0.2:80":
			f.hang = true
		}
	})
	defer close(rig.ff.get("10.1.0.2:80").release)
	began := time.Now()
	rig.clk.Advance(200 * time.Millisecond) // past every first run
	for _, ap := range fast {
		for len(rig.ff.get(ap).calls()) == 0 {
			if time.Since(began) > 500*time.Millisecond {
				t.Fatalf("%s not checked %v after it was due: the hung checks held it up", ap, time.Since(began))
			}
			time.Sleep(time.Millisecond)
		}
	}
	st := monSettle(t, rig.m, rig.clk) // waits for the timeouts
	if r := realStatus(t, st, "10.1.0.1:80"); r.Up || !strings.Contains(r.Reason, "deadline exceeded") {
		t.Errorf("honouring checker: %+v", r)
	}
	if r := realStatus(t, st, "10.1.0.2:80"); r.Up || r.Reason != "timeout after 600ms" {
		t.Errorf("ignoring checker: %+v", r)
	}
	// Next round: the checker that ignored its deadline is still stuck; it is not started
	// again, and its worker is free.
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(1300*time.Millisecond))
	st = monSettle(t, rig.m, rig.clk)
	if r := realStatus(t, st, "10.1.0.2:80"); !strings.Contains(r.Checks[0].LastReason, "still going") {
		t.Errorf("stuck checker's second run: %+v", r.Checks[0])
	}
	if n := len(rig.ff.get("10.1.0.2:80").calls()); n != 1 {
		t.Errorf("stuck checker started %d times", n)
	}
	for _, ap := range fast {
		if n := len(rig.ff.get(ap).calls()); n != 2 {
			t.Errorf("%s: %d runs in two rounds", ap, n)
		}
	}
	if p := rig.ff.peak.Load(); p > 3 {
		t.Errorf("%d checks at once with 3 workers", p)
	}
}

// TestMonitorUpdate: a reload keeps the state and schedule of unchanged checks and builds
// checkers only for new ones; a removed real is no longer checked.
func TestMonitorUpdate(t *testing.T) {
	build := func(extra bool) *config.Config {
		svc := mkService(vip, mkReal("10.1.0.1:80", 1, mkCheck(0)), mkReal("10.1.0.2:80", 1, mkCheck(0)))
		if extra {
			svc.Reals = append(svc.Reals, mkReal("10.1.0.3:80", 1, mkCheck(0)))
		}
		return mkConfig(svc)
	}
	rig := startMonitor(t, build(false), 4, func(ap string, f *scriptChecker) {
		if ap == "10.1.0.1:80" {
			f.res = []Result{resFail("refused")}
		}
	})
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(2500*time.Millisecond))
	before := monSettle(t, rig.m, rig.clk)
	if err := rig.m.Update(build(true)); err != nil {
		t.Fatal(err)
	}
	after := monSettle(t, rig.m, rig.clk)
	for _, ap := range []string{"10.1.0.1:80", "10.1.0.2:80"} {
		b, a := realStatus(t, before, ap), realStatus(t, after, ap)
		if a.Up != b.Up || a.Since != b.Since || a.Checks[0].Runs != b.Checks[0].Runs ||
			a.Checks[0].NextRun != b.Checks[0].NextRun {
			t.Errorf("%s changed by the reload:\n before %+v\n after  %+v", ap, b, a)
		}
	}
	if r := realStatus(t, after, "10.1.0.3:80"); !r.Up || r.Checks[0].Runs != 0 {
		t.Errorf("new real: %+v", r)
	}
	if n := rig.ff.builds.Load(); n != 3 {
		t.Errorf("%d checkers built, want 3", n)
	}
	if got := rig.actions(); len(got) != 1 || got[0] != "notify_down 10.1.0.1:80" {
		t.Errorf("actions %q (the reload itself must run none)", got)
	}
	// Remove real 2: no more runs.
	cfg := build(true)
	cfg.Services[0].Reals = append(cfg.Services[0].Reals[:1], cfg.Services[0].Reals[2])
	if err := rig.m.Update(cfg); err != nil {
		t.Fatal(err)
	}
	n := len(rig.ff.get("10.1.0.2:80").calls())
	monRunUntil(t, rig.m, rig.clk, clockStart.Add(6*time.Second))
	if m := len(rig.ff.get("10.1.0.2:80").calls()); m != n {
		t.Errorf("removed real checked %d more times", m-n)
	}
}

func TestMonitorBuildError(t *testing.T) {
	clk := newStepClock()
	m := NewMonitor(Options{Clock: clk, NewChecker: func(*config.Check, Target) (Checker, error) {
		return nil, errors.New("unsupported check")
	}})
	svc := mkService(vip, mkReal("10.1.0.1:80", 1, mkCheck(0)))
	if err := m.Start(mkConfig(svc)); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	monRunUntil(t, m, clk, clockStart.Add(time.Second))
	st := monSettle(t, m, clk)
	if r := realStatus(t, st, "10.1.0.1:80"); r.Up || r.Reason != "unsupported check" {
		t.Errorf("%+v", r)
	}
}

// TestMonitorStop: Stop ends every goroutine the monitor started, checks included, runs
// the shutdown actions and closes States; the methods then return ErrStopped.
func TestMonitorStop(t *testing.T) {
	base := runtime.NumGoroutine()
	svc := mkService(vip, mkReal("10.1.0.1:80", 1, mkCheck(0)), mkReal("10.1.0.2:80", 1, mkCheck(0)))
	svc.Omega = true
	hung := mkCheck(0)
	hung.Timeout = time.Hour
	svc.Reals = append(svc.Reals, mkReal("10.1.0.3:80", 1, hung))
	rig := &monitorRig{clk: newStepClock()}
	rig.ff = newScriptFactory(rig.clk)
	rig.ff.prepare = func(ap string, f *scriptChecker) { f.hang, f.honour = ap == "10.1.0.3:80", true }
	var acts []Action
	m := NewMonitor(Options{NewChecker: rig.ff.New, Workers: 50, Clock: rig.clk,
		OnActions: func(a []Action) { acts = append(acts, a...) }})
	if err := m.Start(mkConfig(svc)); err != nil {
		t.Fatal(err)
	}
	rig.clk.Advance(time.Second)
	for len(rig.ff.get("10.1.0.3:80").calls()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if runtime.NumGoroutine() < base+50 {
		t.Fatalf("%d goroutines running, want the workers", runtime.NumGoroutine())
	}
	m.Stop()
	m.Stop()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left after Stop (had %d):\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	if _, open := <-m.States(); open {
		for range m.States() {
		}
	}
	if got := actionStrings(acts); strings.Join(got, ",") != "notify_down 10.1.0.1:80,notify_down 10.1.0.2:80,notify_down 10.1.0.3:80,quorum_down" {
		t.Errorf("shutdown actions %q", got)
	}
	if _, err := m.Status(); !errors.Is(err, ErrStopped) {
		t.Errorf("Status after Stop: %v", err)
	}
	if err := m.Update(mkConfig()); !errors.Is(err, ErrStopped) {
		t.Errorf("Update after Stop: %v", err)
	}
	if err := m.Start(mkConfig()); err == nil {
		t.Error("restart allowed")
	}
}
