package sched

import "slices"

// Locality-based least-connection with replication (lblcr), as
// net/netfilter/ipvs/ip_vs_lblcr.c of Linux 6.1 does it. Each destination address maps to a
// set of reals (newest first, the kernel's list_add_rcu at the set's head):
//
//   - hit: lastuse becomes now; dest = the set's least-loaded member (ip_vs_dest_set_min:
//     the first member not OVERLOADed with weight > 0 and AVAILABLE, then later members not
//     OVERLOADed and AVAILABLE that weigh less by wlc's cross-multiplication; first wins
//     ties). Then, when the set has more than one member and now is after
//     lastmod + lblcr_expiration (24 h), its most-loaded member (ip_vs_dest_set_max: first
//     with weight > 0, then later ones with weight > 0 that weigh more; AVAILABLE and
//     OVERLOAD are not looked at) is erased and lastmod becomes now. That may erase dest
//     itself, which is still used below;
//   - dest is used when there is one and it is not overloaded by lblc's rule (is_overloaded);
//     otherwise the service's least-loaded real (wlc's rule, from the locality's index) is used and put at the head
//     of the set unless already in it (lastmod becomes now when it is added). No real: nil;
//   - miss: the least-loaded real, in a new entry whose set is just it; no real: nil.
//
// The table and its garbage collector are lblc's (locTable), with lblcr_expiration for the
// full check; lblcr never replaces entries, so its entry counter does not drift.

// lblcrScheduler is lblcr's state.
type lblcrScheduler struct{ locality }

func newLBLCR(s *Svc) Scheduler {
	l := &lblcrScheduler{}
	l.init(s)
	return l
}

// Schedule returns the least-loaded usable real of the set cached for the flow's
// destination address, growing the set with the service's least-loaded real when the set
// has none that is usable, and shrinking it by its most-loaded member once a day.
func (l *lblcrScheduler) Schedule(s *Svc, f Flow) *Dest {
	now := svcNow(s)
	l.advance(now)
	addr := f.Dest.Addr()
	e := l.index[addr]
	if e == nil {
		d := l.least.Min()
		if d == nil {
			return nil
		}
		l.link(&locEntry{addr: addr, lastuse: now, lastmod: now, set: []*destRef{l.refs.hold(d)}})
		return d
	}
	e.lastuse = now
	d := setMin(e.set)
	if len(e.set) > 1 && now.After(e.lastmod.Add(locExpiration)) {
		if i := setMax(e.set); i >= 0 {
			l.refs.put(e.set[i])
			e.set = slices.Delete(e.set, i, i+1)
			e.lastmod = now
		}
	}
	if d != nil && !l.overloaded(d) {
		return d
	}
	d = l.least.Min()
	if d == nil {
		return nil
	}
	if !slices.ContainsFunc(e.set, func(r *destRef) bool { return r.d == d }) {
		e.set = slices.Insert(e.set, 0, l.refs.hold(d))
		e.lastmod = now
	}
	return d
}

// Changed keeps lblcr's view of the reals' loads and revives sets' members when re-added.
func (l *lblcrScheduler) Changed(_ *Svc, op Op, d *Dest) { l.changed(op, d) }

// setMin is ip_vs_dest_set_min; nil when no member is usable.
func setMin(set []*destRef) *Dest {
	for i, r := range set {
		least := r.d
		if least.Overloaded() || least.Weight() <= 0 || !least.Available() {
			continue
		}
		loh := least.Overhead()
		for _, r := range set[i+1:] {
			d := r.d
			if d.Overloaded() {
				continue
			}
			doh := d.Overhead()
			if loh*int64(d.Weight()) > doh*int64(least.Weight()) && d.Available() {
				least, loh = d, doh
			}
		}
		return least
	}
	return nil
}

// setMax is ip_vs_dest_set_max, returning the member's index; -1 when no member has
// weight > 0.
func setMax(set []*destRef) int {
	for i, r := range set {
		if r.d.Weight() <= 0 {
			continue
		}
		most, moh := i, r.d.Overhead()
		for j := i + 1; j < len(set); j++ {
			d := set[j].d
			doh := d.Overhead()
			if moh*int64(d.Weight()) < doh*int64(set[most].d.Weight()) && d.Weight() > 0 {
				most, moh = j, doh
			}
		}
		return most
	}
	return -1
}

// Interface guards
var _ Scheduler = (*lblcrScheduler)(nil)
