package sched

import "testing"

// loadScanNQ is the kernel's ip_vs_nq_schedule as a plain scan (net/netfilter/ipvs/
// ip_vs_nq.c): skip OVERLOAD and weight 0; return the first real with ActiveConn 0 at once;
// else keep the least (ActiveConn+1)/weight, compared in __s64, strictly.
func loadScanNQ(s *Svc) *Dest {
	var least *Dest
	var loh int32
	for _, d := range s.Dests {
		if d.overload || d.weight == 0 {
			continue
		}
		doh := d.active + 1
		if d.active == 0 {
			return d
		}
		if least == nil || int64(loh)*int64(d.weight) > int64(doh)*int64(least.weight) {
			least, loh = d, doh
		}
	}
	return least
}

func TestNQTable(t *testing.T) {
	loadRunTable(t, "nq", loadScanNQ, []loadCase{
		{"idle beats a better sed load", []loadReal{{w: 1}, {w: 10, a: 1}, {w: 10, a: 1}}, "rs1"},
		{"first idle in list", []loadReal{{w: 3}, {w: 1}, {w: 5, a: 1}}, "rs2"},
		{"inactive does not make busy", []loadReal{{w: 1, i: 50}, {w: 5, a: 1}}, "rs1"},
		{"idle but weight 0", []loadReal{{w: 1, a: 2}, {w: 0}}, "rs1"},
		{"idle but overloaded", []loadReal{{w: 1, a: 2}, {w: 1, over: true}}, "rs1"},
		{"none idle: sed", []loadReal{{w: 1, a: 1}, {w: 3, a: 2}, {w: 2, a: 2}}, "rs2"},
		{"none idle: tie newest", []loadReal{{w: 1, a: 1}, {w: 2, a: 3}, {w: 3, a: 5}}, "rs3"},
		{"all excluded", []loadReal{{w: 0}, {w: 9, over: true}}, "NONE"},
	})
}

func TestNQRandom(t *testing.T) {
	for seed := range uint64(8) {
		loadDrive(t, "nq", loadScanNQ, seed, 5000)
	}
}
