package conntrack

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// The benchmarks work on a table of benchN entries; run them with -benchtime=200ms. Keys are
// computed, not stored, so that the only large allocation is the table.
const benchN = 1_000_000

var benchVIPs = [4]netip.AddrPort{ap("10.9.0.1:80"), ap("10.9.0.2:80"), ap("10.9.0.3:443"), ap("10.9.0.4:443")}

// benchKey returns the i'th distinct key: 60000 client ports per client address.
func benchKey(i int) Key {
	c := netip.AddrFrom4([4]byte{10, byte(i >> 24), byte(i / 60000 >> 8), byte(i / 60000)})
	return Key{Protocol: lb.TCP, Client: netip.AddrPortFrom(c, uint16(1024+i%60000)), Virtual: benchVIPs[i&3]}
}

func benchDest(i int) Dest {
	return Dest{ID: DestID(i & 15), Addr: ap("10.1.0.11:80"), Forward: lb.Masq}
}

// benchTable returns a table holding keys 0..n-1 in state ESTABLISHED; with spread, the
// clock advances evenly over 900 s while it is filled, so that expiries are spread too.
func benchTable(b *testing.B, n int, spread bool) (*Table, *clock) {
	b.Helper()
	c := &clock{}
	tb, err := New(Config{Now: c.Now})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		r, err := tb.Insert(benchKey(i), benchDest(i), 0)
		if err != nil {
			b.Fatal(err)
		}
		if spread {
			tb.SetState(r, TCPEstablished)
			c.Step(900 * time.Second / time.Duration(n))
		}
	}
	return tb, c
}

// BenchmarkBuild1M fills an empty table with a million connections and reports the memory
// they take, index and wheel included (live heap after GC, before and after).
func BenchmarkBuild1M(b *testing.B) {
	var perEntry float64
	for b.Loop() {
		b.StopTimer()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		tb, _ := benchTable(b, benchN, false)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		perEntry = float64(m1.HeapAlloc-m0.HeapAlloc) / benchN
		runtime.KeepAlive(tb)
		b.StartTimer()
	}
	b.ReportMetric(perEntry, "bytes/entry")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchN), "ns/insert")
}

// BenchmarkInsert inserts new connections into a table of 1M (rebuilt every 1M inserts).
func BenchmarkInsert(b *testing.B) {
	tb, _ := benchTable(b, benchN, false)
	i := benchN
	for b.Loop() {
		if i == 2*benchN {
			b.StopTimer()
			tb, _ = benchTable(b, benchN, false)
			i = benchN
			b.StartTimer()
		}
		if _, err := tb.Insert(benchKey(i), benchDest(i), 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// lcg walks 0..benchN-1 in a scattered order.
func lcg(i int) int { return int((uint64(i)*2654435761 + 12345) % benchN) }

func BenchmarkLookupHit(b *testing.B) {
	tb, _ := benchTable(b, benchN, false)
	i := 0
	for b.Loop() {
		if _, ok := tb.Lookup(benchKey(lcg(i))); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	tb, _ := benchTable(b, benchN, false)
	i := 0
	for b.Loop() {
		if _, ok := tb.Lookup(benchKey(benchN + lcg(i))); ok {
			b.Fatal("hit")
		}
		i++
	}
}

func BenchmarkLookupHitParallel(b *testing.B) {
	tb, _ := benchTable(b, benchN, false)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(time.Now().UnixNano() % benchN)
		for pb.Next() {
			if _, ok := tb.Lookup(benchKey(lcg(i))); !ok {
				b.Error("miss")
				return
			}
			i++
		}
	})
}

// BenchmarkTransition applies a packet (ACK, ESTABLISHED) by Ref to scattered connections.
func BenchmarkTransition(b *testing.B) {
	tb, _ := benchTable(b, benchN, false)
	refs := make([]Ref, 0, benchN)
	for c := range tb.All() {
		refs = append(refs, c.Ref)
	}
	i := 0
	for b.Loop() {
		if _, err := tb.Transition(refs[lcg(i)], Input, ACK); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkExpire steps the clock by one second per Expire call over a table of 1M
// ESTABLISHED connections whose expiries are spread over 900 s (about 1111 due per call),
// refilling it untimed when it runs empty. ns/expired is the time per connection removed.
func BenchmarkExpire(b *testing.B) {
	tb, clk := benchTable(b, benchN, true)
	expired := 0
	for b.Loop() {
		if tb.Len() == 0 {
			b.StopTimer()
			tb, clk = benchTable(b, benchN, true)
			b.StartTimer()
		}
		clk.Step(time.Second)
		expired += tb.Expire(clk.Now())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(expired, 1)), "ns/expired")
}

// BenchmarkExpireIdle calls Expire when nothing is due, on a table of 1M.
func BenchmarkExpireIdle(b *testing.B) {
	tb, clk := benchTable(b, benchN, false)
	for b.Loop() {
		tb.Expire(clk.Now())
	}
}
