package sched

import "cmp"

// foScheduler is the kernel's weighted failover scheduler (net/netfilter/ipvs/ip_vs_fo.c, read
// at Linux 6.1): every new connection goes to the real of highest weight among those without
// OVERLOAD, and of equal weights to the first in list order (the kernel's scan replaces its
// pick only on a strictly greater weight). A weight of 0 is never picked; counters are not read.
//
// The kernel scans the list per connection. Here the usable reals (Dest.Usable) sit in a
// max-heap ordered as the scan would choose, updated when Changed reports an add, delete, edit
// or OVERLOAD change: Schedule is O(1) and Changed O(log n).
type foScheduler struct {
	h weightHeap
}

func newFO(s *Svc) Scheduler {
	f := &foScheduler{}
	for _, d := range s.Dests {
		f.h.track(d, d.Usable(), false)
	}
	return f
}

// Schedule returns the usable real of highest weight, the newest among equals, or nil.
func (f *foScheduler) Schedule(*Svc, Flow) *Dest { return f.h.top() }

// Changed puts d in or out of the heap, or moves it after a weight edit.
func (f *foScheduler) Changed(_ *Svc, op Op, d *Dest) {
	f.h.track(d, op != OpDel && d.Usable(), op == OpUpdate)
}

// weightOrder orders reals as fo and ovf prefer them: higher weight first, then the newer
// (greater Seq, earlier in Svc.Dests). It returns a negative number when a comes first.
func weightOrder(a, b *Dest) int {
	if c := cmp.Compare(b.weight, a.weight); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

// weightHeap is a binary heap of reals whose root is first by weightOrder. A member's index
// in items, plus one, is kept in its Slot; a real is a member only when items holds it at
// that index, so a stale Slot reads as "not a member".
type weightHeap struct {
	items []*Dest
}

// top returns the first real by weightOrder, or nil when the heap is empty.
func (h *weightHeap) top() *Dest {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// has reports whether d is in the heap.
func (h *weightHeap) has(d *Dest) bool {
	i := d.Slot - 1
	return i >= 0 && i < len(h.items) && h.items[i] == d
}

// track makes d a member when in is true and removes it otherwise; rekey says d's weight may
// have changed, so a member must be moved to its new place.
func (h *weightHeap) track(d *Dest, in, rekey bool) {
	switch was := h.has(d); {
	case was && !in:
		h.remove(d.Slot - 1)
	case !was && in:
		h.items = append(h.items, d)
		h.set(len(h.items) - 1)
		h.up(len(h.items) - 1)
	case was && rekey:
		if i := d.Slot - 1; !h.up(i) {
			h.down(i)
		}
	}
}

// remove takes out the member at index i.
func (h *weightHeap) remove(i int) {
	d := h.items[i]
	n := len(h.items) - 1
	if i != n {
		h.items[i] = h.items[n]
		h.set(i)
	}
	h.items[n] = nil
	h.items = h.items[:n]
	d.Slot = 0
	if i < n && !h.up(i) {
		h.down(i)
	}
}

// set records in items[i]'s Slot that it is at index i.
func (h *weightHeap) set(i int) { h.items[i].Slot = i + 1 }

// up moves items[i] towards the root while it comes before its parent; it reports whether
// the item moved.
func (h *weightHeap) up(i int) bool {
	start := i
	for i > 0 {
		p := (i - 1) / 2
		if weightOrder(h.items[i], h.items[p]) >= 0 {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		h.set(i)
		h.set(p)
		i = p
	}
	return i != start
}

// down moves items[i] away from the root while a child comes before it.
func (h *weightHeap) down(i int) {
	n := len(h.items)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && weightOrder(h.items[r], h.items[c]) < 0 {
			c = r
		}
		if weightOrder(h.items[c], h.items[i]) >= 0 {
			return
		}
		h.items[i], h.items[c] = h.items[c], h.items[i]
		h.set(i)
		h.set(c)
		i = c
	}
}

// Interface guards
var _ Scheduler = (*foScheduler)(nil)
