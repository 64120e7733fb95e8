package sched

import (
	"cmp"
	"math/bits"
	"slices"
)

// This file holds the two O(log n) structures of the load-based schedulers. The kernel scans
// svc->destinations on every decision; these keep the answer of that scan up to date as the
// Pool reports changes, so a decision costs O(1) or O(log n) and a change O(log n).
//
//   - loadIndex: an indexed binary min-heap of reals ordered by a loadKey (a rank, then the
//     exact fraction Load/Weight, then newest first). lc, wlc, sed and nq each keep one;
//     it also answers lblc's and lblcr's "least loaded real of the service".
//   - weightTree: a Fenwick tree of weights over the reals in list order, answering "the
//     first real in list order at which the running sum of weights reaches r", the walk of
//     twos.
//
// Both keep their position of a real in Dest.Slot (position+1; 0 means "not held"), so a
// service can have only one of them, owned by its one scheduler.

// loadKey places a real in a loadIndex. Reals order by Rank (smaller first), then by the
// fraction Load/Weight (smaller first, compared exactly by cross-multiplying in 128 bits, so
// any int64 Load and positive int64 Weight are safe), then by list order: among equal keys the
// newest real (greatest Seq, first in Svc.Dests) comes first, which is the kernel's tie-break
// (its scans replace the current choice only on a strictly smaller load).
type loadKey struct {
	// Rank splits reals into classes tried in order (nq puts idle reals in rank 0).
	Rank uint8
	// Load is the numerator: the scheduler's load measure (wlc: ActiveConn*256+InActConn).
	Load int64
	// Weight is the denominator; it must be above 0 (use 1 for an unweighted measure).
	Weight int64
}

// keyFunc returns the key of real d, or ok=false when d must not be chosen at all (for the
// kernel's load schedulers: weight 0 or OVERLOAD). It reads only d.
type keyFunc func(d *Dest) (k loadKey, ok bool)

// fracCmp compares a/wa with b/wb exactly for wa, wb > 0: it returns -1, 0 or +1 as
// a*wb is less than, equal to or greater than b*wa, computed in 128 bits (each product of
// an int64 and a positive int64 fits in 127 bits plus sign).
func fracCmp(a, wa, b, wb int64) int {
	switch {
	case a < 0 && b >= 0:
		return -1
	case a >= 0 && b < 0:
		return 1
	case a < 0: // both negative: compare magnitudes the other way round
		return magCmp(uint64(-b), uint64(wa), uint64(-a), uint64(wb))
	}
	return magCmp(uint64(a), uint64(wb), uint64(b), uint64(wa))
}

// magCmp compares the unsigned 128-bit products x*y and u*v.
func magCmp(x, y, u, v uint64) int {
	h1, l1 := bits.Mul64(x, y)
	h2, l2 := bits.Mul64(u, v)
	switch {
	case h1 < h2 || h1 == h2 && l1 < l2:
		return -1
	case h1 == h2 && l1 == l2:
		return 0
	}
	return 1
}

// loadEntry is one heap element: the real and its cached key (comparisons then touch only
// the heap's own memory).
type loadEntry struct {
	key loadKey
	seq uint64
	d   *Dest
}

// before reports whether e orders strictly before f.
func (e *loadEntry) before(f *loadEntry) bool {
	if e.key.Rank != f.key.Rank {
		return e.key.Rank < f.key.Rank
	}
	if e.key.Weight == f.key.Weight {
		if e.key.Load != f.key.Load {
			return e.key.Load < f.key.Load
		}
	} else if c := fracCmp(e.key.Load, e.key.Weight, f.key.Load, f.key.Weight); c != 0 {
		return c < 0
	}
	return e.seq > f.seq
}

// loadIndex keeps the reals of one service for which its keyFunc says ok, in a binary
// min-heap under the loadKey order, so that Min is the kernel's least-loaded choice. It
// stores each real's heap position in Dest.Slot. It is not safe for concurrent use (the
// Pool's lock covers it).
//
// Up to loadFlatMax reals the entries are kept unordered instead and Min compares them all:
// at that size a pass over the cached keys costs less than keeping a heap through every
// counter change. The index turns into a heap above loadFlatMax reals, and flat again at
// loadFlatMax/2 or fewer.
type loadIndex struct {
	key  keyFunc
	heap []loadEntry
	flat bool // heap holds no order; Min scans it
}

// loadFlatMax is the most reals an index keeps unordered.
const loadFlatMax = 16

// newLoadIndex returns an index over dests (in any order) under key, built in O(n).
func newLoadIndex(key keyFunc, dests []*Dest) *loadIndex {
	x := &loadIndex{key: key, heap: make([]loadEntry, 0, len(dests))}
	for _, d := range dests {
		d.Slot = 0
		if k, ok := key(d); ok {
			x.heap = append(x.heap, loadEntry{k, d.seq, d})
		}
	}
	for i := range x.heap {
		x.heap[i].d.Slot = i + 1
	}
	x.flat = true
	x.order()
	return x
}

// order turns a flat index that outgrew loadFlatMax into a heap, in O(n).
func (x *loadIndex) order() {
	if !x.flat || len(x.heap) <= loadFlatMax {
		return
	}
	x.flat = false
	for i := len(x.heap)/2 - 1; i >= 0; i-- {
		x.down(i)
	}
}

// Len returns how many reals the index holds.
func (x *loadIndex) Len() int { return len(x.heap) }

// Min returns the first real in the index order (the least loaded, newest among equals),
// or nil when the index is empty. O(1), or O(loadFlatMax) while flat.
func (x *loadIndex) Min() *Dest {
	if len(x.heap) == 0 {
		return nil
	}
	m := 0
	if x.flat {
		for i := 1; i < len(x.heap); i++ {
			if x.heap[i].before(&x.heap[m]) {
				m = i
			}
		}
	}
	return x.heap[m].d
}

// Changed applies a Pool notification: OpDel removes d, every other op re-reads d's key.
func (x *loadIndex) Changed(op Op, d *Dest) {
	if op == OpDel {
		x.Remove(d)
		return
	}
	x.Update(d)
}

// Update re-reads d's key and inserts, moves or removes d accordingly. O(log n).
func (x *loadIndex) Update(d *Dest) {
	k, ok := x.key(d)
	i, in := x.pos(d)
	switch {
	case !ok:
		x.Remove(d)
	case !in:
		d.Slot = len(x.heap) + 1
		x.heap = append(x.heap, loadEntry{k, d.seq, d})
		if x.flat {
			x.order()
		} else {
			x.up(len(x.heap) - 1)
		}
	case x.heap[i].key != k || x.heap[i].seq != d.seq:
		old := x.heap[i]
		x.heap[i].key, x.heap[i].seq = k, d.seq
		if x.flat {
			return
		}
		if x.heap[i].before(&old) {
			x.up(i)
		} else {
			x.down(i)
		}
	}
}

// pos returns d's heap position and whether d is held (a stale Slot reads as not held).
func (x *loadIndex) pos(d *Dest) (int, bool) {
	i := d.Slot - 1
	return i, i >= 0 && i < len(x.heap) && x.heap[i].d == d
}

// Remove takes d out of the index if it is there. O(log n).
func (x *loadIndex) Remove(d *Dest) {
	i, in := x.pos(d)
	if !in {
		return
	}
	d.Slot = 0
	last := len(x.heap) - 1
	if i != last {
		x.heap[i] = x.heap[last]
		x.heap[i].d.Slot = i + 1
	}
	x.heap[last] = loadEntry{}
	x.heap = x.heap[:last]
	if !x.flat && len(x.heap) <= loadFlatMax/2 {
		x.flat = true // a heap is a valid unordered array
	}
	if !x.flat && i != last && !x.up(i) {
		x.down(i)
	}
}

// up moves element i towards the root while it orders before its parent; it reports
// whether it moved.
func (x *loadIndex) up(i int) bool {
	h := x.heap
	if i == 0 || !h[i].before(&h[(i-1)/2]) {
		return false
	}
	e := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		h[i].d.Slot = i + 1
		i = p
	}
	h[i] = e
	e.d.Slot = i + 1
	return true
}

// down moves element i towards the leaves while a child orders before it.
func (x *loadIndex) down(i int) {
	h := x.heap
	c := x.minChild(i)
	if c < 0 || !h[c].before(&h[i]) {
		return
	}
	e := h[i]
	for c >= 0 && h[c].before(&e) {
		h[i] = h[c]
		h[i].d.Slot = i + 1
		i = c
		c = x.minChild(i)
	}
	h[i] = e
	e.d.Slot = i + 1
}

// minChild returns the child of i that orders first, or -1 for a leaf.
func (x *loadIndex) minChild(i int) int {
	h := x.heap
	c := 2*i + 1
	if c >= len(h) {
		return -1
	}
	if r := c + 1; r < len(h) && h[r].before(&h[c]) {
		return r
	}
	return c
}

// weightTree holds a non-negative weight for each real of a service at a position that
// follows insertion order (Seq), so that the kernel's list order is descending position. A
// Fenwick tree over the positions answers prefix sums and the weighted walk in O(log n).
// Deleted reals leave a free position; the tree is rebuilt (compacted, or doubled) when it
// runs out of positions, O(1) amortised per add. Positions are kept in Dest.Slot. It is not
// safe for concurrent use (the Pool's lock covers it).
type weightTree struct {
	weight func(*Dest) int64 // the weight of a real: 0 or more
	fen    []int64           // Fenwick tree, 1-based: fen[i] sums positions (i-lowbit(i), i]
	val    []int64           // weight at each position
	dest   []*Dest           // real at each position; nil when free
	next   int               // first never-used position
	live   int               // reals held
	top    uint64            // greatest Seq ever placed
	total  int64             // sum of all weights
}

// newWeightTree returns a tree over dests (in any order) with weights weight(d), built in
// O(n log n).
func newWeightTree(weight func(*Dest) int64, dests []*Dest) *weightTree {
	t := &weightTree{weight: weight}
	t.rebuild(slices.Clone(dests))
	return t
}

// rebuild lays the held reals out oldest first (ascending Seq) at positions 0..n-1 in a
// capacity of at least twice n, and recomputes every weight and the Fenwick tree.
func (t *weightTree) rebuild(held []*Dest) {
	slices.SortFunc(held, func(a, b *Dest) int { return cmp.Compare(a.seq, b.seq) })
	size := 16
	for size < 2*len(held) {
		size *= 2
	}
	t.fen = make([]int64, size+1)
	t.val = make([]int64, size)
	t.dest = make([]*Dest, size)
	t.next, t.live, t.total, t.top = len(held), len(held), 0, 0
	for i, d := range held {
		v := t.weight(d)
		t.val[i], t.dest[i], d.Slot = v, d, i+1
		t.fen[i+1] = v
		t.total += v
		t.top = max(t.top, d.seq)
	}
	for i := 1; i <= size; i++ { // O(n) Fenwick construction
		if j := i + i&-i; j <= size {
			t.fen[j] += t.fen[i]
		}
	}
}

// held reports whether d has a position, and returns it.
func (t *weightTree) held(d *Dest) (int, bool) {
	i := d.Slot - 1
	return i, i >= 0 && i < t.next && t.dest[i] == d
}

// Total returns the sum of all weights.
func (t *weightTree) Total() int64 { return t.total }

// Changed applies a Pool notification: OpDel removes d, OpAdd places it at the head of the
// list order, every other op re-reads its weight.
func (t *weightTree) Changed(op Op, d *Dest) {
	switch op {
	case OpDel:
		t.Remove(d)
	case OpAdd:
		t.Add(d)
	default:
		t.Update(d)
	}
}

// Add places d at the head of the list order (newest). The Pool adds reals in ascending
// Seq; a real older than one already placed makes the tree rebuild, to keep the order exact.
// O(log n) amortised.
func (t *weightTree) Add(d *Dest) {
	if _, ok := t.held(d); ok {
		t.Update(d)
		return
	}
	if t.next == len(t.val) || d.seq <= t.top {
		held := make([]*Dest, 0, t.live+1)
		for _, h := range t.dest[:t.next] {
			if h != nil {
				held = append(held, h)
			}
		}
		t.rebuild(append(held, d))
		return
	}
	i := t.next
	t.next++
	t.live++
	t.top = d.seq
	t.dest[i], d.Slot = d, i+1
	t.set(i, t.weight(d))
}

// Update re-reads d's weight. O(log n). It does nothing when d is not held.
func (t *weightTree) Update(d *Dest) {
	if i, ok := t.held(d); ok {
		t.set(i, t.weight(d))
	}
}

func (t *weightTree) set(i int, v int64) {
	delta := v - t.val[i]
	if delta == 0 {
		return
	}
	t.val[i] = v
	t.total += delta
	for j := i + 1; j < len(t.fen); j += j & -j {
		t.fen[j] += delta
	}
}

// Remove frees d's position. O(log n).
func (t *weightTree) Remove(d *Dest) {
	i, ok := t.held(d)
	if !ok {
		return
	}
	t.set(i, 0)
	t.dest[i] = nil
	d.Slot = 0
	t.live--
}

// Pick walks the reals in list order (newest first) summing weights and returns the first
// real at which the sum reaches r, for 1 <= r <= Total(); it returns nil otherwise. That
// real has a weight above 0. O(log n).
//
// With P(k) the sum of positions [0,k), the sum from the newest real down to position i is
// Total-P(i); the first real in list order where it reaches r is the highest position i
// with P(i) <= Total-r, which the Fenwick descent finds (positions with weight 0 never
// end the descent, since P does not grow across them).
func (t *weightTree) Pick(r int64) *Dest {
	if r < 1 || r > t.total {
		return nil
	}
	rem := t.total - r
	pos := 0
	for step := len(t.fen) - 1; step > 0; step >>= 1 {
		if j := pos + step; j < len(t.fen) && t.fen[j] <= rem {
			pos = j
			rem -= t.fen[j]
		}
	}
	return t.dest[pos]
}
