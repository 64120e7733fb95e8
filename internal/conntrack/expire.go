package conntrack

import "time"

// Expire removes the entries whose time has come by now and returns how many it removed. The
// engine calls it periodically (every second suits: expiry is exact to the call, and a call
// with nothing due only looks at one wheel bucket per shard). It follows the kernel's
// ip_vs_conn_expire:
//
//   - a connection is unbound from its real (the Accountant sees its class→ClassNone) and
//     unlinked from its template, which lives on to its own timeout;
//   - a template with linked connections is not removed: its timeout becomes 60 s and its
//     timer restarts (expire_later);
//   - any other template is unbound (ClassPersist→ClassNone).
//
// now is normally the table's clock (Config.Now) read by the caller; if it goes backwards,
// nothing is due until it catches up. Call Expire at least every few days: time inside the
// table wraps after 388 days. Expire locks one shard at a time; forwarding goroutines using
// other shards go on meanwhile.
func (t *Table) Expire(now time.Time) int {
	nt := t.tick(now)
	removed := 0
	var ns []notice
	var held []int
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		before := s.count
		if t.expireShard(s, nt, &ns) {
			held = append(held, si)
		}
		removed += before - s.count
		s.mu.Unlock()
		if len(ns) > 0 {
			removed += t.apply(ns)
			ns = ns[:0]
		}
	}
	// Templates that came due with connections linked were held back until every connection
	// due by now was gone, as the kernel's timers would have fired in time order; now those
	// that still have connections are deferred, the others removed.
	for _, si := range held {
		s := &t.shards[si]
		s.mu.Lock()
		before := s.count
		t.expireBucket(s, nt>>slotShift, nt, true, &ns)
		removed += before - s.count
		s.mu.Unlock()
		if len(ns) > 0 {
			removed += t.apply(ns)
			ns = ns[:0]
		}
	}
	return removed
}

// expireShard processes the wheel buckets of s from its cursor up to the slot of tick now.
// It reports whether it held back a template (see expireBucket).
func (t *Table) expireShard(s *shard, now uint32, ns *[]notice) bool {
	nowSlot := now >> slotShift
	if slotAfter(s.cursor, nowSlot) {
		return false // the clock went back
	}
	start := s.cursor
	if (nowSlot-start)&slotMask >= wheelSize {
		start = (nowSlot - wheelSize + 1) & slotMask // each bucket once is enough
	}
	s.cursor = nowSlot
	held := false
	for slot := start; ; slot = (slot + 1) & slotMask {
		held = t.expireBucket(s, slot, now, false, ns) || held
		if slot == nowSlot {
			return held
		}
	}
}

// expireBucket detaches the bucket of slot and, for each entry in it, removes it when due
// or puts it in the bucket of its expiry otherwise. A due template with connections is
// deferred by 60 s when final is set; otherwise it is put back, still due, in the bucket of
// now, and expireBucket reports true.
func (t *Table) expireBucket(s *shard, slot, now uint32, final bool, ns *[]notice) bool {
	held := false
	b := &s.wheel[slot&wheelMask]
	next := *b
	*b = 0
	for next != 0 {
		i := next - 1
		e := s.at(i)
		next = e.qnext
		e.qprev, e.qnext = 0, 0
		switch {
		case int32(e.expires-now) > 0:
			s.link(i, e, e.expires>>slotShift)
		case e.flags&fTemplate != 0 && e.link > 0 && !final:
			s.link(i, e, now>>slotShift)
			held = true
		case e.flags&fTemplate != 0 && e.link > 0:
			e.timeout = laterTicks
			e.expires = now + laterTicks
			s.link(i, e, e.expires>>slotShift)
		default:
			t.remove(s, i, e, false, noticeRelease, ns)
		}
	}
	return held
}
