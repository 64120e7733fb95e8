package sched

import "testing"

// Expected values follow ip_vs_ovf.c: the scan skips a real with OVERLOAD, with weight 0, or
// whose ActiveConn is greater than its weight (so ActiveConn == weight still qualifies), and
// keeps the first real (list order, newest first) of the highest weight among the rest.
func TestOVF(t *testing.T) {
	rrfTable(t, "ovf", []rrfCase{
		{name: "overflow down the weights", reals: "A1 B2 C3", steps: []rrfStep{
			{"run 1", "C"},
			// C takes connections while ActiveConn <= 3 ...
			{"bind C", ""},
			{"bind C", ""},
			{"bind C", ""},
			{"run 1", "C"},
			// ... and overflows to B at 4.
			{"bind C", ""},
			{"run 1", "B"},
			{"bind B", ""},
			{"bind B", ""},
			{"run 1", "B"},
			{"bind B", ""},
			{"run 1", "A"},
			{"bind A", ""},
			{"run 1", "A"},
			{"bind A", ""},
			{"run 1", "-"},
			// One of C's connections closes: 3 <= 3 again.
			{"unbind C", ""},
			{"run 1", "C"},
		}},
		{name: "inactive connections ignored", reals: "A1 B2", steps: []rrfStep{
			{"counters B 2 100", ""},
			{"run 1", "B"},
			{"counters B 3 0", ""},
			{"run 1", "A"},
		}},
		{name: "tie goes to the first in list order", reals: "A2 B2", steps: []rrfStep{
			// List B A.
			{"run 1", "B"},
			{"counters B 3 0", ""},
			{"run 1", "A"},
		}},
		{name: "weight 0 never chosen", reals: "A0 B0", steps: []rrfStep{
			// ActiveConn 0 is not above weight 0, but weight 0 is skipped on its own.
			{"run 1", "-"},
		}},
		{name: "overload excluded", reals: "A1 B2u1", steps: []rrfStep{
			// One connection: B has ActiveConn 1 <= 2 but OVERLOAD (threshold 1).
			{"bind B", ""},
			{"run 1", "A"},
			{"unbind B", ""},
			{"run 1", "B"},
		}},
		{name: "weight edits", reals: "A1 B2", steps: []rrfStep{
			{"counters B 3 0", ""},
			{"run 1", "A"},
			{"edit B5", ""},
			{"run 1", "B"},
			{"edit B1", ""},
			// B: 3 > 1; A: 0 <= 1.
			{"run 1", "A"},
		}},
		{name: "chosen real deleted, real added", reals: "A1 B2 C3", steps: []rrfStep{
			{"run 1", "C"},
			{"del C", ""},
			{"run 1", "B"},
			{"add D2", ""},
			// D ties B at 2 and is first in the list.
			{"run 1", "D"},
		}},
		{name: "no reals", reals: "", steps: []rrfStep{{"run 1", "-"}}},
	})
}

// ovfOracle is ip_vs_ovf.c's scan.
type ovfOracle struct{}

func (ovfOracle) Schedule(s *Svc, _ Flow) *Dest {
	var best *Dest
	var hw int32
	for _, d := range s.Dests {
		w := d.weight
		if d.overload || d.active > w || w == 0 {
			continue
		}
		if best == nil || w > hw {
			best, hw = d, w
		}
	}
	return best
}

func (ovfOracle) Changed(*Svc, Op, *Dest) {}

func TestOVFMatchesOracle(t *testing.T) {
	for seed := range uint64(4) {
		rrfRandom(t, newOVF, func(*Svc) Scheduler { return ovfOracle{} }, seed, 20000)
	}
}
