package sched

import (
	"slices"
	"testing"
)

// Expected sequences are worked out by hand from ip_vs_wrr.c (see wrrScheduler's comment for
// the rules). Notation: cw=N: the reals of weight >= N (without OVERLOAD) in list order,
// which the kernel hands out one by one before lowering cw by di. Reals added "A1 B2 C3" are
// listed C B A. "init" cases start the scheduler over all the reals at once (init_service:
// cw = mw); the others add the reals one by one, each add running dest_changed.
func TestWRR(t *testing.T) {
	rrfTable(t, "wrr", []rrfCase{
		{name: "4:3:2 init (kernel docs)", reals: "C2 B3 A4", init: true, steps: []rrfStep{
			// List A B C, di 1, mw 4: cw=4: A | cw=3: A B | cw=2: A B C | cw=1: A B C,
			// the AABABCABC of the LVS documentation, then again.
			{"run 18", "A A B A B C A B C A A B A B C A B C"},
		}},
		{name: "4:3:2 added one by one", reals: "C2 B3 A4", steps: []rrfStep{
			// -a C w2: di 2, mw 2-1 = 1, cw 0 -> 1. -a B w3: di 1, mw 3, cw 1 kept. -a A w4:
			// mw 4, cw 1 kept. So first cw=1: A B C, then cw wraps to 4 and the cycle runs.
			{"run 15", "A B C A A B A B C A B C A A B"},
		}},
		{name: "1:3 init", reals: "A1 B3", init: true, steps: []rrfStep{
			// List B A: cw=3: B | cw=2: B | cw=1: B A.
			{"run 8", "B B B A B B B A"},
		}},
		{name: "1:3 added one by one", reals: "A1 B3", steps: []rrfStep{
			// -a A w1: cw 1. -a B w3: mw 3, cw 1 kept: cw=1: B A, then 3: B, 2: B, 1: B A.
			{"run 10", "B A B B B A B B B A"},
		}},
		{name: "1:2:3 added one by one (as recorded)", reals: "A1 B2 C3", steps: []rrfStep{
			// cw stays 1 through the adds: C B A, then cw=3: C | 2: C B | 1: C B A.
			// testdata/kernel/sched-wrr.txt, scenario seq30, has this sequence.
			{"run 12", "C B A C C B C B A C C B"},
		}},
		{name: "1:2:3 init", reals: "A1 B2 C3", init: true, steps: []rrfStep{
			{"run 12", "C C B C B A C C B C B A"},
		}},
		{name: "gcd 2: 2:4:6 init", reals: "A2 B4 C6", init: true, steps: []rrfStep{
			// di 2, mw 6-(2-1) = 5: cw=5: C | cw=3: C B | cw=1: C B A.
			{"run 12", "C C B C B A C C B C B A"},
		}},
		{name: "gcd 2: 2:4:6 added one by one", reals: "A2 B4 C6", steps: []rrfStep{
			// -a A w2: di 2, mw 1, cw 0 -> 1. -a B w4: mw 3, cw (1/2)*2+1 = 1. -a C w6:
			// mw 5, cw 1. So cw=1: C B A first; 1-2 <= 0 wraps cw to 5: C | 3: C B | 1: C B A.
			{"run 12", "C B A C C B C B A C C B"},
		}},
		{name: "gcd 2: 4:6", reals: "A4 B6", init: true, steps: []rrfStep{
			// di 2, mw 5: cw=5: B | cw=3: B A | cw=1: B A.
			{"run 10", "B B A B A B B A B A"},
		}},
		{name: "all weights 0", reals: "A0 B0", steps: []rrfStep{
			// mw 0: no destination available.
			{"run 2", "- -"},
			// -e A w2: di 2, mw 1, cw 0 -> 1.
			{"edit A2", ""},
			{"run 2", "A A"},
		}},
		{name: "no reals", reals: "", init: true, steps: []rrfStep{{"run 1", "-"}}},
		{name: "overload skipped", reals: "A1 B3u1", init: true, steps: []rrfStep{
			// List B A, cw=3. B overloaded (counters are not hooked: cw and cursor stay).
			// cw=3, 2: nothing; cw=1: A. Then from A: wrap to 3, restarted; 3, 2 nothing;
			// cw=1 is the last pass with stop = A: the walk reaches A first, A qualifies.
			{"bind B", ""},
			{"run 3", "A A A"},
			// B back: from A at cw=1 the walk wraps: cw=3: B | 2: B | 1: B A.
			{"unbind B", ""},
			{"run 4", "B B B A"},
		}},
		{name: "all overloaded", reals: "A1u1 B1u1", init: true, steps: []rrfStep{
			// From the head with cw=1 nothing qualifies; cw wraps while the walk began at
			// the head: give up, cursor on the head.
			{"bind A", ""},
			{"bind B", ""},
			{"run 2", "- -"},
			{"unbind A", ""},
			{"run 2", "A A"},
		}},
		{name: "all overloaded, cursor kept", reals: "A1u1 B1u1 C1u1", init: true, steps: []rrfStep{
			// List C B A, cw 1. After C, all overloaded: the walk past C fails, cw wraps
			// (restarted), cw=1 is the last pass so stop = C: B, A fail, the walk from the
			// head stops at C and leaves the cursor there (not on the head). With B and C
			// back the next pick is therefore B, the real after C; from the head it would be C.
			{"run 1", "C"},
			{"bind A", ""},
			{"bind B", ""},
			{"bind C", ""},
			{"run 1", "-"},
			{"unbind B", ""},
			{"unbind C", ""},
			{"run 3", "B C B"},
		}},
		{name: "weight raised mid-sequence", reals: "C2 B3 A4", init: true, steps: []rrfStep{
			// A A: cw=3, cursor A. -e B w6: cursor to head, di gcd(4,6,2) = 2, mw 6-1 = 5,
			// cw 3 <= 5 and di > 1: cw = (3/2)*2+1 = 3. cw=3: A B | cw=1: A B C | wrap to
			// 5: B | 3: A B | 1: A B C.
			{"run 2", "A A"},
			{"edit B6", ""},
			{"run 11", "A B A B C B A B A B C"},
		}},
		{name: "di grows: cw rounded", reals: "A1 B4", init: true, steps: []rrfStep{
			// List B A, di 1, mw 4: cw=4: B | 3: B | 2: B, cursor B, cw 2. -e A w2: di
			// gcd(2,4) = 2, mw 4-1 = 3, cw 2 <= 3 and di > 1: cw = (2/2)*2+1 = 3 (without the
			// rounding A would qualify at once). cw=3: B | 1: B A | wrap to 3: B | 1: B A.
			{"run 3", "B B B"},
			{"edit A2", ""},
			{"run 6", "B B A B B A"},
		}},
		{name: "top weight lowered mid-sequence", reals: "C2 B3 A4", init: true, steps: []rrfStep{
			// A: cw=4. -e A w1: di 1, mw 3, cw 4 > 3 -> 3. cw=3: B | 2: B C | 1: A B C |
			// wrap to 3: B.
			{"run 1", "A"},
			{"edit A1", ""},
			{"run 7", "B B C A B C B"},
		}},
		{name: "edit that changes nothing", reals: "A1 B1 C1", init: true, steps: []rrfStep{
			// upd_dest runs dest_changed even so: the cursor goes back to the head.
			{"run 1", "C"},
			{"edit B1", ""},
			{"run 2", "C B"},
		}},
		{name: "current real deleted", reals: "C2 B3 A4", init: true, steps: []rrfStep{
			// A A B: cw=3, cursor B. -d B: cursor to head, di gcd(4,2) = 2, mw 4-1 = 3,
			// cw = (3/2)*2+1 = 3. cw=3: A | 1: A C | wrap to 3: A | 1: A C.
			{"run 3", "A A B"},
			{"del B", ""},
			{"run 6", "A A C A A C"},
		}},
		{name: "real added mid-sequence", reals: "C2 B3 A4", init: true, steps: []rrfStep{
			// A A B: cw=3, cursor B. -a D w1 (list D A B C): cursor to head, di 1, mw 4,
			// cw 3 kept. cw=3: A B | 2: A B C | 1: D A B C | wrap to 4: A.
			{"run 3", "A A B"},
			{"add D1", ""},
			{"run 10", "A B A B C D A B C A"},
		}},
		{name: "weight 0 real in the list", reals: "A0 B2 C1", steps: []rrfStep{
			// -a A w0: mw 0. -a B w2: di 2, mw 1, cw 1. -a C w1: di 1, mw 2, cw 1.
			// cw=1: C B | wrap to 2: B | 1: C B.
			{"run 5", "C B B C B"},
		}},
	})
}

// wrrOracle is ip_vs_wrr.c written plainly: the cursor is a real (nil: head) whose position
// is found by a linear search; every pass walks the whole list.
type wrrOracle struct {
	cur        *Dest
	cw, mw, di int
}

func newWRROracle(s *Svc) Scheduler {
	o := &wrrOracle{}
	o.recount(s)
	o.cw = o.mw
	return o
}

func (o *wrrOracle) recount(s *Svc) {
	g, hi := 0, 0
	for _, d := range s.Dests {
		w := int(d.weight)
		if w > 0 {
			if g == 0 {
				g = w
			} else {
				for a := w; a != 0; {
					g, a = a, g%a
				}
			}
		}
		hi = max(hi, w)
	}
	o.di = max(g, 1)
	o.mw = hi - (o.di - 1)
	o.cur = nil
}

func (o *wrrOracle) Changed(s *Svc, op Op, _ *Dest) {
	if op == OpCounters {
		return
	}
	o.recount(s)
	if o.cw > o.mw || o.cw == 0 {
		o.cw = o.mw
	} else if o.di > 1 {
		o.cw = o.cw/o.di*o.di + 1
	}
}

func (o *wrrOracle) Schedule(s *Svc, _ Flow) *Dest {
	if o.mw == 0 {
		return nil
	}
	last := slices.Index(s.Dests, o.cur) // -1: the head
	stop := -2                           // none
	lastPass, restarted := false, false
	for i := last; ; {
		for i++; i < len(s.Dests); i++ {
			d := s.Dests[i]
			if !d.overload && int(d.weight) >= o.cw {
				o.cur = d
				return d
			}
			if i == stop {
				o.cur = d
				return nil
			}
		}
		i = -1
		o.cw -= o.di
		if o.cw <= 0 {
			o.cw = o.mw
			if lastPass || last == -1 {
				o.cur = nil
				return nil
			}
			restarted = true
		}
		lastPass = o.cw <= o.di
		if lastPass && restarted && last != -1 {
			stop = last
		}
	}
}

func TestWRRMatchesOracle(t *testing.T) {
	for seed := range uint64(4) {
		rrfRandom(t, newWRR, newWRROracle, seed, 20000)
	}
}
