package sched

// Destination hashing (dh), as net/netfilter/ipvs/ip_vs_dh.c of Linux 6.1 does it:
//
//   - a table of 256 buckets (CONFIG_IP_VS_DH_TAB_BITS = 8), refilled on add_dest and
//     del_dest only (the 6.1 scheduler has no upd_dest: weights do not shape the table);
//   - ip_vs_dh_reassign deals the reals into the buckets one each, in list order (newest
//     first), round and round until the 256 are full; an empty list leaves them empty;
//   - the bucket of a flow is hash_32(fold(daddr), 8), where fold is the address for IPv4
//     and the XOR of its four words for IPv6 (ip_vs_dh_hashkey; the recordings confirm
//     hash_32 rather than the older "*2654435761 & mask", see khash_test.go);
//   - the real in that bucket is refused (NULL, "no destination available") when it is not
//     AVAILABLE, has weight <= 0 or is OVERLOADed. There is no fallback.
//
// Schedule is one hash and one table read; Changed rebuilds the 256 buckets on OpAdd and
// OpDel.

const (
	dhTabBits = 8
	dhTabSize = 1 << dhTabBits
)

// dhScheduler holds the 256 buckets.
type dhScheduler struct {
	tab [dhTabSize]*Dest
}

func newDH(s *Svc) Scheduler {
	h := &dhScheduler{}
	h.reassign(s.Dests)
	return h
}

// reassign deals dests into the buckets one each, cyclically, as ip_vs_dh_reassign does.
func (h *dhScheduler) reassign(dests []*Dest) {
	if len(dests) == 0 {
		clear(h.tab[:])
		return
	}
	for i := range h.tab {
		h.tab[i] = dests[i%len(dests)]
	}
}

// Schedule returns the real in the bucket of the flow's destination address, or nil when
// that real cannot take it. It is O(1).
func (h *dhScheduler) Schedule(s *Svc, f Flow) *Dest {
	d := h.tab[hash32(foldAddr(s.Is6, f.Dest.Addr()), dhTabBits)]
	if d == nil || !d.Available() || d.Weight() <= 0 || d.Overloaded() {
		return nil
	}
	return d
}

// Changed refills the table when a real is added or deleted; edits and counter changes
// do not change it (6.1's dh has no upd_dest).
func (h *dhScheduler) Changed(s *Svc, op Op, _ *Dest) {
	if op == OpAdd || op == OpDel {
		h.reassign(s.Dests)
	}
}

// Interface guards
var _ Scheduler = (*dhScheduler)(nil)
