package sched

import "github.com/golvs/golvs/internal/lb"

// Source hashing (sh), as net/netfilter/ipvs/ip_vs_sh.c of Linux 6.1 does it:
//
//   - a table of 256 buckets (CONFIG_IP_VS_SH_TAB_BITS = 8), refilled on add_dest, del_dest
//     and upd_dest by ip_vs_sh_reassign: walking the list in order (newest first), each real
//     takes as many consecutive buckets as its weight ("++d_count >= weight" moves on, so a
//     weight-0 real still takes one bucket), round and round until the 256 are full;
//   - the bucket is (offset + hash_32(port + fold(saddr), 8)) & 255 with offset 0, where port
//     is the client's source port with sh-port (Sched2) for TCP, UDP and SCTP, else 0, and
//     fold as in foldAddr; the sum is taken in 32 bits (ip_vs_sh_hashkey; older kernels
//     multiplied by 2654435761 and masked, the recordings confirm hash_32);
//   - without sh-fallback the bucket's real is refused when weight <= 0 or OVERLOADed
//     (is_unavailable; AVAILABLE is not checked: the table never holds a deleted real);
//   - with sh-fallback (Sched1) an unusable real sends the search round the table: for
//     offset 0..255, roffset = (offset + ihash) % 256 and the bucket is ip_vs_sh_hashkey with
//     that offset, which adds ihash once more: (roffset + ihash) & 255. The first usable real
//     wins; an empty bucket (empty list) ends the search.
//
// Schedule is one hash and one read (up to 256 with fallback when reals are unusable);
// Changed rebuilds the 256 buckets on OpAdd, OpDel and OpUpdate.

const (
	shTabBits = 8
	shTabSize = 1 << shTabBits
	shTabMask = shTabSize - 1
)

// shScheduler holds the 256 buckets.
type shScheduler struct {
	tab [shTabSize]*Dest
}

func newSH(s *Svc) Scheduler {
	h := &shScheduler{}
	h.reassign(s.Dests)
	return h
}

// reassign fills the buckets as ip_vs_sh_reassign does: weight-many consecutive buckets per
// real (at least one), in list order, cyclically.
func (h *shScheduler) reassign(dests []*Dest) {
	if len(dests) == 0 {
		clear(h.tab[:])
		return
	}
	idx, count := 0, int32(0)
	for i := range h.tab {
		d := dests[idx]
		h.tab[i] = d
		count++
		if count >= d.Weight() {
			idx = (idx + 1) % len(dests)
			count = 0
		}
	}
}

// hashPort returns the port sh and mh add to the hash: the client's source port when the
// service asks for it (port flag) and the protocol has ports (ip_vs_sh_get_port and
// ip_vs_mh_get_port take them for TCP, UDP and SCTP only), else 0.
func hashPort(s *Svc, f Flow, portFlag lb.SvcFlags) uint32 {
	if s.Flags&portFlag == 0 {
		return 0
	}
	switch f.Protocol {
	case lb.TCP, lb.UDP, lb.SCTP:
		return uint32(f.Client.Port())
	}
	return 0
}

// shUnusable is sh's (and mh's) is_unavailable: weight <= 0 or OVERLOAD.
func shUnusable(d *Dest) bool { return d.Weight() <= 0 || d.Overloaded() }

// hashPick is what sh and mh do with the entry d of the client's bucket: d when it is
// usable; else, with the fallback flag (Sched1), the first usable entry at(0), at(1), ...
// at(n-1) of the scheduler's search path, stopping at an empty entry; else nil.
func hashPick(s *Svc, d *Dest, n uint32, at func(off uint32) *Dest) *Dest {
	if d == nil {
		return nil
	}
	if !shUnusable(d) {
		return d
	}
	if s.Flags&lb.Sched1 == 0 {
		return nil
	}
	for off := range n {
		d = at(off)
		if d == nil {
			break
		}
		if !shUnusable(d) {
			return d
		}
	}
	return nil
}

// Schedule returns the real of the client's bucket, or with sh-fallback the first usable
// real on the kernel's search path; nil when none.
func (h *shScheduler) Schedule(s *Svc, f Flow) *Dest {
	ihash := hash32(hashPort(s, f, lb.Sched2)+foldAddr(s.Is6, f.Client.Addr()), shTabBits)
	return hashPick(s, h.tab[ihash], shTabSize, func(off uint32) *Dest {
		return h.tab[((off+ihash)%shTabSize+ihash)&shTabMask]
	})
}

// Changed refills the table on add, delete and edit, as the kernel's add_dest, del_dest and
// upd_dest do. Counter changes need nothing: OVERLOAD is read at lookup.
func (h *shScheduler) Changed(s *Svc, op Op, _ *Dest) {
	if op != OpCounters {
		h.reassign(s.Dests)
	}
}

// Interface guards
var _ Scheduler = (*shScheduler)(nil)
