package sched

// wlc is the kernel's Weighted Least-Connection scheduler (net/netfilter/ipvs/ip_vs_wlc.c, read
// in torvalds/linux, the revision with int loh/doh and __s64 products): among reals with weight
// above 0 and without OVERLOAD, the one with the least overhead/weight, overhead =
// ActiveConn*256 + InActConn (ip_vs_dest_conn_overhead, include/net/ip_vs.h), compared without
// division as loh*w_dest > doh*w_least in __s64; the first in list order wins a tie (strict >).
//
// The kernel's second pass skips only OVERLOAD, not weight 0, but a weight-0 real can win it
// only with a negative overhead, which non-negative counters never give; so the index
// excludes weight 0 outright. It keeps the reals in a loadIndex: O(1) per decision, O(log n)
// per change, comparisons exact in 128 bits. The kernel's overhead is a 32-bit int; ours is
// 64-bit, which agrees while every real's overhead stays below 2^31 (ActiveConn below 2^23).
type wlc struct{ idx *loadIndex }

func newWLC(s *Svc) Scheduler { return &wlc{newLoadIndex(wlcKey, s.Dests)} }

// wlcKey is overhead/weight. lblc and lblcr pick their least-loaded real by the same key.
func wlcKey(d *Dest) (loadKey, bool) {
	return loadKey{Load: d.Overhead(), Weight: int64(d.weight)}, d.Usable()
}

// Schedule returns the real with the least weighted overhead, or nil when every real has
// weight 0 or is overloaded.
func (x *wlc) Schedule(*Svc, Flow) *Dest { return x.idx.Min() }

// Changed keeps the index current.
func (x *wlc) Changed(_ *Svc, op Op, d *Dest) { x.idx.Changed(op, d) }

// Interface guards
var _ Scheduler = (*wlc)(nil)
