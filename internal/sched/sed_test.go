package sched

import "testing"

// loadScanSED is the kernel's ip_vs_sed_schedule as a plain scan (net/netfilter/ipvs/
// ip_vs_sed.c): as wlc, with overhead ActiveConn+1 (InActConn ignored).
func loadScanSED(s *Svc) *Dest {
	var least *Dest
	var loh int32
	for _, d := range s.Dests {
		if d.overload {
			continue
		}
		doh := d.active + 1
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

func TestSEDTable(t *testing.T) {
	loadRunTable(t, "sed", loadScanSED, []loadCase{
		{"idle: highest weight", []loadReal{{w: 3}, {w: 2}, {w: 1}}, "rs1"},
		{"(a+1)/w all equal: newest", []loadReal{{w: 1}, {w: 2, a: 1}, {w: 3, a: 2}}, "rs3"},
		{"(a+1)/w", []loadReal{{w: 1}, {w: 2, a: 2}, {w: 3, a: 3}}, "rs1"},
		{"inactive ignored", []loadReal{{w: 1, a: 1}, {w: 3, a: 1, i: 1000}}, "rs2"},
		{"differs from wlc", []loadReal{{w: 1}, {w: 10, a: 1}}, "rs2"},
		{"weight 0 excluded", []loadReal{{w: 1, a: 5}, {w: 0}}, "rs1"},
		{"overloaded excluded", []loadReal{{w: 1, a: 5}, {w: 9, over: true}}, "rs1"},
		{"all excluded", []loadReal{{w: 0}, {w: 9, over: true}}, "NONE"},
	})
}

func TestSEDRandom(t *testing.T) {
	for seed := range uint64(8) {
		loadDrive(t, "sed", loadScanSED, seed, 5000)
	}
}
