package sched

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// Helpers shared by the hashing schedulers' tests (dh, sh, mh, lblc, lblcr), prefixed hx.

// hxReal returns the recordings' rsN: 10.1.0.(10+n):80 with weight w.
func hxReal(n int, w int32) lb.Real {
	return lb.Real{Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(10 + n)}), Port: 80, Weight: w, Forward: lb.Masq}
}

// hxReal6 returns IPv6 real 2001:db8:1::n port 80 with weight w.
func hxReal6(n int, w int32) lb.Real {
	a := netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%x", n))
	return lb.Real{Addr: a, Port: 80, Weight: w, Forward: lb.Masq}
}

// hxClock is a stepped fake clock.
type hxClock struct{ t time.Time }

func newHXClock() *hxClock              { return &hxClock{t: time.Unix(1_700_000_000, 0)} }
func (c *hxClock) Now() time.Time       { return c.t }
func (c *hxClock) Step(d time.Duration) { c.t = c.t.Add(d) }

// hxPool returns a pool for TCP service vip ("10.0.0.1:80" or "[2001:db8::1]:80") with the
// given scheduler, flags and reals (added in order, so the list is their reverse).
func hxPool(t testing.TB, sched string, flags lb.SvcFlags, vip string, clock *hxClock, reals ...lb.Real) *Pool {
	t.Helper()
	ap := netip.MustParseAddrPort(vip)
	s := &lb.Service{
		ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: ap.Addr(), Port: ap.Port()},
		Scheduler:  sched, Flags: flags, Reals: reals,
	}
	cfg := Config{}
	if clock != nil {
		cfg.Now = clock.Now
	}
	p, err := NewPool(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// hxFlow is a TCP flow from client ("ip:port") to dst ("ip:port").
func hxFlow(client, dst string) Flow {
	return Flow{Protocol: lb.TCP, Client: netip.MustParseAddrPort(client), Dest: netip.MustParseAddrPort(dst)}
}

// hxName names a chosen real: "rsN" for 10.1.0.(10+N), the address otherwise, "nil" for none.
func hxName(d *Dest) string {
	switch {
	case d == nil:
		return "nil"
	case d.Addr().Is4():
		return rsName(d.Addr())
	}
	return d.Addr().String()
}

// hxWant schedules each flow (client -> dst) and compares the choice.
func hxWant(t *testing.T, p *Pool, client, dst, want string) {
	t.Helper()
	if got := hxName(p.Schedule(hxFlow(client, dst))); got != want {
		t.Errorf("%s -> %s: got %s, want %s", client, dst, got, want)
	}
}

// Expected buckets are hash_32(fold(daddr), 8) worked by hand: 10.0.0.1 -> 39,
// 10.0.0.2 -> 137, 10.0.0.3 -> 235, fold(2001:db8::1) = 0x20010db9 -> 63,
// fold(2001:db8::2) -> 160. With n reals dealt one per bucket in list order (newest first),
// bucket b holds list[b % n].
func TestDHBuckets(t *testing.T) {
	p := hxPool(t, "dh", 0, "10.0.0.1:80", nil, hxReal(1, 1), hxReal(2, 1), hxReal(3, 1)) // list rs3 rs2 rs1
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "rs3")                                  // 39 % 3 = 0
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.2:80", "rs1")                                  // 137 % 3 = 2
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.3:80", "rs2")                                  // 235 % 3 = 1
	// weights do not shape the table, and dh has no upd_dest
	if err := p.EditDest(hxReal(2, 7)); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.3:80", "rs2")
	// deleting rs3 deals rs2 rs1: 39 % 2 = 1
	if err := p.DelDest(hxReal(3, 1).Addr, 80); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "rs1")
}

func TestDHIPv6(t *testing.T) {
	p := hxPool(t, "dh", 0, "[2001:db8::1]:80", nil, hxReal6(1, 1), hxReal6(2, 1), hxReal6(3, 1))
	a2, a3 := "2001:db8:1::2", "2001:db8:1::3"
	hxWant(t, p, "[2001:db8:2::9]:1000", "[2001:db8::1]:80", a3) // 63 % 3 = 0
	hxWant(t, p, "[2001:db8:2::9]:1000", "[2001:db8::2]:80", a2) // 160 % 3 = 1
	// only the fold is hashed: words 0,20010db8,0,1 fold like 20010db8,0,0,1
	hxWant(t, p, "[2001:db8:2::9]:1000", "[0:0:2001:db8::1]:80", a3)
}

func TestDHRefusals(t *testing.T) {
	p := hxPool(t, "dh", 0, "10.0.0.1:80", nil)
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "nil") // empty table
	r := hxReal(1, 0)
	r.UThreshold = 1
	if err := p.AddDest(r); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "nil") // weight 0
	r.Weight = 1
	if err := p.EditDest(r); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "rs1")
	p.Account(p.Find(r.Addr, 80), lb.ClassNone, lb.ClassActive) // reaches the threshold
	hxWant(t, p, "192.0.2.1:1000", "10.0.0.1:80", "nil")        // OVERLOAD
}

// With more reals than buckets, bucket i holds list[i]: the oldest reals get none.
func TestDHMoreRealsThanBuckets(t *testing.T) {
	var reals []lb.Real
	for i := range 300 {
		reals = append(reals, lb.Real{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Port: 80, Weight: 1})
	}
	p := hxPool(t, "dh", 0, "10.0.0.1:80", nil, reals...)
	h := p.sched.(*dhScheduler)
	dests := p.Dests()
	for i, d := range h.tab {
		if d != dests[i] {
			t.Fatalf("bucket %d holds %s, want list[%d] %s", i, d.Addr(), i, dests[i].Addr())
		}
	}
}
