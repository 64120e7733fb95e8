package sched

import (
	"cmp"
	"slices"
	"sort"
)

// wrrScheduler is the kernel's weighted round-robin scheduler (net/netfilter/ipvs/ip_vs_wrr.c,
// read at Linux 6.1), decision for decision.
//
// The kernel's algorithm, as read there: the service keeps a cursor (the real chosen last, or
// the list head), a threshold cw, its top value mw and a step di. A decision walks the list
// from the real after the cursor and takes the first real without OVERLOAD whose weight is at
// least cw. Each time the walk passes the end of the list, cw drops by di and the walk goes on
// from the head; when cw would reach 0 or less it starts again at mw. di is the gcd of the
// positive weights (1 when there is none) and mw is the highest weight minus (di - 1), so
// with weights that are multiples of di the passes use cw = mw, mw-di, ..., 1. A decision
// gives up (nil) once every real was tried against cw = 1 (the stop/last_pass/restarted
// bookkeeping of ip_vs_wrr_schedule); with mw = 0 (all weights 0) it gives up at once.
//
// add_dest, del_dest and upd_dest all run ip_vs_wrr_dest_changed, which puts the cursor back
// on the list head and recomputes di and mw, but keeps cw unless it is now above mw or 0 (then
// cw = mw) or di > 1 (then cw is rounded to (cw/di)*di + 1). Reals added one by one thus do not
// start at the top: after "-a w1, -a w2, -a w3" cw is still 1, so the first decisions are
// rs3 rs2 rs1 (cw 1) and only then rs3 | rs3 rs2 | rs3 rs2 rs1 (cw 3, 2, 1), as the kernel
// recording testdata/kernel/sched-wrr.txt shows.
// init_service (a new service, or -E to wrr) starts with cw = mw. Counter and OVERLOAD changes
// are not hooked: an overloaded real is skipped when met, as in the kernel.
//
// Instead of walking every real per pass, the scheduler keeps the pass's candidates, the reals
// with weight >= cw, in list order. When cw drops, the reals whose weight reached the new cw
// are merged in; when cw starts again at mw, the list is the top-weight reals. Over a cycle
// this work equals the number of decisions, so Schedule is O(1) amortised while most reals are
// usable; reals of weight 0 are never visited. Overloaded reals are stepped over one by one,
// as the kernel does, so a pass whose candidates are all overloaded still costs its length.
// Changed is O(n), as the kernel's recount is.
type wrrScheduler struct {
	cw, mw, di int32
	// last is the real chosen last (the kernel's mark->cl), nil for the list head.
	last *Dest
	// byWeight holds the reals of positive weight, by weight descending, then list order.
	byWeight []*Dest
	// pass holds the reals whose weight is at least cw, in list order: the reals of
	// byWeight[:nIn].
	pass []*Dest
	nIn  int
	// next is the index in pass of the first real after last in list order.
	next int
	// spare is scratch space for merging into pass.
	spare []*Dest
}

func newWRR(s *Svc) Scheduler {
	w := &wrrScheduler{}
	for _, d := range s.Dests {
		if d.weight > 0 {
			w.byWeight = append(w.byWeight, d)
		}
	}
	slices.SortFunc(w.byWeight, weightOrder)
	w.recount(s, true)
	return w
}

// Schedule returns the real the kernel's wrr picks for the next connection, or nil.
func (w *wrrScheduler) Schedule(*Svc, Flow) *Dest {
	if w.mw == 0 {
		return nil // no real has weight; the cursor stays
	}
	from := w.last
	var stop *Dest
	lastPass, restarted := false, false
	for i := w.next; ; i = 0 {
		for ; i < len(w.pass); i++ {
			d := w.pass[i]
			if stop != nil && d.seq < stop.seq {
				return w.halt(stop, i) // the kernel's walk would have met stop already
			}
			if !d.overload {
				w.last, w.next = d, i+1
				return d
			}
			if d == stop {
				return w.halt(stop, i+1)
			}
		}
		if stop != nil {
			return w.halt(stop, len(w.pass))
		}
		// End of the list: next threshold, walk again from the head.
		w.cw -= w.di
		if w.cw <= 0 {
			w.cw = w.mw
			w.top()
			if lastPass || from == nil {
				// Every real was tried against the lowest threshold: give up at the head.
				w.last, w.next = nil, 0
				return nil
			}
			restarted = true
		} else {
			w.grow()
		}
		lastPass = w.cw <= w.di
		if lastPass && restarted && from != nil {
			// The lowest threshold again, after a first walk that began past from: this
			// walk ends at from.
			stop = from
		}
	}
}

// halt ends a decision without a real, leaving the cursor on stop, whose successor in the
// pass is at index next.
func (w *wrrScheduler) halt(stop *Dest, next int) *Dest {
	w.last, w.next = stop, next
	return nil
}

// Changed is the kernel's dest_changed for adds, deletes and edits; counters are ignored.
func (w *wrrScheduler) Changed(s *Svc, op Op, d *Dest) {
	switch op {
	case OpCounters:
		return
	case OpDel, OpUpdate:
		if i := slices.Index(w.byWeight, d); i >= 0 {
			w.byWeight = slices.Delete(w.byWeight, i, i+1)
		}
	}
	if op != OpDel && d.weight > 0 {
		i := sort.Search(len(w.byWeight), func(i int) bool { return weightOrder(w.byWeight[i], d) >= 0 })
		w.byWeight = slices.Insert(w.byWeight, i, d)
	}
	w.recount(s, false)
}

// recount recomputes di, mw and cw over s.Dests as init_service (init) or dest_changed does,
// puts the cursor on the head and rebuilds the pass.
func (w *wrrScheduler) recount(s *Svc, init bool) {
	var g, hi int32
	for _, d := range s.Dests {
		if d.weight > 0 {
			g = wrrGCD(g, d.weight)
		}
		hi = max(hi, d.weight)
	}
	w.di = max(g, 1)
	w.mw = hi - (w.di - 1)
	switch {
	case init || w.cw > w.mw || w.cw == 0:
		w.cw = w.mw
	case w.di > 1:
		w.cw = w.cw/w.di*w.di + 1
	}
	w.last, w.next = nil, 0
	w.pass, w.nIn = w.pass[:0], 0
	if w.mw == 0 {
		return
	}
	for _, d := range s.Dests {
		if d.weight > 0 && d.weight >= w.cw {
			w.pass = append(w.pass, d)
		}
	}
	for w.nIn < len(w.byWeight) && w.byWeight[w.nIn].weight >= w.cw {
		w.nIn++
	}
}

// top sets the pass to the reals of weight >= cw after cw started again at mw.
func (w *wrrScheduler) top() {
	n := 0
	for n < len(w.byWeight) && w.byWeight[n].weight >= w.cw {
		n++
	}
	w.pass = append(w.pass[:0], w.byWeight[:n]...)
	w.nIn = n
	// Reals of one weight are already in list order; several weights need sorting.
	slices.SortFunc(w.pass, byListOrder)
}

// grow adds to the pass the reals whose weight reached the lowered cw.
func (w *wrrScheduler) grow() {
	n := w.nIn
	for n < len(w.byWeight) && w.byWeight[n].weight >= w.cw {
		n++
	}
	if n == w.nIn {
		return
	}
	add := w.byWeight[w.nIn:n]
	if !slices.IsSortedFunc(add, byListOrder) {
		add = slices.SortedFunc(slices.Values(add), byListOrder)
	}
	w.spare = wrrMerge(w.spare[:0], w.pass, add)
	w.pass, w.spare = w.spare, w.pass
	w.nIn = n
}

// wrrMerge appends to dst the reals of a and b, both in list order, in list order.
func wrrMerge(dst, a, b []*Dest) []*Dest {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].seq > b[j].seq {
			dst = append(dst, a[i])
			i++
		} else {
			dst = append(dst, b[j])
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// byListOrder orders reals as Svc.Dests does: newest (greatest Seq) first.
func byListOrder(a, b *Dest) int { return cmp.Compare(b.seq, a.seq) }

// wrrGCD returns the greatest common divisor of a and b, and b when a is 0.
func wrrGCD(a, b int32) int32 {
	for a != 0 {
		a, b = b%a, a
	}
	return b
}

// Interface guards
var _ Scheduler = (*wrrScheduler)(nil)
