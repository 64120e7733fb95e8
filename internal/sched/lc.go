package sched

// lc is the kernel's Least-Connection scheduler (net/netfilter/ipvs/ip_vs_lc.c, read in
// torvalds/linux at 2cc2c3cb; its comment says activeconns<<5 but the code has used
// ip_vs_dest_conn_overhead, <<8, for years): among reals with weight above 0 and without
// OVERLOAD, the one with the least ip_vs_dest_conn_overhead (ActiveConn*256 + InActConn,
// include/net/ip_vs.h), the first in list order on a tie (the scan replaces its choice only
// when doh < loh). Weights do not scale the load.
//
// The kernel scans every real; lc keeps them in a loadIndex instead: O(1) per decision,
// O(log n) per change. The kernel computes the overhead in a 32-bit int (and lc compares it
// as unsigned); we compute it in 64 bits, which agrees while every real's overhead stays
// below 2^31 (ActiveConn below 2^23), beyond which the kernel's arithmetic overflows.
type lc struct{ idx *loadIndex }

func newLC(s *Svc) Scheduler { return &lc{newLoadIndex(lcKey, s.Dests)} }

// lcKey orders by the connection overhead alone.
func lcKey(d *Dest) (loadKey, bool) {
	return loadKey{Load: d.Overhead(), Weight: 1}, d.Usable()
}

// Schedule returns the least-connection real, or nil when every real has weight 0 or is
// overloaded.
func (x *lc) Schedule(*Svc, Flow) *Dest { return x.idx.Min() }

// Changed keeps the index current.
func (x *lc) Changed(_ *Svc, op Op, d *Dest) { x.idx.Changed(op, d) }

// Interface guards
var _ Scheduler = (*lc)(nil)
