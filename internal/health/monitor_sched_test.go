package health

import (
	"container/heap"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// feed completes check i of real ap of the only service with res at now.
func feed(s *sched, ap string, i int, res Result, now time.Time) []Transition {
	for _, r := range s.services[0].reals {
		if r.id.Real == mustAP(ap) {
			c := r.checks[i]
			unqueue(s, c)
			c.running = true
			return s.complete(c, res, now, now)
		}
	}
	panic("no real " + ap)
}

// unqueue takes c out of the heap (as popDue would).
func unqueue(s *sched, c *checkRun) {
	if c.hidx >= 0 {
		heap.Remove(&s.queue, c.hidx)
	}
}

func kinds(trs []Transition) string {
	out := ""
	for _, tr := range trs {
		if out != "" {
			out += ","
		}
		out += fmt.Sprintf("%s:%v:%d", tr.Kind, tr.Up, tr.Weight)
	}
	return out
}

// TestRealSeveralChecks: a real is up when all its checks are up (keepalived's
// num_failed_checkers), with and without Alpha.
func TestRealSeveralChecks(t *testing.T) {
	for _, alpha := range []bool{false, true} {
		t.Run(fmt.Sprintf("alpha=%v", alpha), func(t *testing.T) {
			svc := mkService("10.0.0.1:80", mkReal("10.1.0.1:80", 3, mkCheck(0), mkCheck(0)))
			svc.Alpha = alpha
			s := newTestSched(1)
			s.load(mkConfig(svc), clockStart)
			r := s.services[0].reals[0]
			if r.alive == alpha {
				t.Fatalf("start: alive %v with alpha %v", r.alive, alpha)
			}
			now := clockStart
			steps := []struct {
				check int
				res   Result
				want  string
			}{
				{0, resOK(), map[bool]string{false: "", true: ""}[alpha]},
				{1, resOK(), map[bool]string{false: "", true: "up:true:3"}[alpha]},
				{0, resFail("refused"), "down:false:3"},
				{1, resFail("refused"), ""},
				{0, resOK(), ""},
				{1, resOK(), "up:true:3"},
			}
			for i, st := range steps {
				now = now.Add(time.Second)
				if got := kinds(feed(s, "10.1.0.1:80", st.check, st.res, now)); got != st.want {
					t.Fatalf("step %d: got %q, want %q", i, got, st.want)
				}
			}
		})
	}
}

// TestAlphaFirstFailureReported: with Alpha, the first failure of a real that starts down
// is a FirstResult (keepalived runs notify_down for it); later failures are not.
func TestAlphaFirstFailureReported(t *testing.T) {
	svc := mkService("10.0.0.1:80", mkReal("10.1.0.1:80", 1, mkCheck(2)))
	svc.Alpha = true
	s := newTestSched(1)
	s.load(mkConfig(svc), clockStart)
	trs := feed(s, "10.1.0.1:80", 0, resFail("refused"), clockStart)
	if got := kinds(trs); got != "first-result:false:1" {
		t.Fatalf("first failure: %q", got)
	}
	if trs[0].Check != config.CheckTCP || trs[0].CheckIndex != 0 || trs[0].Reason != "refused" {
		t.Errorf("transition %+v", trs[0])
	}
	if got := kinds(feed(s, "10.1.0.1:80", 0, resFail("refused"), clockStart)); got != "" {
		t.Fatalf("second failure: %q", got)
	}
}

// TestMiscDynamicWeight: an OK result with a weight sets it before the state changes;
// exit 0 of a misc_dynamic check resets it to the configured weight.
func TestMiscDynamicWeight(t *testing.T) {
	c := mkCheck(0)
	c.Kind, c.Dynamic = config.CheckExternal, true
	svc := mkService("10.0.0.1:80", mkReal("10.1.0.1:80", 10, c))
	svc.Alpha = true
	s := newTestSched(1)
	s.load(mkConfig(svc), clockStart)
	steps := []struct {
		res  Result
		want string
	}{
		{resWeight(5), "weight:false:5,up:true:5"},
		{resWeight(5), ""},
		{resWeight(0), "weight:true:0"},
		{resFail("exit status 1"), "down:false:0"},
		{resOK(), "weight:false:10,up:true:10"},
	}
	for i, st := range steps {
		if got := kinds(feed(s, "10.1.0.1:80", 0, st.res, clockStart)); got != st.want {
			t.Fatalf("step %d: got %q, want %q", i, got, st.want)
		}
	}
}

// TestScheduleIntervalJitterRetry: the next run comes Interval ± Interval*Jitter/2 after
// the previous one started; a retry exactly RetryDelay after; never before the previous
// run ended.
func TestScheduleIntervalJitterRetry(t *testing.T) {
	s := newTestSched(7)
	c := mkCheck(1)
	c.Interval, c.RetryDelay = 10*time.Second, 2*time.Second
	s.load(mkConfig(mkService("10.0.0.1:80", mkReal("10.1.0.1:80", 1, c))), clockStart)
	ck := s.services[0].reals[0].checks[0]
	lo, hi := 9500*time.Millisecond, 10500*time.Millisecond
	seen := map[time.Duration]bool{}
	start := ck.due
	for range 200 {
		unqueue(s, ck)
		s.complete(ck, resOK(), start, start.Add(time.Millisecond))
		d := ck.due.Sub(start)
		if d < lo || d > hi {
			t.Fatalf("next run %v after start, want within [%v, %v]", d, lo, hi)
		}
		seen[d] = true
		start = ck.due
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct delays in 200 runs: no jitter?", len(seen))
	}
	unqueue(s, ck)
	s.complete(ck, resFail("refused"), start, start.Add(time.Millisecond))
	if d := ck.due.Sub(start); d != 2*time.Second {
		t.Errorf("retry after %v, want RetryDelay 2s", d)
	}
	unqueue(s, ck)
	s.complete(ck, resFail("refused"), start, start.Add(15*time.Second))
	if d := ck.due.Sub(start); d != 15*time.Second {
		t.Errorf("after a run longer than the interval: next %v after its start, want at its end (15s)", d)
	}

	// Lateness within the timer slack does not shift the schedule; a longer wait for a
	// worker does (the schedule then follows the real starts, which sheds load).
	s.slack = 10 * time.Millisecond
	due := ck.due
	unqueue(s, ck)
	s.complete(ck, resOK(), due.Add(8*time.Millisecond), due.Add(9*time.Millisecond))
	if d := ck.due.Sub(due); d < lo || d > hi {
		t.Errorf("late by 8ms within a 10ms slack: next %v after the due time", d)
	}
	due = ck.due
	unqueue(s, ck)
	s.complete(ck, resOK(), due.Add(3*time.Second), due.Add(3*time.Second))
	if d := ck.due.Sub(due.Add(3 * time.Second)); d < lo || d > hi {
		t.Errorf("late by 3s: next %v after the start", d)
	}
}

func buckets(times []time.Time, from time.Time, width time.Duration) map[int]int {
	b := map[int]int{}
	for _, at := range times {
		b[int(at.Sub(from)/width)]++
	}
	return b
}

// TestSpread10000: 10,000 reals do not fire at once, at start (warmup) or later (each
// keeps its phase, with jitter).
func TestSpread10000(t *testing.T) {
	const n = 10000
	cfgFor := func(warmup time.Duration) *config.Config {
		svc := mkService("10.0.0.1:80")
		for i := range n {
			a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			c := mkCheck(1)
			c.Warmup = warmup
			svc.Reals = append(svc.Reals, mkReal(netip.AddrPortFrom(a, 80).String(), 1, c))
		}
		return mkConfig(svc)
	}
	t.Run("warmup = interval", func(t *testing.T) {
		s := newTestSched(42)
		s.load(cfgFor(time.Second), clockStart)
		var starts []time.Time
		for _, e := range s.queue {
			c := e.c
			starts = append(starts, c.due)
			if c.due.Before(clockStart) || c.due.After(clockStart.Add(time.Second)) {
				t.Fatalf("first run at %v, outside the warmup", c.due.Sub(clockStart))
			}
		}
		// 100 buckets of 10 ms: 100 per bucket on average.
		b := buckets(starts, clockStart, 10*time.Millisecond)
		for i, v := range b {
			if v > 150 {
				t.Errorf("start bucket %d has %d checks, want <= 150 (mean 100)", i, v)
			}
		}
		// Steady state: run 5 s, every check passing at once; count dispatches per 10 ms.
		var runs []time.Time
		var due []*checkRun
		end := clockStart.Add(6 * time.Second)
		for now := clockStart; now.Before(end); now = now.Add(time.Millisecond) {
			due = s.popDue(now, due[:0])
			for _, c := range due {
				if now.After(clockStart.Add(time.Second)) {
					runs = append(runs, now)
				}
				s.complete(c, resOK(), now, now)
			}
		}
		b = buckets(runs, clockStart.Add(time.Second), 10*time.Millisecond)
		total := 0
		for i, v := range b {
			total += v
			if v > 160 {
				t.Errorf("steady bucket %d has %d runs, want <= 160 (mean 100)", i, v)
			}
		}
		if total < 4*n || total > 6*n {
			t.Errorf("%d runs in 5 s, want about %d", total, 5*n)
		}
	})
	t.Run("no warmup spreads over the jitter window", func(t *testing.T) {
		s := newTestSched(43)
		s.load(cfgFor(0), clockStart)
		var starts []time.Time
		for _, e := range s.queue {
			c := e.c
			starts = append(starts, c.due)
			if c.due.After(clockStart.Add(100 * time.Millisecond)) {
				t.Fatalf("first run at %v, want within 100ms", c.due.Sub(clockStart))
			}
		}
		for i, v := range buckets(starts, clockStart, 10*time.Millisecond) {
			if v > 1300 {
				t.Errorf("start bucket %d has %d checks, want <= 1300 (mean 1000)", i, v)
			}
		}
	})
}

// TestLoadKeepsState: a reload keeps the state and schedule of unchanged checks, stops
// removed ones and starts new ones per Alpha.
func TestLoadKeepsState(t *testing.T) {
	build := func(interval time.Duration, extra bool) *config.Config {
		c := mkCheck(0)
		c.Interval = interval
		reals := []*config.Real{mkReal("10.1.0.1:80", 1, c), mkReal("10.1.0.2:80", 1, mkCheck(0))}
		if extra {
			reals = append(reals, mkReal("10.1.0.3:80", 1, mkCheck(0)))
		}
		svc := mkService("10.0.0.1:80", reals...)
		svc.Alpha = true
		return mkConfig(svc)
	}
	s := newTestSched(1)
	s.load(build(time.Second, false), clockStart)
	feed(s, "10.1.0.1:80", 0, resOK(), clockStart)
	feed(s, "10.1.0.2:80", 0, resOK(), clockStart)
	feed(s, "10.1.0.2:80", 0, resFail("refused"), clockStart.Add(time.Second))
	r1 := s.services[0].reals[0].checks[0]
	r2 := s.services[0].reals[1].checks[0]
	due1, due2 := r1.due, r2.due

	// Same configuration, new objects: everything kept.
	if trs := s.load(build(time.Second, true), clockStart.Add(2*time.Second)); len(trs) != 0 {
		t.Fatalf("reload transitions: %v", kinds(trs))
	}
	rr := s.services[0].reals
	if rr[0].checks[0] != r1 || rr[1].checks[0] != r2 || r1.due != due1 || r2.due != due2 {
		t.Fatal("unchanged checks were not kept with their schedule")
	}
	if !rr[0].alive || rr[1].alive || rr[2].alive {
		t.Fatalf("alive after reload: %v %v %v, want true false false (new real, alpha)", rr[0].alive, rr[1].alive, rr[2].alive)
	}
	if r1.st.runs != 1 || r2.st.runs != 2 {
		t.Errorf("runs %d %d, want 1 2", r1.st.runs, r2.st.runs)
	}

	// Real 1's check changes: a new check; the real was up with no failed check, so the
	// new Alpha check starts up (migrate_checkers) and the real stays up.
	s.load(build(2*time.Second, false), clockStart.Add(3*time.Second))
	rr = s.services[0].reals
	if rr[0].checks[0] == r1 || !r1.removed || r1.hidx != -1 {
		t.Fatal("changed check kept")
	}
	if !rr[0].alive || !rr[0].checks[0].st.up || rr[0].checks[0].st.runs != 0 {
		t.Fatal("new check of a healthy real did not start up")
	}
	if len(rr) != 2 || len(s.queue) != 2 {
		t.Fatalf("%d reals, %d queued checks; want 2 and 2", len(rr), len(s.queue))
	}
	// A result of a removed check is dropped.
	if trs := s.complete(r1, resFail("late"), clockStart, clockStart); trs != nil {
		t.Fatal("result of a removed check used")
	}

	// Removing real 2's only (failing) check brings it up: a reload transition.
	cfg := build(2*time.Second, false)
	cfg.Services[0].Reals[1].Checks = nil
	trs := s.load(cfg, clockStart.Add(4*time.Second))
	if got := kinds(trs); got != "up:true:1" || trs[0].CheckIndex != -1 {
		t.Fatalf("reload transitions %q (%+v)", got, trs)
	}

	// Removing the service stops everything.
	s.load(mkConfig(), clockStart.Add(5*time.Second))
	if len(s.queue) != 0 {
		t.Fatalf("%d checks still queued", len(s.queue))
	}
}

func TestSuspend(t *testing.T) {
	svc := mkService("10.0.0.1:80", mkReal("10.1.0.1:80", 1, mkCheck(0)))
	svc.HASuspend = true
	s := newTestSched(1)
	s.load(mkConfig(svc), clockStart)
	if got := s.popDue(clockStart.Add(time.Hour), nil); len(got) != 0 {
		t.Fatal("suspended service's check ran")
	}
	if !s.suspend(svc.ServiceKey, false) || s.suspend(lb.ServiceKey{}, false) {
		t.Fatal("suspend reports the wrong service")
	}
	if got := s.popDue(clockStart.Add(3*time.Hour), nil); len(got) != 1 {
		t.Fatalf("%d checks ran after resume, want 1", len(got))
	}
}
