package sched

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Helpers shared by the rr, wrr, fo and ovf tests (prefix rrf: the rr family).

// rrfKey is the service every rr-family test pool serves.
var rrfKey = lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}

// rrfAddr is the address of the real named by letter: A = 10.2.0.1, B = 10.2.0.2, ...
func rrfAddr(name string) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 2, 0, name[0] - 'A' + 1})
}

// rrfName is the letter of a real made by rrfAddr, or "-" for nil.
func rrfName(d *Dest) string {
	if d == nil {
		return "-"
	}
	return string(rune('A' + d.Addr().As4()[3] - 1))
}

// rrfReals parses "C2 B3 A4u1": a letter, a weight and optionally u and an upper threshold,
// in the order the reals are added (so the kernel lists them in reverse).
func rrfReals(t testing.TB, spec string) []lb.Real {
	t.Helper()
	var out []lb.Real
	for _, f := range strings.Fields(spec) {
		w, u, _ := strings.Cut(f[1:], "u")
		wt, err := strconv.Atoi(w)
		if err != nil {
			t.Fatalf("bad real %q", f)
		}
		r := lb.Real{Addr: rrfAddr(f[:1]), Port: 80, Forward: lb.Masq, Weight: int32(wt)}
		if u != "" {
			ut, err := strconv.Atoi(u)
			if err != nil {
				t.Fatalf("bad real %q", f)
			}
			r.UThreshold = uint32(ut)
		}
		out = append(out, r)
	}
	return out
}

// rrfPool returns a pool running sched whose reals are added one by one as spec lists them
// (ipvsadm -a each: the scheduler sees one OpAdd per real).
func rrfPool(t testing.TB, sched, spec string) *Pool {
	t.Helper()
	p, err := NewPool(&lb.Service{ServiceKey: rrfKey, Scheduler: sched, Reals: rrfReals(t, spec)}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rrfInitPool returns a pool whose reals are added under rr and which then switches to sched
// (ipvsadm -E -s sched): sched starts over all the reals at once, as init_service does.
func rrfInitPool(t testing.TB, sched, spec string) *Pool {
	t.Helper()
	p := rrfPool(t, "rr", spec)
	rrfSwitch(t, p, sched)
	return p
}

// rrfSwitch makes p run sched from now on (ipvsadm -E).
func rrfSwitch(t testing.TB, p *Pool, sched string) {
	t.Helper()
	if err := p.SetService(&lb.Service{ServiceKey: rrfKey, Scheduler: sched}); err != nil {
		t.Fatal(err)
	}
}

// rrfRun schedules n connections (not accounted) and returns the reals' letters.
func rrfRun(p *Pool, n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = rrfName(p.Schedule(Flow{}))
	}
	return strings.Join(out, " ")
}

// rrfStep is one thing a table test does to its pool.
type rrfStep struct {
	// op is "run N" (schedule N and compare with want), "add SPEC", "del X", "edit SPEC",
	// "bind X" (one new active connection on X), "unbind X" (close one of X's) or
	// "counters X A I" (set X's ActiveConn and InActConn).
	op   string
	want string
}

// rrfSteps applies steps to p in order.
func rrfSteps(t *testing.T, p *Pool, steps []rrfStep) {
	t.Helper()
	for i, st := range steps {
		verb, arg, _ := strings.Cut(st.op, " ")
		var err error
		switch verb {
		case "run":
			n, _ := strconv.Atoi(arg)
			if got := rrfRun(p, n); got != st.want {
				t.Fatalf("step %d (%s): got %q, want %q", i, st.op, got, st.want)
			}
		case "add":
			err = p.AddDest(rrfReals(t, arg)[0])
		case "del":
			err = p.DelDest(rrfAddr(arg), 80)
		case "edit":
			err = p.EditDest(rrfReals(t, arg)[0])
		case "bind", "unbind":
			d := p.Find(rrfAddr(arg), 80)
			if d == nil {
				t.Fatalf("step %d: no real %s", i, arg)
			}
			if verb == "bind" {
				p.Account(d, lb.ClassNone, lb.ClassActive)
			} else {
				p.Account(d, lb.ClassActive, lb.ClassNone)
			}
		case "counters":
			var name string
			var a, in int32
			if _, err := fmt.Sscanf(arg, "%s %d %d", &name, &a, &in); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			err = p.SetCounters(rrfAddr(name), 80, a, in)
		default:
			t.Fatalf("step %d: unknown op %q", i, st.op)
		}
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, st.op, err)
		}
	}
}

// rrfCase is a table test: a pool built by adds (or by init, see rrfInitPool), then steps.
type rrfCase struct {
	name  string
	reals string
	init  bool
	steps []rrfStep
}

func rrfTable(t *testing.T, sched string, cases []rrfCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p *Pool
			if c.init {
				p = rrfInitPool(t, sched, c.reals)
			} else {
				p = rrfPool(t, sched, c.reals)
			}
			rrfSteps(t, p, c.steps)
		})
	}
}

// In the cases below the kernel lists reals newest first: adding "A1 B1 C1" gives C B A.
func TestRR(t *testing.T) {
	rrfTable(t, "rr", []rrfCase{
		{name: "newest first, weights ignored", reals: "A1 B2 C3", steps: []rrfStep{
			// init_service leaves the cursor on the head: the walk starts at the newest.
			{"run 7", "C B A C B A C"},
		}},
		{name: "weight 0 skipped", reals: "A1 B0 C5", steps: []rrfStep{
			{"run 4", "C A C A"},
		}},
		{name: "all weights 0", reals: "A0 B0", steps: []rrfStep{
			{"run 2", "- -"},
		}},
		{name: "no reals", reals: "", steps: []rrfStep{{"run 1", "-"}}},
		{name: "overload skipped", reals: "A1 B1u1 C1", steps: []rrfStep{
			// Upper threshold 1: one connection sets OVERLOAD on B (Pool.Account), closing it
			// clears it (no lower threshold, 0 < 3/4 of 1).
			{"bind B", ""},
			{"run 3", "C A C"},
			{"unbind B", ""},
			{"run 3", "B A C"},
		}},
		{name: "nothing usable leaves the cursor", reals: "A1u1 B1 C1", steps: []rrfStep{
			{"run 1", "C"},
			{"edit B0", ""},
			{"edit C0", ""},
			{"bind A", ""},
			{"run 1", "-"},
			{"unbind A", ""},
			{"edit C1", ""},
			// The cursor is still on C: the walk goes on with B (weight 0), A.
			{"run 2", "A C"},
		}},
		{name: "current real deleted", reals: "A1 B1 C1 D1", steps: []rrfStep{
			// List D C B A; after D C the cursor is on C. del_dest moves it to the real
			// before C (D), so the walk goes on with B, the real that followed C.
			{"run 2", "D C"},
			{"del C", ""},
			{"run 4", "B A D B"},
		}},
		{name: "current real deleted and re-added", reals: "A1 B1 C1 D1", steps: []rrfStep{
			// List D C B A, cursor on C. del_dest puts the cursor on D; C, kept in the trash
			// by its open connection, comes back at the head (list C D B A) without moving
			// it: B A, then C D after the wrap.
			{"run 2", "D C"},
			{"bind C", ""},
			{"del C", ""},
			{"add C1", ""},
			{"run 4", "B A C D"},
		}},
		{name: "head real deleted while current", reals: "A1 B1 C1", steps: []rrfStep{
			// The cursor is on C, the first real; deleting it leaves the cursor on the head.
			{"run 1", "C"},
			{"del C", ""},
			{"run 3", "B A B"},
		}},
		{name: "other real deleted", reals: "A1 B1 C1 D1", steps: []rrfStep{
			// Cursor on C; deleting D (before it) or A (after it) does not move it.
			{"run 2", "D C"},
			{"del D", ""},
			{"run 1", "B"},
			{"del A", ""},
			{"run 3", "C B C"},
		}},
		{name: "real added mid-sequence", reals: "A1 B1 C1", steps: []rrfStep{
			// Cursor on B. rr has no add_dest hook: D goes in at the head, reached after
			// the walk wraps past A.
			{"run 2", "C B"},
			{"add D1", ""},
			{"run 5", "A D C B A"},
		}},
		{name: "weight edited mid-sequence", reals: "A1 B1 C1", steps: []rrfStep{
			// Edits do not move the rr cursor (no upd_dest hook).
			{"run 1", "C"},
			{"edit B0", ""},
			{"run 2", "A C"},
			{"edit B7", ""},
			{"run 3", "B A C"},
		}},
	})
}

// rrOracle is ip_vs_rr.c's walk written plainly, with the cursor found by a linear search.
type rrOracle struct{ cur *Dest }

func (o *rrOracle) Schedule(s *Svc, _ Flow) *Dest {
	start := slices.Index(s.Dests, o.cur) // -1: the head
	i := start
	for pass := 0; pass < 2; pass++ {
		for i++; i < len(s.Dests); i++ {
			if d := s.Dests[i]; d.weight > 0 && !d.overload {
				o.cur = d
				return d
			}
			if i == start {
				return nil
			}
		}
		i = -1
		if start == -1 {
			break
		}
	}
	return nil
}

func (o *rrOracle) Changed(s *Svc, op Op, d *Dest) {
	if op == OpDel && d == o.cur {
		// The entry before d in the list is the last with a greater Seq, or the head.
		o.cur = nil
		for _, x := range s.Dests {
			if x.seq > d.seq {
				o.cur = x
			}
		}
	}
}

// rrfTwin runs a scheduler and its oracle side by side on one pool and fails on the first
// decision they disagree on.
type rrfTwin struct {
	t            testing.TB
	fast, oracle Scheduler
	decisions    int
}

func (w *rrfTwin) Schedule(s *Svc, f Flow) *Dest {
	a, b := w.fast.Schedule(s, f), w.oracle.Schedule(s, f)
	w.decisions++
	if a != b {
		w.t.Fatalf("decision %d: scheduler chose %s, oracle %s; reals %s", w.decisions, rrfDescribe(a), rrfDescribe(b), rrfState(s))
	}
	return a
}

func (w *rrfTwin) Changed(s *Svc, op Op, d *Dest) {
	w.fast.Changed(s, op, d)
	w.oracle.Changed(s, op, d)
}

func rrfDescribe(d *Dest) string {
	if d == nil {
		return "none"
	}
	return d.Addr().String()
}

func rrfState(s *Svc) string {
	var b strings.Builder
	for _, d := range s.Dests {
		fmt.Fprintf(&b, "%s:w%d/a%d/o%v ", d.Addr(), d.weight, d.active, d.overload)
	}
	return b.String()
}

// rrfRandom drives a pool whose scheduler is a twin of fast and oracle through random adds,
// deletes, edits, counter changes, connections opened and closed (which set and clear
// OVERLOAD), restarts of the scheduler over the current reals, and decisions. The seed is
// fixed, so a failure repeats.
func rrfRandom(t *testing.T, fast, oracle func(*Svc) Scheduler, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p, err := NewPool(&lb.Service{ServiceKey: rrfKey, Scheduler: "rr"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	twin := &rrfTwin{t: t}
	restart := func() {
		for _, d := range p.svc.Dests {
			d.Slot = 0 // as Pool.SetService does for a new scheduler
		}
		twin.fast, twin.oracle = fast(&p.svc), oracle(&p.svc)
	}
	p.mu.Lock()
	restart()
	p.sched = twin
	p.mu.Unlock()

	type conn struct {
		d *Dest
		c lb.ConnClass
	}
	var conns []conn
	// Few reals make "nothing usable" common; many make long walks.
	nAddr := []int{3, 6, 12, 24}[seed%4]
	addr := func() netip.Addr { return netip.AddrFrom4([4]byte{10, 3, 0, byte(1 + rng.IntN(nAddr))}) }
	real := func(a netip.Addr) lb.Real {
		r := lb.Real{Addr: a, Port: 80, Weight: int32(rng.IntN(7))}
		if rng.IntN(2) == 0 {
			r.UThreshold = uint32(1 + rng.IntN(4))
		}
		return r
	}
	pick := func() *Dest {
		ds := p.Dests()
		if len(ds) == 0 {
			return nil
		}
		return ds[rng.IntN(len(ds))]
	}
	for range steps {
		switch r := rng.IntN(100); {
		case r < 10:
			_ = p.AddDest(real(addr())) // ErrDestExists when taken: nothing happens
		case r < 15:
			if d := pick(); d != nil {
				_ = p.DelDest(d.Addr(), d.Port())
			}
		case r < 23:
			if d := pick(); d != nil {
				_ = p.EditDest(real(d.Addr()))
			}
		case r < 30:
			if d := pick(); d != nil {
				_ = p.SetCounters(d.Addr(), d.Port(), int32(rng.IntN(9)), int32(rng.IntN(9)))
			}
		case r < 45:
			if len(conns) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(conns))
				c := conns[i]
				to := lb.ClassNone
				if c.c == lb.ClassActive && rng.IntN(3) == 0 {
					to = lb.ClassInactive
					conns[i].c = to
				} else {
					conns = slices.Delete(conns, i, i+1)
				}
				p.Account(c.d, c.c, to)
			} else if d := pick(); d != nil {
				p.Account(d, lb.ClassNone, lb.ClassActive)
				conns = append(conns, conn{d, lb.ClassActive})
			}
		case r < 47:
			p.mu.Lock()
			restart()
			p.mu.Unlock()
		default:
			if d := p.Schedule(Flow{}); d != nil && rng.IntN(2) == 0 {
				p.Account(d, lb.ClassNone, lb.ClassActive)
				conns = append(conns, conn{d, lb.ClassActive})
			}
		}
	}
	if twin.decisions < steps/3 {
		t.Fatalf("only %d decisions compared", twin.decisions)
	}
}

func TestRRMatchesOracle(t *testing.T) {
	for seed := range uint64(4) {
		rrfRandom(t, newRR, func(*Svc) Scheduler { return &rrOracle{} }, seed, 20000)
	}
}
