package sched

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Benchmarks of the load-based schedulers (lc, wlc, sed, nq, twos) under an engine's load:
// each op is one decision through the Pool, the bind of the new connection (ActiveConn+1),
// and, once enough connections are open, the close of an older one to TIME_WAIT (active to
// inactive) and the expiry of a still older one (unbind). Every eighth real has an upper
// threshold of 3, so OVERLOAD flips now and then. Each counter change reaches the scheduler
// (OpCounters), so the index variants pay for their upkeep; the Scan variants run the
// kernel-style scan of the _test.go oracles in the same pools and keep nothing.
//
//	go test ./internal/sched -run '^$' -bench 'Schedule(LC|WLC|SED|NQ|TWOS)' -benchtime=200ms

var loadBenchSizes = []int{8, 128, 1024, 16384}

// loadScanSched runs a kernel-style scan as a Scheduler.
type loadScanSched struct{ scan func(*Svc) *Dest }

func (x loadScanSched) Schedule(s *Svc, _ Flow) *Dest { return x.scan(s) }
func (loadScanSched) Changed(*Svc, Op, *Dest)         {}

// loadBenchPool returns a pool of n reals of weights 1..5 under sched.
func loadBenchPool(b *testing.B, sched string, n int) *Pool {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: sched}
	for i := range n {
		r := lb.Real{Addr: netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)}), Port: 80, Weight: int32(1 + i%5)}
		if i%8 == 7 {
			r.UThreshold = 3
		}
		s.Reals = append(s.Reals, r)
	}
	p, err := NewPool(s, Config{Rand: rng.Uint32})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func loadBench(b *testing.B, sched string, scan func(*Svc) *Dest) {
	for _, n := range loadBenchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := loadBenchPool(b, sched, n)
			if scan != nil {
				p.sched = loadScanSched{scan}
			}
			// open connections, oldest first: the older half is in TIME_WAIT (inactive)
			keep := max(16, 2*n)
			ring := make([]*Dest, keep)
			head, open := 0, 0
			var f Flow
			for b.Loop() {
				d := p.Schedule(f)
				if d == nil {
					b.Fatal("no real")
				}
				p.Account(d, lb.ClassNone, lb.ClassActive)
				if open == keep { // expire the oldest
					p.Account(ring[head], lb.ClassInactive, lb.ClassNone)
					open--
				}
				ring[head] = d
				head = (head + 1) % keep
				open++
				if open > keep/2 { // close the one opened keep/2 connections ago
					p.Account(ring[(head+keep/2)%keep], lb.ClassActive, lb.ClassInactive)
				}
			}
		})
	}
}

func BenchmarkScheduleLC(b *testing.B)       { loadBench(b, "lc", nil) }
func BenchmarkScheduleLCScan(b *testing.B)   { loadBench(b, "lc", loadScanLC) }
func BenchmarkScheduleWLC(b *testing.B)      { loadBench(b, "wlc", nil) }
func BenchmarkScheduleWLCScan(b *testing.B)  { loadBench(b, "wlc", loadScanWLC) }
func BenchmarkScheduleSED(b *testing.B)      { loadBench(b, "sed", nil) }
func BenchmarkScheduleSEDScan(b *testing.B)  { loadBench(b, "sed", loadScanSED) }
func BenchmarkScheduleNQ(b *testing.B)       { loadBench(b, "nq", nil) }
func BenchmarkScheduleNQScan(b *testing.B)   { loadBench(b, "nq", loadScanNQ) }
func BenchmarkScheduleTWOS(b *testing.B)     { loadBench(b, "twos", nil) }
func BenchmarkScheduleTWOSScan(b *testing.B) { loadBench(b, "twos", loadScanTWOS) }
