package sched

import "testing"

// Expected values follow ip_vs_fo.c: the scan keeps the first real (list order, newest first)
// without OVERLOAD whose weight is strictly greater than the best so far, starting from 0.
func TestFO(t *testing.T) {
	rrfTable(t, "fo", []rrfCase{
		{name: "highest weight", reals: "A1 B2 C3", steps: []rrfStep{
			{"run 3", "C C C"},
		}},
		{name: "highest weight, oldest", reals: "C3 B2 A1", steps: []rrfStep{
			{"run 2", "C C"},
		}},
		{name: "tie goes to the first in list order", reals: "A2 B2 C1", steps: []rrfStep{
			// List C B A; B comes before A and the scan only replaces on a greater weight.
			{"run 2", "B B"},
		}},
		{name: "counters do not matter", reals: "A1 B2", steps: []rrfStep{
			{"bind B", ""},
			{"counters B 50 50", ""},
			{"run 1", "B"},
		}},
		{name: "overload fails over", reals: "A2 B3u1 C1", steps: []rrfStep{
			// Upper threshold 1: one connection sets OVERLOAD on B; the next best is A.
			{"bind B", ""},
			{"run 2", "A A"},
			{"unbind B", ""},
			{"run 1", "B"},
		}},
		{name: "all weights 0", reals: "A0 B0", steps: []rrfStep{
			{"run 1", "-"},
		}},
		{name: "all overloaded", reals: "A1u1 B1u1", steps: []rrfStep{
			{"bind A", ""},
			{"bind B", ""},
			{"run 1", "-"},
		}},
		{name: "no reals", reals: "", steps: []rrfStep{{"run 1", "-"}}},
		{name: "weight edits", reals: "A1 B2", steps: []rrfStep{
			{"run 1", "B"},
			{"edit A5", ""},
			{"run 1", "A"},
			// A and B at 2: B was added later, so it is first in the list.
			{"edit A2", ""},
			{"run 1", "B"},
			{"edit B0", ""},
			{"run 1", "A"},
		}},
		{name: "chosen real deleted and re-added", reals: "A1 B2 C3", steps: []rrfStep{
			{"run 1", "C"},
			{"del C", ""},
			{"run 1", "B"},
			{"add C2", ""},
			// C re-added at the head with weight 2 ties B and comes first.
			{"run 1", "C"},
		}},
		{name: "real added mid-sequence", reals: "A2 B1", steps: []rrfStep{
			{"run 1", "A"},
			{"add C2", ""},
			{"run 1", "C"},
			{"add D1", ""},
			{"run 1", "C"},
		}},
	})
}

// foOracle is ip_vs_fo.c's scan.
type foOracle struct{}

func (foOracle) Schedule(s *Svc, _ Flow) *Dest {
	var best *Dest
	var hw int32
	for _, d := range s.Dests {
		if !d.overload && d.weight > hw {
			best, hw = d, d.weight
		}
	}
	return best
}

func (foOracle) Changed(*Svc, Op, *Dest) {}

func TestFOMatchesOracle(t *testing.T) {
	for seed := range uint64(4) {
		rrfRandom(t, newFO, func(*Svc) Scheduler { return foOracle{} }, seed, 20000)
	}
}
