package health

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// CheckerFactory builds the checker of one check of one real (NewChecker in this package).
type CheckerFactory func(c *config.Check, t Target) (Checker, error)

// sched is the scheduler and state of every check: one timer heap for all checks, the
// per-check and per-real state machines, and the matching of a new configuration against
// the running one. It does no I/O, starts no goroutine and reads no clock: the Monitor's
// goroutine owns it and passes the time in, and tests step it directly.
type sched struct {
	newChecker CheckerFactory
	rnd        *rand.Rand
	jitter     float64
	slack      time.Duration // how late a run may start and still count as on time

	services []*svcRun
	byKey    map[lb.ServiceKey]*svcRun
	epoch    time.Time // origin of the heap keys
	queue    checkHeap
	seq      uint64 // tie-break of equal due times: first scheduled, first run
	errs     []error
}

type svcRun struct {
	key       lb.ServiceKey
	cfg       *config.Service
	reals     []*realRun
	suspended bool // HASuspend and the VIP is not here: checks do not run
}

type realRun struct {
	id     RealID
	svc    *svcRun
	cfg    *config.Real
	checks []*checkRun
	failed int   // checks that are down (keepalived num_failed_checkers)
	alive  bool  // failed == 0, as last reported
	dyn    int32 // weight set by a check, -1 for the configured one
	since  time.Time
	reason string
}

type checkRun struct {
	real     *realRun
	idx      int
	cfg      *config.Check
	target   Target
	checker  Checker // nil when building it failed: the check always fails with buildErr
	buildErr error
	st       checkState

	due     time.Time
	hidx    int  // index in the heap; -1 when not queued
	running bool // handed to a worker, result not yet seen
	removed bool // gone from the configuration; a late result is dropped

	// busy is set while a goroutine runs checker.Check. It is the only field a worker
	// touches: a check whose previous run ignored its deadline is not started twice.
	busy atomic.Bool
}

func newSched(f CheckerFactory, rnd *rand.Rand, jitter float64) *sched {
	return &sched{newChecker: f, rnd: rnd, jitter: jitter, byKey: map[lb.ServiceKey]*svcRun{}}
}

// load makes cfg the running configuration at time now. Checks whose configuration and
// target did not change keep their state and their place in the schedule; checks that are
// gone stop (a result still on its way is dropped); new checks start as keepalived starts
// them (see newCheckUp) after a random warmup. It returns the transitions the change
// itself caused: a real whose last failing check was removed comes up, and so on.
func (s *sched) load(cfg *config.Config, now time.Time) []Transition {
	var trs []Transition
	s.errs = nil
	old := s.byKey
	s.services, s.byKey = nil, make(map[lb.ServiceKey]*svcRun, len(cfg.Services))
	for _, sc := range cfg.Services {
		key := serviceKey(sc.ServiceKey)
		if s.byKey[key] != nil {
			continue // a duplicate service: the director refuses the table anyway
		}
		prev := old[key]
		sr := &svcRun{key: key, cfg: sc, suspended: sc.HASuspend}
		if prev != nil && prev.cfg.HASuspend && sc.HASuspend {
			sr.suspended = prev.suspended
		}
		prevReals := map[netip.AddrPort]*realRun{}
		if prev != nil {
			for _, r := range prev.reals {
				prevReals[r.id.Real] = r
			}
		}
		seen := make(map[netip.AddrPort]bool, len(sc.Reals))
		for _, rc := range sc.Reals {
			id := RealID{key, rc.AddrPort()}
			if seen[id.Real] {
				continue // a duplicate real: the director refuses the table anyway
			}
			seen[id.Real] = true
			rr, tr := s.loadReal(sr, rc, prevReals[id.Real], now)
			delete(prevReals, id.Real)
			sr.reals = append(sr.reals, rr)
			if tr != nil {
				trs = append(trs, *tr)
			}
		}
		for _, r := range prevReals {
			s.stopReal(r)
		}
		s.services = append(s.services, sr)
		s.byKey[key] = sr
	}
	for k, sr := range old {
		if s.byKey[k] == nil {
			for _, r := range sr.reals {
				s.stopReal(r)
			}
		}
	}
	return trs
}

// loadReal builds the running state of real rc from its previous one (nil if new).
func (s *sched) loadReal(sr *svcRun, rc *config.Real, prev *realRun, now time.Time) (*realRun, *Transition) {
	rr := &realRun{id: RealID{sr.key, rc.AddrPort()}, svc: sr, cfg: rc, dyn: -1, since: now}
	var kept []*checkRun
	var used []bool
	if prev != nil {
		rr.alive, rr.dyn, rr.since, rr.reason = prev.alive, prev.dyn, prev.since, prev.reason
		used = make([]bool, len(prev.checks))
	}
	rr.checks = make([]*checkRun, len(rc.Checks))
	for i, c := range rc.Checks {
		t := target(sr.cfg, rc, c)
		for j, pc := range prevChecks(prev) {
			if !used[j] && pc.target == t && sameCheck(pc.cfg, c) {
				used[j] = true
				pc.real, pc.idx, pc.cfg = rr, i, c
				rr.checks[i] = pc
				kept = append(kept, pc)
				break
			}
		}
	}
	for j, pc := range prevChecks(prev) {
		if !used[j] {
			s.stopCheck(pc)
		}
	}
	up := newCheckUp(sr.cfg.Alpha, prev, kept)
	for i, c := range rc.Checks {
		if rr.checks[i] == nil {
			rr.checks[i] = s.startCheck(rr, i, c, up, now)
		}
	}
	for _, c := range rr.checks {
		if !c.st.up {
			rr.failed++
		}
	}
	alive := rr.failed == 0
	if prev == nil || alive == prev.alive {
		rr.alive = alive
		return rr, nil
	}
	rr.alive, rr.since, rr.reason = alive, now, "configuration reload"
	tr := rr.transition(RealDown, nil, rr.reason, now)
	if alive {
		tr.Kind = RealUp
	}
	return rr, &tr
}

func prevChecks(r *realRun) []*checkRun {
	if r == nil {
		return nil
	}
	return r.checks
}

// newCheckUp says whether a check added to a real starts up. At start, checks start down
// with Alpha and up without. On a reload, keepalived's migrate_checkers (ipwrapper.c) sets
// a new Alpha check down only while the real has a failed check, or is down with no check
// that has run; otherwise the new check starts up, so adding a check to a healthy real
// does not take it out.
func newCheckUp(alpha bool, prev *realRun, kept []*checkRun) bool {
	if !alpha {
		return true
	}
	if prev == nil {
		return false
	}
	anyDown, anyRun := false, false
	for _, c := range kept {
		anyDown = anyDown || (c.st.hasRun && !c.st.up)
		anyRun = anyRun || c.st.hasRun
	}
	return !(anyDown || (!prev.alive && !anyRun))
}

// sameCheck reports whether two checks are the same check (their position in the file
// aside).
func sameCheck(a, b *config.Check) bool {
	x, y := *a, *b
	x.Pos, y.Pos = config.Pos{}, config.Pos{}
	return reflect.DeepEqual(x, y)
}

// target is what check c of real r of service s connects to.
func target(s *config.Service, r *config.Real, c *config.Check) Target {
	t := Target{Addr: r.AddrPort(), VirtualHost: c.VirtualHost}
	if c.Addr.IsValid() {
		t.Addr = netip.AddrPortFrom(c.Addr, t.Addr.Port())
	}
	if c.Port != 0 {
		t.Addr = netip.AddrPortFrom(t.Addr.Addr(), c.Port)
	}
	if c.BindAddr.IsValid() || c.BindPort != 0 {
		t.Bind = netip.AddrPortFrom(c.BindAddr, c.BindPort)
	}
	if t.VirtualHost == "" {
		t.VirtualHost = s.VirtualHost
	}
	return t
}

func (s *sched) startCheck(rr *realRun, i int, c *config.Check, up bool, now time.Time) *checkRun {
	cr := &checkRun{real: rr, idx: i, cfg: c, target: target(rr.svc.cfg, rr.cfg, c), hidx: -1}
	cr.st = newCheckState(up, c.Retries)
	cr.checker, cr.buildErr = s.newChecker(c, cr.target)
	if cr.buildErr == nil && cr.checker == nil {
		cr.buildErr = fmt.Errorf("no checker for %s", c.Kind)
	}
	if cr.buildErr != nil {
		cr.checker = nil
		s.errs = append(s.errs, fmt.Errorf("%s: %s check of %s: %w", c.Pos, c.Kind, rr.id.Real, cr.buildErr))
	}
	s.push(cr, now.Add(s.warmup(c)))
	return cr
}

func (s *sched) stopReal(r *realRun) {
	for _, c := range r.checks {
		s.stopCheck(c)
	}
}

func (s *sched) stopCheck(c *checkRun) {
	c.removed = true
	if c.hidx >= 0 {
		heap.Remove(&s.queue, c.hidx)
	}
}

// warmup is the delay before a new check's first run: uniform in [0, Warmup], as
// keepalived's register_checkers_thread draws it. With no warmup the first runs are still
// spread over the jitter window, so that a large table does not fire at once.
func (s *sched) warmup(c *config.Check) time.Duration {
	w := c.Warmup
	if w <= 0 {
		w = time.Duration(float64(interval(c)) * s.jitter)
	}
	if w <= 0 {
		return 0
	}
	return time.Duration(s.rnd.Int64N(int64(w) + 1))
}

// nextDelay is Interval with jitter: uniform in Interval ± Interval*jitter/2.
func (s *sched) nextDelay(c *config.Check) time.Duration {
	d := interval(c)
	j := int64(float64(d) * s.jitter)
	if j <= 0 {
		return d
	}
	return d - time.Duration(j/2) + time.Duration(s.rnd.Int64N(j+1))
}

func (s *sched) push(c *checkRun, due time.Time) {
	if s.epoch.IsZero() {
		s.epoch = due
	}
	s.seq++
	c.due = due
	heap.Push(&s.queue, heapEntry{key: int64(due.Sub(s.epoch)), seq: s.seq, c: c})
}

// next returns when the earliest queued check is due.
func (s *sched) next() (time.Time, bool) {
	if len(s.queue) == 0 {
		return time.Time{}, false
	}
	return s.queue[0].c.due, true
}

// popDue removes the checks due at now from the schedule and returns them, earliest
// first, marked running; the caller runs them and reports with complete. Checks of a
// suspended service are not run: they come back an Interval later.
func (s *sched) popDue(now time.Time, out []*checkRun) []*checkRun {
	for len(s.queue) > 0 && !s.queue[0].c.due.After(now) {
		c := heap.Pop(&s.queue).(*checkRun)
		if c.real.svc.suspended {
			s.push(c, c.due.Add(interval(c.cfg)))
			continue
		}
		c.running = true
		out = append(out, c)
	}
	return out
}

// complete feeds the result of a run of c that started and finished at the given times,
// schedules its next run (Interval or RetryDelay after the time the run was due, or after
// it started if it waited longer than the timer slack for a worker; never before it
// finished) and returns the transitions of its real, in keepalived's order
// (a weight change before the state change, as check_misc.c calls update_svr_wgt first).
func (s *sched) complete(c *checkRun, res Result, started, finished time.Time) []Transition {
	c.running = false
	if c.removed {
		return nil
	}
	rr := c.real
	alpha := rr.svc.cfg.Alpha
	step := c.st.observe(res, c.cfg.Retries, alpha)
	c.st.last, c.st.lastAt, c.st.lastDur = res, finished, finished.Sub(started)

	var trs []Transition
	if d := dynamicWeight(rr.dyn, c.cfg, res); d != rr.dyn {
		rr.dyn = d
		trs = append(trs, rr.transition(WeightChanged, c, res.Reason, finished))
	}
	switch {
	case step.changed:
		if c.st.up {
			rr.failed--
		} else {
			rr.failed++
		}
		if alive := rr.failed == 0; alive != rr.alive {
			rr.alive, rr.since, rr.reason = alive, finished, res.Reason
			kind := RealDown
			if alive {
				kind = RealUp
			}
			trs = append(trs, rr.transition(kind, c, res.Reason, finished))
		}
	case step.report:
		trs = append(trs, rr.transition(FirstResult, c, res.Reason, finished))
	}

	delay := s.nextDelay(c.cfg)
	if step.retry {
		delay = retryDelay(c.cfg)
	}
	base := c.due
	if started.Sub(c.due) > s.slack {
		base = started
	}
	next := base.Add(delay)
	if next.Before(finished) {
		next = finished
	}
	s.push(c, next)
	return trs
}

func (rr *realRun) weight() int32 {
	if rr.dyn >= 0 {
		return rr.dyn
	}
	return rr.cfg.Weight
}

func (rr *realRun) transition(k TransitionKind, c *checkRun, reason string, at time.Time) Transition {
	tr := Transition{Kind: k, Service: rr.id.Service, Real: rr.id.Real, Up: rr.alive,
		Weight: rr.weight(), Dynamic: rr.dyn >= 0, CheckIndex: -1, Reason: reason, At: at}
	if c != nil {
		tr.Check, tr.CheckIndex = c.cfg.Kind, c.idx
	}
	return tr
}

// health returns the health of every real, for the table logic.
func (s *sched) health() Health {
	h := make(Health)
	for _, sr := range s.services {
		for _, r := range sr.reals {
			h[r.id] = RealHealth{Up: r.alive, Weight: r.dyn}
		}
	}
	return h
}

// suspend suspends or resumes the checks of service k; it reports whether k exists.
func (s *sched) suspend(k lb.ServiceKey, on bool) bool {
	sr := s.byKey[serviceKey(k)]
	if sr == nil {
		return false
	}
	sr.suspended = on
	return true
}

// checkHeap orders checks by due time, then by the order they were scheduled. The keys
// sit in the slice, not behind the pointers, so that sifting stays in cache.
type checkHeap []heapEntry

type heapEntry struct {
	key int64 // due - epoch, in ns
	seq uint64
	c   *checkRun
}

func (h checkHeap) Len() int { return len(h) }
func (h checkHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq
}
func (h checkHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].c.hidx, h[j].c.hidx = i, j
}
func (h *checkHeap) Push(x any) {
	e := x.(heapEntry)
	e.c.hidx = len(*h)
	*h = append(*h, e)
}
func (h *checkHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = heapEntry{}
	*h = old[:len(old)-1]
	e.c.hidx = -1
	return e.c
}
