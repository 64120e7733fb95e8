package sched

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// mhCounts returns how many of the M lookup entries each real holds, by hxName.
func mhCounts(p *Pool) map[string]int {
	n := map[string]int{}
	for _, d := range p.sched.(*mhScheduler).lookup {
		n[hxName(d)]++
	}
	return n
}

// ip_vs_mh_populate lets the reals take turns in list order, each claiming `turns` entries
// in a row, until the M = 4093 entries are claimed; the counts follow from that alone.
func TestMHWeightShares(t *testing.T) {
	for _, c := range []struct {
		name    string
		weights []int32 // rs1, rs2, ... in the order added
		want    map[string]int
	}{
		// turns 1 2 3, 6 claims a round: 682 rounds = 4092, then rs3 (list head) takes one
		{"w1-2-3", []int32{1, 2, 3}, map[string]int{"rs3": 2047, "rs2": 1364, "rs1": 682}},
		// gcd 2 gives the same turns
		{"w2-4-6", []int32{2, 4, 6}, map[string]int{"rs3": 2047, "rs2": 1364, "rs1": 682}},
		// max/gcd = 1000: rshift = fls(1000) - 6 = 4, turns 1000>>4 = 62 and (1>>4 = 0) -> 1;
		// 64 rounds of 63 = 4032, then rs2 claims the last 61
		{"w1-1000", []int32{1, 1000}, map[string]int{"rs2": 62*64 + 61, "rs1": 64}},
		// added with weight 0: last_weight 0, turns 0, no entry at all
		{"w0-1", []int32{0, 1}, map[string]int{"rs2": 4093}},
		// no positive last_weight: the table is empty
		{"w0-0", []int32{0, 0}, map[string]int{"nil": 4093}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reals []lb.Real
			for i, w := range c.weights {
				reals = append(reals, hxReal(i+1, w))
			}
			p := hxPool(t, "mh", 0, "10.0.0.100:80", nil, reals...)
			if got := mhCounts(p); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("entries per real %v, want %v", got, c.want)
			}
		})
	}
}

// A real edited to weight 0 keeps last_weight, hence its entries; it is refused at lookup,
// and mh-fallback finds another. A new non-zero weight becomes last_weight.
func TestMHLastWeight(t *testing.T) {
	reals := []lb.Real{hxReal(1, 1), hxReal(2, 2), hxReal(3, 3)}
	p := hxPool(t, "mh", 0, "10.0.0.100:80", nil, reals...)
	fb := hxPool(t, "mh", lb.Sched1, "10.0.0.100:80", nil, reals...)
	// a client whose entry holds rs2
	h := p.sched.(*mhScheduler)
	var client string
	for k := 1; k < 255 && client == ""; k++ {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(k)})
		if hxName(h.lookup[hsiphash32(foldAddr(false, a), h.key1)%mhTabSize]) == "rs2" {
			client = a.String() + ":5000"
		}
	}
	hxWant(t, p, client, "10.0.0.100:80", "rs2")
	for _, q := range []*Pool{p, fb} {
		if err := q.EditDest(hxReal(2, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := mhCounts(p), map[string]int{"rs3": 2047, "rs2": 1364, "rs1": 682}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after weight 0: %v, want %v (unchanged)", got, want)
	}
	hxWant(t, p, client, "10.0.0.100:80", "nil")
	if got := hxName(fb.Schedule(hxFlow(client, "10.0.0.100:80"))); got != "rs1" && got != "rs3" {
		t.Errorf("fallback chose %s, want rs1 or rs3", got)
	}
	// weight 5: turns 3 5 1 (list rs3 rs2 rs1), 9 a round: 454 rounds = 4086, then rs3
	// claims 3 and rs2 the last 4
	if err := p.EditDest(hxReal(2, 5)); err != nil {
		t.Fatal(err)
	}
	if got, want := mhCounts(p), map[string]int{"rs3": 3*454 + 3, "rs2": 5*454 + 4, "rs1": 454}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after weight 5: %v, want %v", got, want)
	}
}

// With more than M reals ip_vs_mh_reassign returns -EINVAL before touching the table, so
// the newest real gets no entry until a deletion brings the count back to M.
func TestMHMoreRealsThanEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 4094 reals")
	}
	real := func(i int) lb.Real {
		return lb.Real{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Port: 80, Weight: 1}
	}
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.0.0.100"), Port: 80}, Scheduler: "dh"}
	for i := range mhTabSize {
		s.Reals = append(s.Reals, real(i))
	}
	p, err := NewPool(s, Config{}) // dh fills fast; mh is bound once over the M reals
	if err != nil {
		t.Fatal(err)
	}
	s.Scheduler = "mh"
	if err := p.SetService(s); err != nil {
		t.Fatal(err)
	}
	count := func(a netip.Addr) int {
		n := 0
		for _, d := range p.sched.(*mhScheduler).lookup {
			if d != nil && d.Addr() == a {
				n++
			}
		}
		return n
	}
	// M reals of weight 1: one entry each
	if n := count(real(0).Addr); n != 1 {
		t.Fatalf("real 0 holds %d entries, want 1", n)
	}
	if err := p.AddDest(real(mhTabSize)); err != nil {
		t.Fatal(err)
	}
	if n := count(real(mhTabSize).Addr); n != 0 {
		t.Fatalf("real M+1 holds %d entries, want 0 (table kept)", n)
	}
	if err := p.DelDest(real(0).Addr, 80); err != nil {
		t.Fatal(err)
	}
	if n, m := count(real(mhTabSize).Addr), count(real(0).Addr); n != 1 || m != 0 {
		t.Fatalf("after a deletion: new real %d entries, deleted %d; want 1 and 0", n, m)
	}
}

// The client's entry is hsiphash(port + fold(saddr)) % M under key hash1: the IPv6 fold and
// the port (mh-port only) are the whole input.
func TestMHHashInput(t *testing.T) {
	reals := []lb.Real{hxReal6(1, 1), hxReal6(2, 1), hxReal6(3, 1), hxReal6(4, 1)}
	for _, flags := range []lb.SvcFlags{0, lb.Sched2} {
		p := hxPool(t, "mh", flags, "[2001:db8::100]:80", nil, reals...)
		h := p.sched.(*mhScheduler)
		for _, c := range []string{"[2001:db8::7]:1000", "[0:0:2001:db8::7]:1000", "[2001:db8:5:6::9]:40000"} {
			ap := netip.MustParseAddrPort(c)
			v := foldAddr(true, ap.Addr())
			if flags != 0 {
				v += uint32(ap.Port())
			}
			want := hxName(h.lookup[hsiphash32(v, sipKey{2654435761, 2654435761})%4093])
			hxWant(t, p, c, "[2001:db8::100]:80", want)
		}
		// equal folds, equal ports: same real
		x := p.Schedule(hxFlow("[2001:db8::7]:1000", "[2001:db8::100]:80"))
		y := p.Schedule(hxFlow("[0:0:2001:db8::7]:1000", "[2001:db8::100]:80"))
		if x != y {
			t.Errorf("flags %v: equal folds went to %s and %s", flags, hxName(x), hxName(y))
		}
	}
}
