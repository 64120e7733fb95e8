package sched

// sed is the kernel's Shortest Expected Delay scheduler (net/netfilter/ipvs/ip_vs_sed.c, read
// in torvalds/linux: the int loh/doh and __s64 revision that kernels since 3.x run; the
// original used unsigned int products that overflowed): among reals with weight above 0 and
// without OVERLOAD, the one with the least (ActiveConn+1)/weight, compared as loh*w_dest >
// doh*w_least in __s64; the first in list order wins a tie. InActConn is ignored
// (ip_vs_sed_dest_overhead counts only active connections). As in wlc, the kernel's second pass
// does not skip weight 0, but such a real can never win it (its product is 0 and ActiveConn+1
// is positive).
//
// sed keeps the reals in a loadIndex: O(1) per decision, O(log n) per change.
type sed struct{ idx *loadIndex }

func newSED(s *Svc) Scheduler { return &sed{newLoadIndex(sedKey, s.Dests)} }

// sedKey is (ActiveConn+1)/weight.
func sedKey(d *Dest) (loadKey, bool) {
	return loadKey{Load: int64(d.active) + 1, Weight: int64(d.weight)}, d.Usable()
}

// Schedule returns the real with the shortest expected delay, or nil when every real has
// weight 0 or is overloaded.
func (x *sed) Schedule(*Svc, Flow) *Dest { return x.idx.Min() }

// Changed keeps the index current.
func (x *sed) Changed(_ *Svc, op Op, d *Dest) { x.idx.Changed(op, d) }

// Interface guards
var _ Scheduler = (*sed)(nil)
