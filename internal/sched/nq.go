package sched

// nq is the kernel's Never Queue scheduler (net/netfilter/ipvs/ip_vs_nq.c, read in
// torvalds/linux, the int loh/doh and __s64 revision): among reals with weight above 0 and
// without OVERLOAD, the first one in list order with ActiveConn == 0 (the scan returns it at
// once); when none is idle, sed's choice: the least (ActiveConn+1)/weight, compared in __s64,
// first in list order on a tie. InActConn is ignored, so a real holding only TIME_WAIT entries
// counts as idle.
//
// nq keeps the reals in one loadIndex whose key puts idle reals in a rank of their own,
// ordered among themselves only by list order (equal load 0/1), ahead of every busy real
// ordered as in sed: Min is then nq's decision. O(1) per decision, O(log n) per change.
type nq struct{ idx *loadIndex }

func newNQ(s *Svc) Scheduler { return &nq{newLoadIndex(nqKey, s.Dests)} }

// nqKey is rank 0 for an idle real, else rank 1 with sed's (ActiveConn+1)/weight.
func nqKey(d *Dest) (loadKey, bool) {
	if d.active == 0 {
		return loadKey{Rank: 0, Load: 0, Weight: 1}, d.Usable()
	}
	return loadKey{Rank: 1, Load: int64(d.active) + 1, Weight: int64(d.weight)}, d.Usable()
}

// Schedule returns the newest idle real, else the one with the shortest expected delay, or
// nil when every real has weight 0 or is overloaded.
func (x *nq) Schedule(*Svc, Flow) *Dest { return x.idx.Min() }

// Changed keeps the index current.
func (x *nq) Changed(_ *Svc, op Op, d *Dest) { x.idx.Changed(op, d) }

// Interface guards
var _ Scheduler = (*nq)(nil)
