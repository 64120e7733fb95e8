package sched

import (
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// hxCounters sets rsN's ActiveConn and InActConn.
func hxCounters(t *testing.T, p *Pool, n int, active, inactive int32) {
	t.Helper()
	if err := p.SetCounters(hxReal(n, 1).Addr, 80, active, inactive); err != nil {
		t.Fatal(err)
	}
}

// Entries are per destination address; a good cached real is reused whatever the loads.
func TestLBLCReuse(t *testing.T) {
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", newHXClock(), hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")                                    // all idle: the first in list order
	hxCounters(t, p, 2, 0, 10)
	hxWant(t, p, "192.0.2.2:2", "10.0.0.1:80", "rs2") // cached, though rs1 is lighter
	hxWant(t, p, "192.0.2.2:2", "10.0.0.2:80", "rs1") // a new address: least loaded
	// weight 0 invalidates the entry; the new pick stays cached when rs2 comes back
	if err := p.EditDest(hxReal(2, 0)); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	if err := p.EditDest(hxReal(2, 1)); err != nil {
		t.Fatal(err)
	}
	hxCounters(t, p, 2, 0, 0)
	hxCounters(t, p, 1, 0, 10)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
}

// is_overloaded: ActiveConn > weight while some real has ActiveConn*2 < weight. The
// OVERLOAD flag is not part of it.
func TestLBLCOverloadRule(t *testing.T) {
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", newHXClock(), hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxCounters(t, p, 2, 2, 0) // rs2 active 2 > weight 1
	hxCounters(t, p, 1, 1, 0) // rs1: 1*2 < 1 is false, so nobody is light
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxCounters(t, p, 1, 0, 0) // now rs1 is light: rs2 counts as overloaded
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
}

// An entry keeps its real referenced, so the kernel keeps a deleted real in its trash and a
// re-add of the same address:port revives it, entry and all.
func TestLBLCRevivedReal(t *testing.T) {
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", newHXClock(), hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxWant(t, p, "192.0.2.1:1", "10.0.0.2:80", "rs2")
	if err := p.DelDest(hxReal(2, 1).Addr, 80); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1", "10.0.0.2:80", "rs1") // deleted: 10.0.0.2 moves to rs1
	if err := p.AddDest(hxReal(2, 1)); err != nil {
		t.Fatal(err)
	}
	hxCounters(t, p, 2, 0, 50)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2") // revived entry, though rs1 is lighter
	hxWant(t, p, "192.0.2.1:1", "10.0.0.2:80", "rs1")
}

// The timer runs every 60 s from the service's creation; every 30th run is the full check,
// freeing entries unused for 24 h. Entries used at t0+10s are freed by the check at
// t0+24h30m (the first multiple of 30 min at least 24h10s after t0), not before.
func TestLBLCFullExpiry(t *testing.T) {
	clock := newHXClock()
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", clock, hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	clock.Step(10 * time.Second)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	hxWant(t, p, "192.0.2.1:1", "10.0.0.2:80", "rs2")
	hxCounters(t, p, 2, 0, 5) // from now on a fresh pick is rs1
	clock.Step(24*time.Hour + 29*time.Minute - 10*time.Second)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2") // alive; lastuse is now t0+24h29m
	clock.Step(time.Minute)
	hxWant(t, p, "192.0.2.1:1", "10.0.0.2:80", "rs1") // freed at t0+24h30m
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	l := p.sched.(*lblcScheduler)
	if l.counter != 1 || l.rover != 0 {
		t.Errorf("counter %d rover %d after a full check, want 1 and 0", l.counter, l.rover)
	}
}

// Over 16384 counted entries, each run frees entries unused for 6 min bucket by bucket,
// from the one after the rover, until (entries-16384)*4/3 are gone, and leaves the counter.
func TestLBLCPartialExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 16400 entries")
	}
	clock := newHXClock()
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", clock, hxReal(1, 1))
	const n = locMaxSize + 16
	perBucket := make([]int, locTabSize)
	clock.Step(time.Second)
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)})
		perBucket[hash32(foldAddr(false, a), locTabBits)]++
		p.Schedule(Flow{Protocol: lb.TCP, Client: netip.MustParseAddrPort("192.0.2.1:1"), Dest: netip.AddrPortFrom(a, 80)})
	}
	// goal (16400-16384)*4/3 = 21. Runs at 1..6 min find nothing idle for 6 min and go
	// round to the rover; the run at 7 min frees buckets 1, 2, ... until 21 are gone.
	goal, j, freed := 21, 0, 0
	for goal > 0 {
		j++
		freed += perBucket[j]
		goal -= perBucket[j]
	}
	clock.Step(7*time.Minute - time.Second)
	p.Schedule(hxFlow("192.0.2.1:1", "10.0.0.1:80")) // runs the timer, then adds an entry
	l := p.sched.(*lblcScheduler)
	if got, want := len(l.index), n-freed+1; got != want || l.entries != want {
		t.Errorf("%d entries (counter %d), want %d", got, l.entries, want)
	}
	if l.rover != j || l.counter != 1 {
		t.Errorf("rover %d counter %d, want %d and 1", l.rover, l.counter, j)
	}
}

// ip_vs_lblc_new replaces an entry without decrementing the entry counter.
func TestLBLCEntryCounterDrift(t *testing.T) {
	p := hxPool(t, "lblc", 0, "10.0.0.100:80", newHXClock(), hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs2")
	if err := p.EditDest(hxReal(2, 0)); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1", "10.0.0.1:80", "rs1")
	l := p.sched.(*lblcScheduler)
	if len(l.index) != 1 || l.entries != 2 {
		t.Errorf("%d entries, counter %d; want 1 and 2", len(l.index), l.entries)
	}
}

func TestLeastLoaded(t *testing.T) {
	d := func(w, a, i int32, over bool) *Dest {
		return &Dest{weight: w, active: a, inactive: i, overload: over, available: true}
	}
	for _, c := range []struct {
		name  string
		dests []*Dest
		want  int
	}{
		{"empty", nil, -1},
		{"all weight 0", []*Dest{d(0, 0, 0, false), d(0, 0, 0, false)}, -1},
		{"overloaded skipped", []*Dest{d(1, 0, 0, true), d(1, 5, 0, false)}, 1},
		{"tie: first wins", []*Dest{d(1, 1, 0, false), d(2, 2, 0, false)}, 0},
		// 256*1/1 = 256 > (256*1+1)/2 = 128.5: the heavier weight wins
		{"weighted", []*Dest{d(1, 1, 0, false), d(2, 1, 1, false)}, 1},
		{"weight 0 later never wins", []*Dest{d(1, 9, 0, false), d(0, 0, 0, false)}, 0},
	} {
		got := leastLoaded(c.dests)
		want := (*Dest)(nil)
		if c.want >= 0 {
			want = c.dests[c.want]
		}
		if got != want {
			t.Errorf("%s: got %p, want %p", c.name, got, want)
		}
	}
}
