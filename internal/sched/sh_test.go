package sched

import (
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Client buckets, hash_32(port + fold(saddr), 8) worked by hand: 10.0.0.1 -> 39,
// 10.0.0.2 -> 137, 10.0.0.4 -> 77; with sh-port 10.0.0.1:1000 -> 31, 10.0.0.1:1001 -> 128;
// 2001:db8::1 (fold 0x20010db9) -> 63, and with port 1000 -> 54.

// Each real takes weight-many consecutive buckets, in list order, round and round.
func TestSHWeightBuckets(t *testing.T) {
	p := hxPool(t, "sh", 0, "10.0.0.100:80", nil, hxReal(1, 1), hxReal(2, 3)) // list rs2(w3) rs1(w1)
	h := p.sched.(*shScheduler)
	for b, d := range h.tab {
		want := "rs2"
		if b%4 == 3 {
			want = "rs1"
		}
		if got := hxName(d); got != want {
			t.Fatalf("bucket %d: %s, want %s", b, got, want)
		}
	}
	hxWant(t, p, "10.0.0.1:5000", "10.0.0.100:80", "rs1") // 39 % 4 = 3
	hxWant(t, p, "10.0.0.2:5000", "10.0.0.100:80", "rs2") // 137 % 4 = 1
	// upd_dest refills: rs2 at weight 1 makes the pattern rs2 rs1
	if err := p.EditDest(hxReal(2, 1)); err != nil {
		t.Fatal(err)
	}
	hxWant(t, p, "10.0.0.1:5000", "10.0.0.100:80", "rs1") // 39 % 2 = 1
	hxWant(t, p, "10.0.0.2:5000", "10.0.0.100:80", "rs1") // 137 % 2 = 1
}

// A weight-0 real still takes one bucket ("++d_count >= weight"), where it is refused; with
// sh-fallback the search visits (roffset + ihash) & 255 for roffset = ihash, ihash+1, ...,
// so it starts at 2*ihash, not at ihash+1.
func TestSHZeroWeightAndFallback(t *testing.T) {
	reals := []lb.Real{hxReal(1, 0), hxReal(2, 1), hxReal(3, 1)} // list rs3 rs2 rs1, period 3
	p := hxPool(t, "sh", 0, "10.0.0.100:80", nil, reals...)
	hxWant(t, p, "10.0.0.4:5000", "10.0.0.100:80", "nil") // 77 % 3 = 2: rs1, weight 0
	hxWant(t, p, "10.0.0.1:5000", "10.0.0.100:80", "rs3") // 39 % 3 = 0
	f := hxPool(t, "sh", lb.Sched1, "10.0.0.100:80", nil, reals...)
	// first search bucket 154 % 3 = 1: rs2 (a search from 78 would find rs3)
	hxWant(t, f, "10.0.0.4:5000", "10.0.0.100:80", "rs2")
	hxWant(t, f, "10.0.0.1:5000", "10.0.0.100:80", "rs3")
	// every real unusable: nil after the full round
	for _, r := range reals {
		r.Weight = 0
		if err := f.EditDest(r); err != nil {
			t.Fatal(err)
		}
	}
	hxWant(t, f, "10.0.0.4:5000", "10.0.0.100:80", "nil")
}

func TestSHPortAndIPv6(t *testing.T) {
	p := hxPool(t, "sh", 0, "10.0.0.100:80", nil, hxReal(1, 1), hxReal(2, 1)) // rs2 rs1
	hxWant(t, p, "10.0.0.1:1000", "10.0.0.100:80", "rs1")                     // 39: port ignored
	hxWant(t, p, "10.0.0.1:1001", "10.0.0.100:80", "rs1")
	q := hxPool(t, "sh", lb.Sched2, "10.0.0.100:80", nil, hxReal(1, 1), hxReal(2, 1))
	hxWant(t, q, "10.0.0.1:1000", "10.0.0.100:80", "rs1") // 31 % 2 = 1
	hxWant(t, q, "10.0.0.1:1001", "10.0.0.100:80", "rs2") // 128 % 2 = 0
	// protocols without ports hash port 0 even with sh-port
	icmp := hxFlow("10.0.0.1:1001", "10.0.0.100:80")
	icmp.Protocol = lb.Protocol(1)
	if got := hxName(q.Schedule(icmp)); got != "rs1" {
		t.Errorf("ICMP flow: got %s, want rs1 (bucket 39)", got)
	}

	a1, a2 := "2001:db8:1::1", "2001:db8:1::2"
	v6 := hxPool(t, "sh", 0, "[2001:db8::100]:80", nil, hxReal6(1, 1), hxReal6(2, 1)) // a2 a1
	hxWant(t, v6, "[2001:db8::1]:1000", "[2001:db8::100]:80", a1)                     // 63 % 2 = 1
	hxWant(t, v6, "[0:0:2001:db8::1]:7", "[2001:db8::100]:80", a1)                    // same fold
	v6p := hxPool(t, "sh", lb.Sched2, "[2001:db8::100]:80", nil, hxReal6(1, 1), hxReal6(2, 1))
	hxWant(t, v6p, "[2001:db8::1]:1000", "[2001:db8::100]:80", a2) // 54 % 2 = 0
}

func TestSHOverload(t *testing.T) {
	r1, r2 := hxReal(1, 1), hxReal(2, 1)
	r2.UThreshold = 1
	for _, c := range []struct {
		flags lb.SvcFlags
		want  string
	}{{0, "nil"}, {lb.Sched1, "rs1"}} {
		p := hxPool(t, "sh", c.flags, "10.0.0.100:80", nil, r1, r2)  // rs2 rs1
		hxWant(t, p, "10.0.0.2:5000", "10.0.0.100:80", "rs1")        // 137 % 2 = 1
		hxWant(t, p, "10.0.0.1:1000", "10.0.0.100:80", "rs1")        // 39 % 2 = 1
		hxWant(t, p, "10.0.0.5:5000", "10.0.0.100:80", "rs2")        // 174 % 2 = 0
		p.Account(p.Find(r2.Addr, 80), lb.ClassNone, lb.ClassActive) // OVERLOAD
		hxWant(t, p, "10.0.0.5:5000", "10.0.0.100:80", c.want)
	}
}
