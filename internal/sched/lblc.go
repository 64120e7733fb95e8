package sched

import (
	"net/netip"
	"time"
)

// Locality-based least-connection (lblc), as net/netfilter/ipvs/ip_vs_lblc.c of Linux 6.1
// does it. A table maps each destination address (the VIP the client used, which for a
// fwmark service may be any marked address) to the real last chosen for it:
//
//   - hit: the entry's lastuse becomes now; its real is kept when AVAILABLE (not deleted),
//     weight > 0 and not "overloaded" by lblc's own rule (is_overloaded: ActiveConn > weight
//     while some real of the service has ActiveConn*2 < weight; OVERLOAD is not looked at);
//   - otherwise the least-loaded real is picked (wlc's rule, from the locality's index) and the entry is
//     made to point at it: ip_vs_lblc_new keeps an entry already on that real, else unlinks
//     the old entry and hashes a new one, incrementing the table's entry counter without
//     decrementing it for the old one (so the counter drifts above the real count);
//   - no real: nil. The table is not touched.
//
// The table (shared with lblcr, see locTable) has 1024 buckets (CONFIG_IP_VS_LBLC_TAB_BITS
// = 10) indexed by hash_32(fold(daddr), 10), and a timer every 60 s from the service's
// creation: every 30th run (counter % 30 == 0, counter starting at 1) is a full check that
// frees entries unused for lblc_expiration (24 h by default); the others, only while the
// entry counter exceeds 16384 (1024*16), free entries unused for 6 min, bucket by bucket
// from a rover, until (entries-16384)*4/3 (at most 8192) are gone; those runs leave the
// counter alone, so no full check happens while the table is over its size.
//
// GoLVS runs the missed timer ticks, at their exact times, when Schedule next runs: the
// table changes only by schedule and timer, so the decisions are the same.
//
// An entry holds a reference on its real, which in the kernel keeps a deleted real in the
// dest trash; re-adding the same address:port revives that real and the entry with it. The
// Pool drops a deleted real without connections, so entries hold a destRef that OpAdd
// repoints at the re-added real.

// Table constants of lblc and lblcr (ip_vs_lblc.c and ip_vs_lblcr.c define the same values).
// The expiration is the sysctl's default; GoLVS has no such knob.
const (
	locTabBits        = 10
	locTabSize        = 1 << locTabBits
	locTabMask        = locTabSize - 1
	locMaxSize        = locTabSize * 16
	locCheckInterval  = 60 * time.Second
	locEntryTimeout   = 6 * time.Minute
	locExpiration     = 24 * time.Hour // net.ipv4.vs.lblc_expiration, lblcr_expiration
	locFullCheckEvery = 30
)

// lblcScheduler is lblc's state.
type lblcScheduler struct{ locality }

func newLBLC(s *Svc) Scheduler {
	l := &lblcScheduler{}
	l.init(s)
	return l
}

// Schedule returns the real cached for the flow's destination address when still good,
// else the least-loaded real (cached from then on), else nil.
func (l *lblcScheduler) Schedule(s *Svc, f Flow) *Dest {
	now := svcNow(s)
	l.advance(now)
	addr := f.Dest.Addr()
	e := l.index[addr]
	if e != nil {
		e.lastuse = now
		if d := e.dest.d; d.Available() && d.Weight() > 0 && !l.overloaded(d) {
			return d
		}
	}
	d := l.least.Min()
	if d == nil {
		return nil
	}
	if e != nil {
		if e.dest.d == d {
			return d
		}
		l.unlink(e) // the kernel's entry counter is not decremented here
	}
	l.link(&locEntry{addr: addr, lastuse: now, dest: l.refs.hold(d)})
	return d
}

// Changed keeps lblc's view of the reals' loads and revives entries of re-added reals.
func (l *lblcScheduler) Changed(_ *Svc, op Op, d *Dest) { l.changed(op, d) }

// locality is what lblc and lblcr share: the table of entries and the per-real bookkeeping.
type locality struct {
	locTable
	refs destRefs
	// light holds the reals with ActiveConn*2 < weight, so that is_overloaded's "is there a
	// lightly loaded real" scan is a length test.
	light map[*Dest]struct{}
	// least indexes the service's reals by wlc's measure: the kernel's "least loaded" scan
	// of __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule is wlc's, so its pick is least.Min()
	// in O(1), kept current in O(log n) per change.
	least *loadIndex
}

func (l *locality) init(s *Svc) {
	l.locTable.init(s.Is6, svcNow(s))
	l.refs = destRefs{}
	l.light = make(map[*Dest]struct{}, len(s.Dests))
	for _, d := range s.Dests {
		l.weigh(d)
	}
	l.least = newLoadIndex(wlcKey, s.Dests)
	l.locTable.release = l.release
}

// overloaded is lblc's and lblcr's is_overloaded: d's ActiveConn exceeds its weight and some
// real has ActiveConn*2 < weight.
func (l *locality) overloaded(d *Dest) bool {
	return d.Active() > d.Weight() && len(l.light) > 0
}

func (l *locality) weigh(d *Dest) {
	if int64(d.Active())*2 < int64(d.Weight()) {
		l.light[d] = struct{}{}
	} else {
		delete(l.light, d)
	}
}

func (l *locality) changed(op Op, d *Dest) {
	l.least.Changed(op, d)
	switch op {
	case OpAdd:
		l.refs.revive(d)
		l.weigh(d)
	case OpUpdate, OpCounters:
		l.weigh(d)
	case OpDel:
		delete(l.light, d)
	}
}

// release drops the references an entry holds.
func (l *locality) release(e *locEntry) {
	if e.dest != nil {
		l.refs.put(e.dest)
	}
	for _, r := range e.set {
		l.refs.put(r)
	}
}

// unlink removes e from the table and drops its references; the entry counter is the
// caller's business.
func (l *locality) unlink(e *locEntry) {
	l.remove(e)
	l.release(e)
}

// svcNow reads the service's clock, or the wall clock when it has none.
func svcNow(s *Svc) time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// destRef is a counted reference from table entries to a real, by address:port, standing
// for the kernel's ip_vs_dest_hold on the struct.
type destRef struct {
	d *Dest
	n int
}

// destRefs indexes the held references by the real's address and port.
type destRefs map[netip.AddrPort]*destRef

// hold returns a reference to d, counting one more holder.
func (m destRefs) hold(d *Dest) *destRef {
	r := m[d.AddrPort()]
	if r == nil {
		r = &destRef{}
		m[d.AddrPort()] = r
	}
	r.d = d
	r.n++
	return r
}

// put drops one holder, forgetting the reference with the last.
func (m destRefs) put(r *destRef) {
	if r.n--; r.n == 0 {
		delete(m, r.d.AddrPort())
	}
}

// revive points held references to d's address:port at d, which was just (re-)added.
func (m destRefs) revive(d *Dest) {
	if r := m[d.AddrPort()]; r != nil {
		r.d = d
	}
}

// locEntry is one destination address's entry: lblc's real or lblcr's set.
type locEntry struct {
	addr    netip.Addr
	bucket  uint32
	lastuse time.Time
	dest    *destRef   // lblc
	set     []*destRef // lblcr, newest first
	lastmod time.Time  // lblcr: when set last changed
}

// locTable is ip_vs_lblc_table / ip_vs_lblcr_table: buckets, entry counter, and the
// periodic garbage collector's rover, counter and next run.
type locTable struct {
	is6     bool
	buckets [locTabSize][]*locEntry // order within a bucket never matters: see sweep
	index   map[netip.Addr]*locEntry
	entries int // the kernel's atomic entries, with its drift
	rover   int
	counter int
	next    time.Time
	release func(*locEntry)
}

func (t *locTable) init(is6 bool, now time.Time) {
	t.is6 = is6
	t.index = map[netip.Addr]*locEntry{}
	t.counter = 1
	t.next = now.Add(locCheckInterval)
}

// link hashes a new entry in and counts it (ip_vs_lblc_hash).
func (t *locTable) link(e *locEntry) {
	e.bucket = hash32(foldAddr(t.is6, e.addr), locTabBits)
	t.buckets[e.bucket] = append(t.buckets[e.bucket], e)
	t.index[e.addr] = e
	t.entries++
}

// remove unhashes e without touching the entry counter.
func (t *locTable) remove(e *locEntry) {
	b := t.buckets[e.bucket]
	for i, x := range b {
		if x == e {
			b[i] = b[len(b)-1]
			b[len(b)-1] = nil
			t.buckets[e.bucket] = b[:len(b)-1]
			break
		}
	}
	delete(t.index, e.addr)
}

// advance runs the timer ticks due by now, each at its own time.
func (t *locTable) advance(now time.Time) {
	for !now.Before(t.next) {
		if len(t.index) == 0 {
			// Nothing to free: a full check leaves the rover where it was and a partial
			// one goes round to it, so only the counter moves.
			k := int(now.Sub(t.next)/locCheckInterval) + 1
			switch {
			case t.entries <= locMaxSize:
				t.counter = (t.counter-1+k)%locFullCheckEvery + 1
			case t.counter%locFullCheckEvery == 0:
				t.counter = 1
			}
			t.next = t.next.Add(time.Duration(k) * locCheckInterval)
			return
		}
		t.tick(t.next)
		t.next = t.next.Add(locCheckInterval)
	}
}

// tick is ip_vs_lblc_check_expire (and lblcr's, the same) run at time at.
func (t *locTable) tick(at time.Time) {
	if t.counter%locFullCheckEvery == 0 {
		t.sweep(at, locExpiration, -1)
		t.counter = 1
		return
	}
	if t.entries <= locMaxSize {
		t.counter++
		return
	}
	goal := min((t.entries-locMaxSize)*4/3, locMaxSize/2)
	t.sweep(at, locEntryTimeout, goal)
}

// sweep frees, bucket by bucket from the one after the rover, the entries unused for
// timeout, stopping after the bucket where goal reaches 0 (goal < 0: the full check, all
// buckets). A bucket is always swept whole, which is why the order within it is free.
func (t *locTable) sweep(at time.Time, timeout time.Duration, goal int) {
	full := goal < 0
	j := t.rover
	for range locTabSize {
		j = (j + 1) & locTabMask
		b := t.buckets[j]
		kept := b[:0]
		for _, e := range b {
			if at.Before(e.lastuse.Add(timeout)) {
				kept = append(kept, e)
				continue
			}
			delete(t.index, e.addr)
			t.release(e)
			t.entries--
			goal--
		}
		clear(b[len(kept):])
		t.buckets[j] = kept
		if !full && goal <= 0 {
			break
		}
	}
	t.rover = j
}

// Interface guards
var _ Scheduler = (*lblcScheduler)(nil)
