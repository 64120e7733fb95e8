package sched

// leastLoaded returns the real with the least weighted load among dests, the pick of
// __ip_vs_lblc_schedule and __ip_vs_lblcr_schedule (net/netfilter/ipvs/ip_vs_lblc.c,
// ip_vs_lblcr.c), which is wlc's scan (ip_vs_wlc.c):
//
//   - the first real in list order that is not OVERLOADed and has weight > 0 starts as the
//     least, with overhead loh = ActiveConn*256 + InActConn (ip_vs_dest_conn_overhead);
//   - each later real that is not OVERLOADed replaces it when loh*its weight > its
//     overhead*least's weight, in 64 bits. A weight-0 real never does (0 > x*w is false for
//     x >= 0), and ties keep the earlier real: the first in list order wins.
//
// It returns nil when every real is overloaded or has weight <= 0. It is O(len(dests)): the
// schedulers use the locality's load index instead; this scan is the tests' oracle.
func leastLoaded(dests []*Dest) *Dest {
	var least *Dest
	var loh int64
	for i, d := range dests {
		if d.Overloaded() || d.Weight() <= 0 {
			continue
		}
		least, loh = d, d.Overhead()
		for _, d := range dests[i+1:] {
			if d.Overloaded() {
				continue
			}
			doh := d.Overhead()
			if fracCmp(loh, int64(least.Weight()), doh, int64(d.Weight())) > 0 {
				least, loh = d, doh
			}
		}
		break
	}
	return least
}
