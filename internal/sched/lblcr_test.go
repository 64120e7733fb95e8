package sched

import (
	"strings"
	"testing"
	"time"
)

// lblcrSet lists the set cached for daddr, newest member first.
func lblcrSet(p *Pool, daddr string) string {
	l := p.sched.(*lblcrScheduler)
	e := l.index[hxFlow("192.0.2.1:1", daddr+":80").Dest.Addr()]
	if e == nil {
		return "none"
	}
	var names []string
	for _, r := range e.set {
		names = append(names, hxName(r.d))
	}
	return strings.Join(names, " ")
}

// The set grows at its head by the service's least-loaded real when its own least-loaded
// member is overloaded by lblc's rule, and not when that real is already a member.
func TestLBLCRGrowth(t *testing.T) {
	p := hxPool(t, "lblcr", 0, "10.0.0.100:80", newHXClock(), hxReal(1, 1), hxReal(2, 1), hxReal(3, 4)) // rs3 rs2 rs1
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs3")
	hxCounters(t, p, 3, 5, 0) // rs3: 5 > 4 active, rs1 and rs2 are light
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	if got := lblcrSet(p, "10.0.0.1"); got != "rs2 rs3" {
		t.Fatalf("set %q, want rs2 rs3", got)
	}
	// set min: rs2 (256 after one active) against rs3 (1280/4 = 320): rs2
	hxCounters(t, p, 2, 1, 0)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	// rs2 overloaded (2 > 1, rs1 light), but rs1 so laden with inactive connections that
	// the service's least-loaded real is rs2 again: already a member, the set stays
	hxCounters(t, p, 2, 2, 0)
	hxCounters(t, p, 1, 0, 100000)
	hxCounters(t, p, 3, 5, 100000)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	if got := lblcrSet(p, "10.0.0.1"); got != "rs2 rs3" {
		t.Fatalf("set %q, want rs2 rs3 unchanged", got)
	}
	// a deleted member is skipped by set min
	if err := p.DelDest(hxReal(2, 1).Addr, 80); err != nil {
		t.Fatal(err)
	}
	hxCounters(t, p, 3, 0, 0)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs3")
}

// More than one member and strictly more than 24 h since the set last changed: the most
// loaded member is erased (lastmod becomes now), after set min has already chosen.
func TestLBLCRShrink(t *testing.T) {
	clock := newHXClock()
	p := hxPool(t, "lblcr", 0, "10.0.0.100:80", clock, hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	clock.Step(10 * time.Second)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxCounters(t, p, 2, 2, 0) // overloaded: rs1 joins at t0+10s
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	hxCounters(t, p, 2, 0, 5)
	hxCounters(t, p, 1, 0, 1)
	clock.Step(12 * time.Hour) // a use keeps the entry alive; the set does not change
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	clock.Step(12 * time.Hour) // exactly lastmod + 24 h: time_after is false
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	if got := lblcrSet(p, "10.0.0.1"); got != "rs1 rs2" {
		t.Fatalf("set %q, want rs1 rs2", got)
	}
	clock.Step(time.Second) // set max rs2 (5 inactive) goes
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	if got := lblcrSet(p, "10.0.0.1"); got != "rs1" {
		t.Fatalf("set %q, want rs1", got)
	}

	// Equal loads: set min and set max both pick the first member, which is erased and
	// still returned.
	clock.Step(time.Minute)
	hxCounters(t, p, 1, 2, 0) // rs1 overloaded, rs2 light: rs2 joins
	hxCounters(t, p, 2, 0, 0)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxCounters(t, p, 1, 0, 3)
	hxCounters(t, p, 2, 0, 3)
	clock.Step(12 * time.Hour)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2") // tie: the first member
	clock.Step(12*time.Hour + time.Second)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	if got := lblcrSet(p, "10.0.0.1"); got != "rs1" {
		t.Fatalf("set %q, want rs1 (rs2 erased, yet chosen)", got)
	}
}
