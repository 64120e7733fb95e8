package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

var clockStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func svcKey(ap string) lb.ServiceKey {
	a := netip.MustParseAddrPort(ap)
	return lb.ServiceKey{Protocol: lb.TCP, Addr: a.Addr(), Port: a.Port()}
}

func mkService(ap string, reals ...*config.Real) *config.Service {
	return &config.Service{Service: lb.Service{ServiceKey: svcKey(ap), Scheduler: "wlc"}, Quorum: 1, Reals: reals}
}

func mkReal(ap string, w int32, checks ...*config.Check) *config.Real {
	a := netip.MustParseAddrPort(ap)
	return &config.Real{Real: lb.Real{Addr: a.Addr(), Port: a.Port(), Forward: lb.Route, Weight: w},
		NotifyUp: "up " + ap, NotifyDown: "down " + ap, Checks: checks}
}

func mkCheck(retries int) *config.Check {
	return &config.Check{Kind: config.CheckTCP, Interval: time.Second, Timeout: time.Second,
		Retries: retries, RetryDelay: 100 * time.Millisecond}
}

func mkConfig(services ...*config.Service) *config.Config {
	return &config.Config{Services: services}
}

func resOK() Result                   { return Result{OK: true, Reason: "ok", Weight: -1} }
func resFail(why string) Result       { return Result{Reason: why, Weight: -1} }
func resWeight(w int) Result          { return Result{OK: true, Reason: fmt.Sprintf("exit %d", w+2), Weight: w} }
func mustAP(ap string) netip.AddrPort { return netip.MustParseAddrPort(ap) }

// nopCheckerFactory builds checkers that are never run (sched tests feed results directly).
func nopCheckerFactory(*config.Check, Target) (Checker, error) {
	return checkerFunc(func(context.Context) Result { return resOK() }), nil
}

// checkerFunc adapts a function to Checker.
type checkerFunc func(ctx context.Context) Result

func (f checkerFunc) Check(ctx context.Context) Result { return f(ctx) }

func newTestSched(seed uint64) *sched {
	return newSched(nopCheckerFactory, rand.New(rand.NewPCG(seed, seed+1)), 0.1)
}

// stepClock is a Clock stepped by the test.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*stepTimer
}

type stepTimer struct {
	clk    *stepClock
	c      chan time.Time
	when   time.Time
	active bool
}

func newStepClock() *stepClock { return &stepClock{now: clockStart} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) NewTimer(d time.Duration) Timer {
	t := &stepTimer{clk: c, c: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *stepTimer) C() <-chan time.Time { return t.c }

func (t *stepTimer) Reset(d time.Duration) {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	select {
	case <-t.c:
	default:
	}
	t.when, t.active = t.clk.now.Add(d), true
	t.clk.fireLocked()
}

func (t *stepTimer) Stop() {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	t.active = false
	select {
	case <-t.c:
	default:
	}
}

func (c *stepClock) fireLocked() {
	for _, t := range c.timers {
		if t.active && !t.when.After(c.now) {
			t.active = false
			select {
			case t.c <- c.now:
			default:
			}
		}
	}
}

// Advance moves the clock by d, firing the timers due.
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// AdvanceToNext moves the clock to the earliest timer, if it is no later than limit.
func (c *stepClock) AdvanceToNext(limit time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, t := range c.timers {
		if t.active && (next.IsZero() || t.when.Before(next)) {
			next = t.when
		}
	}
	if next.IsZero() || next.After(limit) {
		return false
	}
	if next.After(c.now) {
		c.now = next
	}
	c.fireLocked()
	return true
}

// unconsumed reports whether a timer fired and the monitor has not received it yet.
func (c *stepClock) unconsumed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		if len(t.c) > 0 {
			return true
		}
	}
	return false
}

// monSettle waits until the monitor has consumed every timer firing and has no check running
// or waiting.
func monSettle(t *testing.T, m *Monitor, clk *stepClock) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !clk.unconsumed() {
			st, err := m.Status()
			if err != nil {
				t.Fatal(err)
			}
			if st.Running == 0 && st.Queued == 0 && !clk.unconsumed() {
				return st
			}
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatal("monitor did not monSettle")
	return Status{}
}

// monRunUntil steps the clock timer by timer up to end, settling after each step.
func monRunUntil(t *testing.T, m *Monitor, clk *stepClock, end time.Time) {
	t.Helper()
	monSettle(t, m, clk)
	for clk.AdvanceToNext(end) {
		monSettle(t, m, clk)
	}
	if clk.Now().Before(end) {
		clk.Advance(end.Sub(clk.Now()))
	}
	monSettle(t, m, clk)
}

// scriptChecker returns scripted results (the last one repeats) and records its calls.
type scriptChecker struct {
	clk Clock
	mu  sync.Mutex
	res []Result
	at  []time.Time
	// hang: block until ctx is done (honour) or until release is closed (ignore ctx).
	hang    bool
	honour  bool
	release chan struct{}
	active  *atomic.Int32 // shared across checkers: checks in progress
	peak    *atomic.Int32
}

func (f *scriptChecker) Check(ctx context.Context) Result {
	f.mu.Lock()
	f.at = append(f.at, f.clk.Now())
	r := resOK()
	if len(f.res) > 0 {
		r = f.res[0]
		if len(f.res) > 1 {
			f.res = f.res[1:]
		}
	}
	hang, honour := f.hang, f.honour
	f.mu.Unlock()
	if f.active != nil {
		n := f.active.Add(1)
		defer f.active.Add(-1)
		for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
		}
	}
	if hang {
		if honour {
			<-ctx.Done()
			return resFail("connect: " + ctx.Err().Error())
		}
		<-f.release
		return resFail("released")
	}
	return r
}

func (f *scriptChecker) calls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at...)
}

func (f *scriptChecker) script(rs ...Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.res = rs
}

// scriptFactory makes one scriptChecker per target address.
type scriptFactory struct {
	clk     Clock
	mu      sync.Mutex
	byAddr  map[string]*scriptChecker
	active  atomic.Int32
	peak    atomic.Int32
	builds  atomic.Int32
	prepare func(addr string, f *scriptChecker)
}

func newScriptFactory(clk Clock) *scriptFactory {
	return &scriptFactory{clk: clk, byAddr: map[string]*scriptChecker{}}
}

func (ff *scriptFactory) New(c *config.Check, t Target) (Checker, error) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ff.builds.Add(1)
	k := t.Addr.String()
	f := ff.byAddr[k]
	if f == nil {
		f = &scriptChecker{clk: ff.clk, active: &ff.active, peak: &ff.peak, release: make(chan struct{})}
		if ff.prepare != nil {
			ff.prepare(k, f)
		}
		ff.byAddr[k] = f
	}
	return f, nil
}

func (ff *scriptFactory) get(ap string) *scriptChecker {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return ff.byAddr[ap]
}

// tableReals lists the reals of service k in st as "addr:port=weight", sorted.
func tableReals(st *lb.State, k lb.ServiceKey) []string {
	s := st.Find(k)
	if s == nil {
		return nil
	}
	out := []string{}
	for _, r := range s.Reals {
		out = append(out, fmt.Sprintf("%s=%d", r.AddrPort(), r.Weight))
	}
	sort.Strings(out)
	return out
}

// actionStrings formats actions as "kind[ real] command|reason" for comparisons.
func actionStrings(acts []Action) []string {
	out := []string{}
	for _, a := range acts {
		s := string(a.Kind)
		if a.Real.IsValid() {
			s += " " + a.Real.String()
		}
		if len(a.Args) > 0 {
			s += " " + strings.Join(a.Args, " ")
		}
		out = append(out, s)
	}
	return out
}
