package sched

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Benchmarks of one decision of rr, wrr, fo and ovf over n reals, and of ovf's kernel-style
// scan (ovfOracle) for comparison. They call the scheduler as the Pool does but without the
// Pool's lock, so the numbers are the algorithm's.

var rrfBenchSizes = []int{8, 128, 1024, 16384}

// rrfBenchPool returns a pool of n reals of weights 1..5 running sched, started over all the
// reals at once (building it by n adds under wrr would cost O(n²) in recounts). For ovf, the
// reals of weight 5 hold 6 active connections, so the pick is one of weight 4.
func rrfBenchPool(b *testing.B, sched string, n int) *Pool {
	b.Helper()
	s := &lb.Service{ServiceKey: rrfKey, Scheduler: "rr"}
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)})
		s.Reals = append(s.Reals, lb.Real{Addr: a, Port: 80, Weight: int32(1 + i%5)})
	}
	p, err := NewPool(s, Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range p.Dests() {
		if d.Weight() == 5 {
			if err := p.SetCounters(d.Addr(), d.Port(), 6, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	rrfSwitch(b, p, sched)
	return p
}

func rrfBench(b *testing.B, sched string, mk func(*Svc) Scheduler) {
	for _, n := range rrfBenchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := rrfBenchPool(b, sched, n)
			sc := p.sched
			if mk != nil {
				sc = mk(&p.svc)
			}
			var f Flow
			for b.Loop() {
				if sc.Schedule(&p.svc, f) == nil {
					b.Fatal("no real")
				}
			}
		})
	}
}

func BenchmarkScheduleRR(b *testing.B)  { rrfBench(b, "rr", nil) }
func BenchmarkScheduleWRR(b *testing.B) { rrfBench(b, "wrr", nil) }
func BenchmarkScheduleFO(b *testing.B)  { rrfBench(b, "fo", nil) }
func BenchmarkScheduleOVF(b *testing.B) { rrfBench(b, "ovf", nil) }

// BenchmarkScheduleOVFScan is ip_vs_ovf.c's scan over the same pools.
func BenchmarkScheduleOVFScan(b *testing.B) {
	rrfBench(b, "ovf", func(*Svc) Scheduler { return ovfOracle{} })
}

// BenchmarkConnOVF is a connection's whole life for ovf through the Pool: the decision, the
// bind (ActiveConn+1) and the close (ActiveConn-1), each counter change updating the index;
// "scan" replaces the indexed scheduler with the kernel-style scan, which keeps no index.
func BenchmarkConnOVF(b *testing.B) {
	for _, kind := range []string{"index", "scan"} {
		for _, n := range rrfBenchSizes {
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				p := rrfBenchPool(b, "ovf", n)
				if kind == "scan" {
					p.sched = ovfOracle{}
				}
				var f Flow
				for b.Loop() {
					d := p.Schedule(f)
					p.Account(d, lb.ClassNone, lb.ClassActive)
					p.Account(d, lb.ClassActive, lb.ClassNone)
				}
			})
		}
	}
}
