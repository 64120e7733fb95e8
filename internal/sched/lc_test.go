package sched

import "testing"

// loadScanLC is the kernel's ip_vs_lc_schedule as a plain scan (net/netfilter/ipvs/ip_vs_lc.c):
// skip OVERLOAD and weight 0, keep the first real with the least overhead, compared as the
// kernel's unsigned int (strict <, so the first in list order wins a tie).
func loadScanLC(s *Svc) *Dest {
	var least *Dest
	var loh uint32
	for _, d := range s.Dests {
		if d.overload || d.weight == 0 {
			continue
		}
		doh := uint32(d.active)<<8 + uint32(d.inactive)
		if least == nil || doh < loh {
			least, loh = d, doh
		}
	}
	return least
}

func TestLCTable(t *testing.T) {
	loadRunTable(t, "lc", loadScanLC, []loadCase{
		{"idle: first in list", []loadReal{{w: 1}, {w: 2}, {w: 3}}, "rs3"},
		{"least overhead", []loadReal{{w: 1, i: 5}, {w: 2, i: 3}, {w: 3, a: 1}}, "rs2"},
		{"weight does not scale", []loadReal{{w: 1, i: 1}, {w: 100, i: 2}}, "rs1"},
		{"tie: newest", []loadReal{{w: 1, i: 2}, {w: 1, i: 2}, {w: 1, i: 3}}, "rs2"},
		{"one active = 256 inactive", []loadReal{{w: 1, a: 1}, {w: 1, i: 256}}, "rs2"},
		{"255 inactive < one active", []loadReal{{w: 1, i: 255}, {w: 1, a: 1}}, "rs1"},
		{"257 inactive > one active", []loadReal{{w: 1, a: 1}, {w: 1, i: 257}}, "rs1"},
		{"weight 0 excluded", []loadReal{{w: 1, a: 9}, {w: 0}}, "rs1"},
		{"overloaded excluded", []loadReal{{w: 1, a: 9}, {w: 1, over: true}}, "rs1"},
		{"all excluded", []loadReal{{w: 0}, {w: 1, over: true}}, "NONE"},
		{"no reals", nil, "NONE"},
	})
}

func TestLCRandom(t *testing.T) {
	for seed := range uint64(8) {
		loadDrive(t, "lc", loadScanLC, seed, 5000)
	}
}
