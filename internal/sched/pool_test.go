package sched

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

func poolOf(t *testing.T, sched string, reals ...lb.Real) *Pool {
	t.Helper()
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: sched, Reals: reals}
	p, err := NewPool(s, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rl(last byte, w int32, uth, lth uint32) lb.Real {
	return lb.Real{Addr: netip.AddrFrom4([4]byte{10, 1, 0, last}), Port: 80, Forward: lb.Masq, Weight: w, UThreshold: uth, LThreshold: lth}
}

func TestAccountOverloadRules(t *testing.T) {
	// ip_vs_conn.c ip_vs_bind_dest / ip_vs_unbind_dest: OVERLOAD is set when binding makes
	// ActiveConn+InActConn reach the upper threshold, and cleared on unbind below the lower
	// threshold, or below 3/4 of the upper one when there is no lower threshold.
	type step struct {
		from, to lb.ConnClass
		overload bool
	}
	bind, unbind := step{lb.ClassNone, lb.ClassInactive, false}, step{lb.ClassInactive, lb.ClassNone, false}
	tests := []struct {
		name     string
		uth, lth uint32
		steps    []step
	}{
		{"upper 2, lower 1", 2, 1, []step{
			{lb.ClassNone, lb.ClassActive, false}, {lb.ClassNone, lb.ClassActive, true}, // 2 >= 2
			{lb.ClassActive, lb.ClassInactive, true}, // a state change keeps it
			{lb.ClassInactive, lb.ClassNone, true},   // 1 is not < 1
			{lb.ClassActive, lb.ClassNone, false},    // 0 < 1
		}},
		{"upper 4, no lower: 3/4 rule", 4, 0, []step{
			bind, bind, bind, {lb.ClassNone, lb.ClassInactive, true}, // 4 >= 4
			{lb.ClassInactive, lb.ClassNone, true},  // 3*4 = 12 is not < 12
			{lb.ClassInactive, lb.ClassNone, false}, // 2*4 = 8 < 12
		}},
		{"templates do not count", 1, 0, []step{
			{lb.ClassNone, lb.ClassPersist, false}, {lb.ClassNone, lb.ClassPersist, false},
			{lb.ClassNone, lb.ClassActive, true},
			{lb.ClassNone, lb.ClassPersist, true}, // binding a template: total still 1 >= 1
		}},
		{"no thresholds", 0, 0, []step{bind, bind, unbind}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := poolOf(t, "wlc", rl(11, 1, tt.uth, tt.lth))
			d := p.Dests()[0]
			for i, s := range tt.steps {
				p.Account(d, s.from, s.to)
				if d.Overloaded() != s.overload {
					t.Fatalf("step %d (%d->%d, active %d inactive %d): overload %v, want %v",
						i, s.from, s.to, d.Active(), d.Inactive(), d.Overloaded(), s.overload)
				}
			}
		})
	}
}

func TestEditClearsOverload(t *testing.T) {
	// __ip_vs_update_dest: a new upper threshold of 0, or one above the old, clears OVERLOAD
	p := poolOf(t, "wlc", rl(11, 1, 1, 0))
	d := p.Dests()[0]
	p.Account(d, lb.ClassNone, lb.ClassActive)
	if !d.Overloaded() {
		t.Fatal("not overloaded at the threshold")
	}
	p.EditDest(rl(11, 1, 1, 0)) // same threshold: stays
	if !d.Overloaded() {
		t.Fatal("an edit with the same threshold cleared OVERLOAD")
	}
	p.EditDest(rl(11, 1, 5, 0))
	if d.Overloaded() {
		t.Fatal("raising the threshold kept OVERLOAD")
	}
}

func TestDeletedRealRevivesWithCounters(t *testing.T) {
	p := poolOf(t, "wlc", rl(11, 1, 0, 0), rl(12, 1, 0, 0))
	d := p.Find(netip.MustParseAddr("10.1.0.11"), 80)
	p.Account(d, lb.ClassNone, lb.ClassActive)
	if err := p.DelDest(d.Addr(), 80); err != nil {
		t.Fatal(err)
	}
	if d.Available() || p.Find(d.Addr(), 80) != nil {
		t.Fatal("deleted real still listed")
	}
	if err := p.AddDest(rl(11, 3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	r := p.Find(d.Addr(), 80)
	if r != d || r.Active() != 1 || r.Weight() != 3 || !r.Available() || p.Dests()[0] != d {
		t.Fatalf("re-added real: same %v, active %d, weight %d, head %v", r == d, r.Active(), r.Weight(), p.Dests()[0] == d)
	}
	// a deleted real whose last connection ends is forgotten: re-adding makes a new one
	p.DelDest(d.Addr(), 80)
	p.Account(d, lb.ClassActive, lb.ClassNone)
	p.AddDest(rl(11, 1, 0, 0))
	if p.Find(d.Addr(), 80) == d {
		t.Fatal("a real without connections was revived from the trash")
	}
}

func TestSetServiceUnknownSchedulerKeepsPool(t *testing.T) {
	p := poolOf(t, "fo", rl(11, 1, 0, 0), rl(12, 5, 0, 0))
	before := p.Schedule(Flow{})
	err := p.SetService(&lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: "nosuch"})
	if !errors.Is(err, lb.ErrNoScheduler) {
		t.Fatalf("SetService: %v", err)
	}
	if p.Scheduler() != "fo" || p.Schedule(Flow{}) != before {
		t.Fatal("a refused scheduler change disturbed the pool")
	}
}

func TestLastWeightFollowsNonZeroWeights(t *testing.T) {
	// __ip_vs_update_dest: last_weight = weight on add, and on edits to a non-zero weight
	p := poolOf(t, "rr", rl(11, 4, 0, 0))
	d := p.Dests()[0]
	steps := []struct{ w, last int32 }{{0, 4}, {7, 7}, {0, 7}}
	for _, s := range steps {
		p.EditDest(rl(11, s.w, 0, 0))
		if d.LastWeight() != s.last {
			t.Fatalf("after weight %d: last_weight %d, want %d", s.w, d.LastWeight(), s.last)
		}
	}
	p.AddDest(rl(12, 0, 0, 0))
	if p.Find(netip.MustParseAddr("10.1.0.12"), 80).LastWeight() != 0 {
		t.Fatal("a real added with weight 0 has a non-zero last_weight")
	}
	// switching to mh later keeps the quiesced real's share: mh sees last_weight 7
	p.SetService(&lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: "mh"})
	if d.LastWeight() != 7 {
		t.Fatal("a scheduler change lost last_weight")
	}
}
