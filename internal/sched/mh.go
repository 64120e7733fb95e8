package sched

import (
	"math/bits"

	"github.com/golvs/golvs/internal/lb"
)

// Maglev hashing (mh), as net/netfilter/ipvs/ip_vs_mh.c of Linux 6.1 does it:
//
//   - the lookup table has M = 4093 entries: primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] with the
//     default index 12, and IP_VS_MH_TAB_BITS = 12/2 = 6. Debian's 6.1 kernel has the
//     default: the recordings replay with 4093 and fail with 2039 or 8191;
//   - hashes are hsiphash (SipHash-1-3, low 32 bits, on 64-bit kernels) of the 32-bit value
//     offset + port + fold(addr), read as 4 little-endian bytes, under two fixed keys:
//     hash1 = {2654435761, 2654435761} and hash2 = {2654446892, 2654446892}
//     (generate_hash_secret; no per-boot secret, so every director agrees);
//   - per real, in list order: offset = hash1(port+addr of the real) % M,
//     skip = hash2(...) % (M-1) + 1, and turns = (last_weight/gcd) >> rshift, or 1 when that
//     is 0 but last_weight is not. gcd is over the positive last_weights; rshift is
//     fls(max_last_weight/gcd) - 6 when positive (ip_vs_mh_gcd_weight, _shift_weight);
//   - last_weight is the real's latest non-zero weight (or its weight when added, even 0):
//     __ip_vs_update_dest in ip_vs_ctl.c. So a real set to weight 0 keeps its share of the
//     table and is only refused at lookup; one added with weight 0 gets none;
//   - ip_vs_mh_populate: reals take turns in list order, each claiming `turns` entries in a
//     row, each claim walking its permutation (perm += skip mod M) to the next free entry,
//     until all M are claimed. With no positive last_weight the table is emptied;
//   - ip_vs_mh_reassign refuses (-EINVAL) when there are more than M reals, leaving the
//     previous table in place; the kernel ignores that error, and so do we;
//   - lookup: entry hash1(port + fold(saddr)) % M, port as sh's (mh-port is Sched2); the
//     entry's real is refused when weight <= 0 or OVERLOADed. With mh-fallback (Sched1): for
//     offset 0..M-1, roffset = (offset + ihash) % M and the entry is
//     hash1(roffset + port + fold(saddr)) % M; first usable real wins, an empty entry stops.
//
// Schedule is one siphash and one read (more only with fallback past unusable reals);
// Changed rebuilds the table on OpAdd, OpDel and OpUpdate. The real's last_weight is kept by
// the Pool (Dest.LastWeight), as the kernel keeps it in the dest, so it survives a change of
// scheduler.

const (
	mhTabSize = 4093 // primes[12-8]
	mhTabBits = 12 / 2
)

// The fixed keys of generate_hash_secret: both words of hash1 are mhKey1Word, both of
// hash2 mhKey2Word.
const (
	mhKey1Word = 2654435761
	mhKey2Word = 2654446892
)

// mhScheduler holds the lookup table.
type mhScheduler struct {
	lookup     []*Dest
	key1, key2 sipKey
	// scratch for rebuilds: per-real permutation state and the claimed-entry bitmap
	setup []mhSetup
	taken []uint64
}

// mhSetup is ip_vs_mh_dest_setup: one real's permutation.
type mhSetup struct {
	perm, skip uint32
	turns      int
}

// newMH builds the table over s.Dests.
func newMH(s *Svc) Scheduler {
	h := &mhScheduler{
		lookup: make([]*Dest, mhTabSize),
		key1:   sipKey{mhKey1Word, mhKey1Word},
		key2:   sipKey{mhKey2Word, mhKey2Word},
		taken:  make([]uint64, (mhTabSize+63)/64),
	}
	h.reassign(s)
	return h
}

// mhHash is ip_vs_mh_hashkey: hsiphash of offset + port + fold(addr), in 32 bits.
func mhHash(is6 bool, f Flow, port, offset uint32, k sipKey) uint32 {
	return hsiphash32(offset+port+foldAddr(is6, f.Client.Addr()), k)
}

// lastWeight is the real's last_weight.
func lastWeight(d *Dest) int { return int(d.LastWeight()) }

// reassign rebuilds the lookup table from s.Dests (ip_vs_mh_dest_changed).
func (h *mhScheduler) reassign(s *Svc) {
	dests := s.Dests
	if len(dests) > mhTabSize {
		return // -EINVAL: the old table stays
	}
	g, maxW := 0, 0
	for _, d := range dests {
		if w := lastWeight(d); w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
			maxW = max(maxW, w)
		}
	}
	if g < 1 {
		clear(h.lookup)
		return
	}
	rshift := max(bits.Len(uint(maxW/g))-mhTabBits, 0)
	h.setup = h.setup[:0]
	for _, d := range dests {
		v := uint32(d.Port()) + foldAddr(s.Is6, d.Addr())
		lw := lastWeight(d)
		turns := (lw / g) >> rshift
		if turns == 0 && lw != 0 {
			turns = 1
		}
		h.setup = append(h.setup, mhSetup{
			perm:  hsiphash32(v, h.key1) % mhTabSize,
			skip:  hsiphash32(v, h.key2)%(mhTabSize-1) + 1,
			turns: turns,
		})
	}
	h.populate(dests)
}

// populate is ip_vs_mh_populate: reals claim entries in turn until all are claimed.
func (h *mhScheduler) populate(dests []*Dest) {
	clear(h.taken)
	n, count := 0, 0
	for {
		for i := 0; i < len(dests); {
			ds := &h.setup[i]
			if ds.turns < 1 {
				i++
				continue
			}
			c := ds.perm
			for h.taken[c/64]&(1<<(c%64)) != 0 {
				ds.perm += ds.skip
				if ds.perm >= mhTabSize {
					ds.perm -= mhTabSize
				}
				c = ds.perm
			}
			h.taken[c/64] |= 1 << (c % 64)
			h.lookup[c] = dests[i]
			if n++; n == mhTabSize {
				return
			}
			if count++; count >= ds.turns {
				count = 0
				i++
			}
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Schedule returns the real of the client's entry, or with mh-fallback the first usable real
// on the kernel's search path; nil when none.
func (h *mhScheduler) Schedule(s *Svc, f Flow) *Dest {
	port := hashPort(s, f, lb.Sched2)
	ihash := mhHash(s.Is6, f, port, 0, h.key1) % mhTabSize
	return hashPick(s, h.lookup[ihash], mhTabSize, func(off uint32) *Dest {
		return h.lookup[mhHash(s.Is6, f, port, (off+ihash)%mhTabSize, h.key1)%mhTabSize]
	})
}

// Changed rebuilds the table on add, delete and edit. Counter changes need nothing: OVERLOAD
// is read at lookup.
func (h *mhScheduler) Changed(s *Svc, op Op, _ *Dest) {
	if op == OpAdd || op == OpDel || op == OpUpdate {
		h.reassign(s)
	}
}

// Interface guards
var _ Scheduler = (*mhScheduler)(nil)
