package sched

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// hxBenchReals returns n reals 10.2.x.y:80 with weights 1..4.
func hxBenchReals(n int) []lb.Real {
	reals := make([]lb.Real, n)
	for i := range reals {
		reals[i] = lb.Real{Addr: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Port: 80, Weight: int32(1 + i%4)}
	}
	return reals
}

// hxBenchFlows returns 4096 TCP flows from distinct clients (172.16.x.y, varying ports) to
// 1024 distinct destination addresses (10.3.x.y, the VIPs of a fwmark service).
func hxBenchFlows() []Flow {
	flows := make([]Flow, 4096)
	for i := range flows {
		c := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		d := netip.AddrFrom4([4]byte{10, 3, byte(i >> 8 & 3), byte(i)})
		flows[i] = Flow{Protocol: lb.TCP, Client: netip.AddrPortFrom(c, uint16(1024+i)), Dest: netip.AddrPortFrom(d, 80)}
	}
	return flows
}

// benchHash times Pool.Schedule (lock included) over n reals. The flows are run once before
// timing, so lblc and lblcr are measured on cache hits, their common case.
func benchHash(b *testing.B, sched string) {
	for _, n := range []int{8, 128, 1024, 16384} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := hxPool(b, sched, 0, "10.0.0.100:80", newHXClock(), hxBenchReals(n)...)
			flows := hxBenchFlows()
			for _, f := range flows {
				p.Schedule(f)
			}
			i := 0
			for b.Loop() {
				if p.Schedule(flows[i&4095]) == nil {
					b.Fatal("no real")
				}
				i++
			}
		})
	}
}

func BenchmarkScheduleDH(b *testing.B)    { benchHash(b, "dh") }
func BenchmarkScheduleSH(b *testing.B)    { benchHash(b, "sh") }
func BenchmarkScheduleMH(b *testing.B)    { benchHash(b, "mh") }
func BenchmarkScheduleLBLC(b *testing.B)  { benchHash(b, "lblc") }
func BenchmarkScheduleLBLCR(b *testing.B) { benchHash(b, "lblcr") }

// BenchmarkLeastLoaded times the scan lblc and lblcr run on a cache miss.
func BenchmarkLeastLoaded(b *testing.B) {
	for _, n := range []int{8, 128, 1024, 16384} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dests := make([]*Dest, n)
			for i := range dests {
				dests[i] = &Dest{weight: int32(1 + i%4), active: int32(i % 7), inactive: int32(i % 13), available: true}
			}
			for b.Loop() {
				if leastLoaded(dests) == nil {
					b.Fatal("no real")
				}
			}
		})
	}
}
