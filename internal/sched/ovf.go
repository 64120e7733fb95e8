package sched

// ovfScheduler is the kernel's overflow-connection scheduler (net/netfilter/ipvs/ip_vs_ovf.c,
// read at Linux 6.1): every new connection goes to the real of highest weight among those that
// have no OVERLOAD, a weight above 0 and ActiveConn not above their weight, and of equal weights
// to the first in list order. A real thus takes connections until its ActiveConn exceeds its
// weight: ip_vs_ovf_schedule skips a real when activeconns > weight, so ActiveConn == weight
// still qualifies (the kernel recording sched-ovf.txt, scenario "held", shows rs3 of weight 3
// chosen with 3 active connections, and passed over with 4). InActConn is not read.
//
// The kernel scans the list per connection. Here the qualifying reals sit in a max-heap
// ordered as that scan chooses (the one fo uses), updated when Changed reports an add, delete,
// edit, or a change of counters or OVERLOAD: Schedule is O(1) and Changed O(log n).
type ovfScheduler struct {
	h weightHeap
}

func newOVF(s *Svc) Scheduler {
	o := &ovfScheduler{}
	for _, d := range s.Dests {
		o.h.track(d, ovfQualifies(d), false)
	}
	return o
}

// ovfQualifies reports whether ovf may give d a new connection.
func ovfQualifies(d *Dest) bool {
	return d.weight > 0 && !d.overload && d.active <= d.weight
}

// Schedule returns the qualifying real of highest weight, the newest among equals, or nil.
func (o *ovfScheduler) Schedule(*Svc, Flow) *Dest { return o.h.top() }

// Changed puts d in or out of the heap, or moves it after a weight edit.
func (o *ovfScheduler) Changed(_ *Svc, op Op, d *Dest) {
	o.h.track(d, op != OpDel && ovfQualifies(d), op == OpUpdate)
}

// Interface guards
var _ Scheduler = (*ovfScheduler)(nil)
