package sched

import "sort"

// rrScheduler is the kernel's round-robin scheduler (net/netfilter/ipvs/ip_vs_rr.c, read at
// Linux 6.1). It keeps one cursor, the real it chose last, and gives each new connection to
// the first usable real (weight above 0, no OVERLOAD; counters are not read) after the cursor
// in list order, wrapping round to the head at most once.
//
// What the kernel does with the cursor, checked in ip_vs_rr.c:
//   - init_service points it at the list head, so the first pick is the newest real.
//   - schedule moves it only on a hit; with nothing usable it stays where it was.
//   - add_dest is not hooked: a real inserted at the head is reached when the walk wraps.
//   - del_dest of the real under the cursor moves the cursor to the real before it (or the
//     head), through the deleted entry's still-valid next->prev, so the walk resumes with the
//     real that followed the deleted one.
//
// Cost: Schedule is O(1) amortised when most reals are usable (it steps over unusable ones
// one by one, as the kernel does); Changed is O(1), or O(log n) to find the cursor again.
type rrScheduler struct {
	// last is the real chosen last, nil while the cursor is at the list head.
	last *Dest
	// pos is last's index in Svc.Dests, -1 while last is nil.
	pos int
}

func newRR(*Svc) Scheduler { return &rrScheduler{pos: -1} }

// Schedule returns the first usable real after the cursor, wrapping once, and moves the
// cursor to it; it returns nil, cursor unmoved, when no real is usable.
func (r *rrScheduler) Schedule(s *Svc, _ Flow) *Dest {
	r.locate(s)
	for i := r.pos + 1; i < len(s.Dests); i++ {
		if s.Dests[i].Usable() {
			r.setPos(s, i)
			return s.Dests[i]
		}
	}
	// From the head back to the cursor itself; the kernel skips this second pass when the
	// cursor is the head, as the first one already saw every real.
	for i := 0; i <= r.pos; i++ {
		if s.Dests[i].Usable() {
			r.setPos(s, i)
			return s.Dests[i]
		}
	}
	return nil
}

// Changed keeps the cursor's index right: an add shifts it by one, a delete moves the cursor
// off the deleted real as del_dest does. Edits and counters do not concern rr.
func (r *rrScheduler) Changed(s *Svc, op Op, _ *Dest) {
	switch op {
	case OpAdd:
		if r.last != nil {
			r.pos++
		}
	case OpDel:
		r.locate(s)
	}
}

// locate makes pos point at last again. Svc.Dests is in decreasing Seq order, so last is
// found by binary search; when last is no longer listed the cursor goes to the real that
// preceded it (or the head), which is where the kernel's del_dest leaves it.
func (r *rrScheduler) locate(s *Svc) {
	if r.last == nil {
		r.pos = -1
		return
	}
	if r.pos >= 0 && r.pos < len(s.Dests) && s.Dests[r.pos] == r.last {
		return
	}
	seq := r.last.seq
	i := sort.Search(len(s.Dests), func(i int) bool { return s.Dests[i].seq <= seq })
	if i < len(s.Dests) && s.Dests[i] == r.last {
		r.pos = i
		return
	}
	r.setPos(s, i-1)
}

// setPos puts the cursor on s.Dests[i], or on the head for i < 0.
func (r *rrScheduler) setPos(s *Svc, i int) {
	if i < 0 {
		r.pos, r.last = -1, nil
		return
	}
	r.pos, r.last = i, s.Dests[i]
}

// Interface guards
var _ Scheduler = (*rrScheduler)(nil)
