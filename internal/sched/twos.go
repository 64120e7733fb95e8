package sched

import "math"

// twos is the kernel's Power of Twos Choice scheduler (net/netfilter/ipvs/ip_vs_twos.c, read in
// torvalds/linux: the current revision draws with get_random_u32_below; an earlier one,
// 550d14e3, used prandom_u32() % total, which maps the same random numbers differently). Over
// the reals with weight above 0 and without OVERLOAD (the usable ones), with T the sum of
// their weights:
//
//  1. r1 = get_random_u32_below(T+1), then r2 the same: two draws in [0, T], each by
//     Lemire's multiply-and-reject method (drivers/char/random.c), see randBelow.
//  2. Walking the usable reals in list order while subtracting each weight from r1 and r2,
//     choice1 is the first real where r1 drops to 0 or below, choice2 likewise for r2; so a
//     draw of 0 lands on the first usable real and a draw of T on the last.
//  3. choice2 replaces choice1 only when w2*overhead1 > w1*overhead2 (strictly), overhead
//     being ip_vs_dest_conn_overhead (ActiveConn*256 + InActConn).
//
// The kernel does all of this in 32-bit int. We do the same where it matters: the products of
// step 3 wrap in int32 as the kernel's do (they overflow from weight*overhead >= 2^31, e.g.
// weight 100 with 84k active connections, and then compare the wrapped values), and when T+1
// does not fit in an int the kernel's sums wrap too, so we replay its walk in wrapping
// arithmetic (twosWrapped, O(n), only for weights summing past 2^31-2). Otherwise step 2 is a search in a weightTree: O(log n) per decision and per
// change, with exactly the kernel's use of the random numbers.
type twos struct{ tree *weightTree }

func newTWOS(s *Svc) Scheduler { return &twos{newWeightTree(twosWeight, s.Dests)} }

// twosWeight is a real's weight in the draw: its weight when usable, else 0.
func twosWeight(d *Dest) int64 {
	if !d.Usable() {
		return 0
	}
	return int64(d.weight)
}

// Schedule draws two reals by weight with s.Rand and returns the less loaded of the two
// (the first draw on a tie), or nil when no real is usable.
func (x *twos) Schedule(s *Svc, _ Flow) *Dest {
	t := x.tree.Total()
	switch {
	case t == 0:
		return nil
	case t >= math.MaxInt32:
		return twosWrapped(s)
	}
	ceil := uint32(t + 1)
	r1 := int64(randBelow(s.Rand, ceil))
	r2 := int64(randBelow(s.Rand, ceil))
	// a draw of 0 lands on the first usable real, as a draw of 1 does
	d1 := x.tree.Pick(max(r1, 1))
	d2 := x.tree.Pick(max(r2, 1))
	if twosPrefer(d2.weight, overhead32(d1), d1.weight, overhead32(d2)) {
		return d2
	}
	return d1
}

// Changed keeps the weight tree current (counters matter only through OVERLOAD).
func (x *twos) Changed(_ *Svc, op Op, d *Dest) { x.tree.Changed(op, d) }

// twosPrefer is the kernel's final test, w2*oh1 > w1*oh2 in (wrapping) 32-bit int.
func twosPrefer(w2, oh1, w1, oh2 int32) bool { return w2*oh1 > w1*oh2 }

// overhead32 is ip_vs_dest_conn_overhead as the kernel computes it: a 32-bit int that wraps.
func overhead32(d *Dest) int32 { return int32(uint32(d.active)<<8 + uint32(d.inactive)) }

// randBelow is the kernel's __get_random_u32_below(ceil) with rnd for get_random_u32: the
// high half of ceil*rnd(), drawing again while the low half falls below 2^32 mod ceil; for
// ceil 0 it returns rnd() itself.
func randBelow(rnd func() uint32, ceil uint32) uint32 {
	r := rnd()
	if ceil == 0 {
		return r
	}
	m := uint64(ceil) * uint64(r)
	if uint32(m) < ceil {
		bound := -ceil % ceil
		for uint32(m) < bound {
			m = uint64(ceil) * uint64(rnd())
		}
	}
	return uint32(m >> 32)
}

// twosWrapped replays the kernel's walk over s.Dests in wrapping 32-bit arithmetic, for the
// case where the sum of the usable weights (plus 1) overflows an int. O(n).
func twosWrapped(s *Svc) *Dest {
	var total int32
	var c1, c2 *Dest
	for _, d := range s.Dests {
		if d.Usable() {
			total += d.weight
			c1 = d
		}
	}
	if c1 == nil {
		return nil
	}
	total++
	r1 := int32(randBelow(s.Rand, uint32(total)))
	r2 := int32(randBelow(s.Rand, uint32(total)))
	w1, w2 := int32(-1), int32(-1)
	var oh1, oh2 int32
	for _, d := range s.Dests {
		if !d.Usable() {
			continue
		}
		r1 -= d.weight
		r2 -= d.weight
		if r1 <= 0 && w1 == -1 {
			c1, w1, oh1 = d, d.weight, overhead32(d)
		}
		if r2 <= 0 && w2 == -1 {
			c2, w2, oh2 = d, d.weight, overhead32(d)
		}
		if w1 != -1 && w2 != -1 {
			break
		}
	}
	if c2 != nil && twosPrefer(w2, oh1, w1, oh2) {
		return c2
	}
	return c1
}

// Interface guards
var _ Scheduler = (*twos)(nil)
