package sched

import (
	"math"
	"testing"
)

// loadScanWLC is the kernel's ip_vs_wlc_schedule as a plain scan (net/netfilter/ipvs/
// ip_vs_wlc.c): the first real without OVERLOAD and with weight above 0, then every later one
// without OVERLOAD replaces it when loh*w_dest > doh*w_least in __s64, the overheads being
// the kernel's int ip_vs_dest_conn_overhead.
func loadScanWLC(s *Svc) *Dest {
	var least *Dest
	var loh int32
	for _, d := range s.Dests {
		if d.overload {
			continue
		}
		doh := int32(d.active)<<8 + d.inactive
		if least == nil {
			if d.weight > 0 {
				least, loh = d, doh
			}
			continue
		}
		if int64(loh)*int64(d.weight) > int64(doh)*int64(least.weight) {
			least, loh = d, doh
		}
	}
	return least
}

func TestWLCTable(t *testing.T) {
	loadRunTable(t, "wlc", loadScanWLC, []loadCase{
		{"idle: first in list", []loadReal{{w: 1}, {w: 2}, {w: 3}}, "rs3"},
		{"weights 1 2 3 one inactive each", []loadReal{{w: 1, i: 1}, {w: 2, i: 1}, {w: 3, i: 1}}, "rs3"},
		{"weights 1 2 3 after 3 conns", []loadReal{{w: 1, i: 1}, {w: 2, i: 1}, {w: 3, i: 2}}, "rs2"},
		{"(256a+i)/w", []loadReal{{w: 1, a: 1}, {w: 2, a: 1, i: 200}, {w: 3, a: 3}}, "rs2"},
		{"tie 1/1 = 2/2: newest", []loadReal{{w: 1, i: 1}, {w: 2, i: 2}, {w: 3, i: 4}}, "rs2"},
		{"weight scales", []loadReal{{w: 1, i: 1}, {w: 100, i: 50}}, "rs2"},
		{"weight 0 excluded though idle", []loadReal{{w: 1, a: 3}, {w: 0}}, "rs1"},
		{"weight 0 first in list", []loadReal{{w: 2, a: 3}, {w: 1, a: 1}, {w: 0}}, "rs2"},
		{"overloaded excluded", []loadReal{{w: 1, a: 3}, {w: 5, over: true}}, "rs1"},
		{"all excluded", []loadReal{{w: 0}, {w: 3, over: true}}, "NONE"},
	})
}

// TestWLCExact checks loads whose cross products overflow int64: overhead near 2^39 (possible
// with 32-bit counters) and weights near 2^31. The kernel's int overhead would have wrapped
// here; we order by the true fraction, so the scan is not consulted.
func TestWLCExact(t *testing.T) {
	const w = math.MaxInt32
	// rs1: L/w, rs2: (L-1)/(w-1), with L = overhead(maxint, maxint) > w, so rs1 is lighter
	rows := []loadReal{{w: w, a: math.MaxInt32, i: math.MaxInt32}, {w: w - 1, a: math.MaxInt32, i: math.MaxInt32 - 1}}
	if got := loadPick(loadPool(t, "wlc", nil, rows...)); got != "rs1" {
		t.Errorf("chose %s, want rs1", got)
	}
	rows[0].i, rows[1].i = math.MaxInt32-1, math.MaxInt32-1 // rs1: (L-1)/w < (L-1)/(w-1)
	if got := loadPick(loadPool(t, "wlc", nil, rows...)); got != "rs1" {
		t.Errorf("chose %s, want rs1", got)
	}
	rows[1].w = w // equal: the newest, rs2
	if got := loadPick(loadPool(t, "wlc", nil, rows...)); got != "rs2" {
		t.Errorf("chose %s, want rs2", got)
	}
}

func TestWLCRandom(t *testing.T) {
	for seed := range uint64(8) {
		loadDrive(t, "wlc", loadScanWLC, seed, 5000)
	}
}
