package conntrack

import (
	"fmt"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// A notice is work for a template's shard that a change in another entry's shard caused; it
// is applied after that shard's lock is released, so that no goroutine holds two shard locks.
type notice struct {
	ref  Ref
	kind noticeKind
}

type noticeKind uint8

const (
	// noticeRelease: a linked connection expired; the template lives on to its own timeout.
	noticeRelease noticeKind = iota
	// noticeForced: a linked connection was deleted (the kernel's cp->timeout == 0); the
	// template goes too if it has no other connection and is not ASSURED.
	noticeForced
	// noticeFlush: a linked connection went with its real (expire_nodest_conn); the template
	// goes too once it has no other connection, ASSURED or not.
	noticeFlush
	// noticeAssure: a linked connection reached ESTABLISHED (or saw a UDP reply).
	noticeAssure
)

// apply carries out notices, one shard lock at a time, and returns how many templates it
// removed.
func (t *Table) apply(ns []notice) int {
	removed := 0
	var more []notice
	for _, n := range ns {
		s, _, i, gen := t.shardOf(n.ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		if e := s.get(i, gen); e != nil && e.flags&fTemplate != 0 {
			switch n.kind {
			case noticeAssure:
				e.state = TemplateAssured
			default:
				if e.link > 0 {
					e.link--
				}
				if e.link == 0 && (n.kind == noticeFlush || n.kind == noticeForced && e.state != TemplateAssured) {
					t.remove(s, i, e, true, n.kind, &more) // templates queue nothing
					removed++
				}
			}
		}
		s.mu.Unlock()
	}
	return removed
}

// pin links one more connection to template r and restarts its timer (ip_vs_control_add and
// ip_vs_conn_put(ct) in ip_vs_sched_persist). It fails with ErrNotFound when r is gone or is
// not a template.
func (t *Table) pin(r Ref) error {
	s, i, e := t.acquire(r)
	if e == nil {
		return fmt.Errorf("conntrack: template: %w", errGone(r))
	}
	if e.flags&fTemplate == 0 {
		s.mu.Unlock()
		return fmt.Errorf("conntrack: ref %#x is not a template: %w", uint64(r), ErrNotFound)
	}
	e.link++
	s.setExpiry(i, e, t.nowTick()+e.timeout)
	s.mu.Unlock()
	return nil
}

// unpin undoes pin when the connection could not be inserted.
func (t *Table) unpin(r Ref) {
	if r == 0 {
		return
	}
	if s, _, e := t.acquire(r); e != nil {
		if e.flags&fTemplate != 0 && e.link > 0 {
			e.link--
		}
		s.mu.Unlock()
	}
}

// LookupTemplate returns the valid persistence template with key k (see TemplateKey), or
// false. As the kernel's ip_vs_check_template, a template whose real was removed
// (RemoveDests), or quiesced to weight 0 while expire_quiescent_template is set, is
// invalidated instead: it leaves the index, shows port 65535 in listings, keeps counting as
// PersistConn and keeps its connections until it expires, and LookupTemplate returns false so
// that the engine schedules again and creates a new template.
func (t *Table) LookupTemplate(k Key) (Conn, bool) { return t.find(k, true) }

// InsertTemplate adds a persistence template with key k (see TemplateKey) pointing at real d,
// with timeout (the service's persistence timeout), and returns it. It counts as PersistConn
// (the Accountant sees ClassNone→ClassPersist). As in the kernel, the template's real port is
// d's port when k has a port, and 0 otherwise.
//
// If a valid template with key k already exists (another goroutine made it since this one's
// LookupTemplate), that one is returned unchanged; link connections to the Ref returned. It
// fails with ErrBadKey for an invalid key or real address, lb.ErrProtocol for a protocol other
// than 0, TCP, UDP and SCTP, and ErrFull when the table is full.
func (t *Table) InsertTemplate(k Key, d Dest, timeout time.Duration) (Conn, error) {
	if k.Protocol != 0 && numStates(k.Protocol) == 0 {
		return Conn{}, fmt.Errorf("conntrack: template %v: %w", k.Protocol, lb.ErrProtocol)
	}
	rk, ok := k.raw(true)
	da := d.Addr.Addr().Unmap()
	if !ok || !da.IsValid() {
		return Conn{}, fmt.Errorf("conntrack: template %v %v->%v: %w", k.Protocol, k.Client, k.Virtual, ErrBadKey)
	}
	h := hashRaw(t.seed, &rk)
	si := int(h >> t.shift)
	s := &t.shards[si]
	s.mu.Lock()
	defer s.mu.Unlock()
	now := t.nowTick()
	if i, e := s.lookup(h, &rk); e != nil {
		if t.templateValid(e) {
			return e.conn(makeRef(e.gen, si, i), now), nil
		}
		s.invalidate(h, i, e)
	}
	i, e, ok := t.alloc(s)
	if !ok {
		return Conn{}, fmt.Errorf("conntrack: template %v %v->%v: %w", k.Protocol, k.Client, k.Virtual, ErrFull)
	}
	e.ca, e.va, e.cport, e.vport, e.proto = rk.ca, rk.va, rk.cport, rk.vport, rk.proto
	e.flags = fUsed | fIndexed | rk.kind
	port := d.Addr.Port()
	if rk.vport == 0 {
		port = 0
	}
	t.setDest(e, d, da, port)
	e.state = TemplateNone
	e.timeout = durationToTicks(timeout)
	e.expires = now + e.timeout
	s.link(i, e, e.expires>>slotShift)
	s.indexAdd(h, i)
	t.account(d.ID, lb.ClassNone, lb.ClassPersist)
	return e.conn(makeRef(e.gen, si, i), now), nil
}

// invalidate takes template i out of the index and rewrites its ports as ip_vs_check_template
// does (vport and dport 65535, cport 0), so that a new template with its key can be made.
func (s *shard) invalidate(h uint64, i uint32, e *entry) {
	s.indexDel(h, i)
	e.flags &^= fIndexed
	e.vport, e.dport, e.cport = 0xffff, 0xffff, 0
}

// destStatus is what the table knows of a real: by default available with a weight above 0.
type destStatus uint8

const (
	destGone     destStatus = 1 << iota // removed from its service (not IP_VS_DEST_F_AVAILABLE)
	destQuiesced                        // weight 0
)

func (t *Table) destStatus(id DestID) destStatus {
	if m := t.dests.Load(); m != nil {
		return (*m)[id]
	}
	return 0
}

// updateDests applies f to a copy of the status map and publishes it.
func (t *Table) updateDests(f func(m map[DestID]destStatus)) {
	t.destMu.Lock()
	defer t.destMu.Unlock()
	m := map[DestID]destStatus{}
	if old := t.dests.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	f(m)
	t.dests.Store(&m)
}

// templateValid is the test of ip_vs_check_template (ip_vs_conn.c): the real must be
// available, and not quiesced while expire_quiescent_template is on.
func (t *Table) templateValid(e *entry) bool {
	st := t.destStatus(e.dest)
	return st&destGone == 0 && (st&destQuiesced == 0 || !t.quiesce.Load())
}

// SetDestWeight tells the table the weight of real id (-a, -e). Weight 0 quiesces it: its
// templates are invalidated on lookup while expire_quiescent_template is on. Calling it for a
// real that RemoveDests removed makes it available again, as the kernel revives a real
// re-added from its trash.
func (t *Table) SetDestWeight(id DestID, weight int32) {
	t.updateDests(func(m map[DestID]destStatus) {
		if weight == 0 {
			m[id] = destQuiesced
		} else {
			delete(m, id)
		}
	})
}

// ForgetDest drops what the table knows of real id; call it when the id will not be used
// again, so that the table's record of reals does not grow.
func (t *Table) ForgetDest(id DestID) {
	t.updateDests(func(m map[DestID]destStatus) { delete(m, id) })
}

// RemoveDests tells the table that reals ids were removed from their services (-d, or -D of
// their service): their templates become invalid. Their connections stay, as in the kernel,
// unless expireConns (the expire_nodest_conn sysctl) is set: then they are removed at once,
// as ip_vs_expire_nodest_conn_flush does: every connection of those reals, every template of
// theirs without connections, and each template whose last connection went. It returns the
// number of entries removed. The removal visits the whole table.
func (t *Table) RemoveDests(expireConns bool, ids ...DestID) int {
	set := make(map[DestID]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	t.updateDests(func(m map[DestID]destStatus) {
		for _, id := range ids {
			m[id] |= destGone
		}
	})
	if !expireConns || len(ids) == 0 {
		return 0
	}
	removed := 0
	var ns []notice
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		before := s.count
		for i := range s.n {
			e := s.at(i)
			if e.flags&fUsed == 0 {
				continue
			}
			if _, ok := set[e.dest]; !ok || e.flags&fTemplate != 0 && e.link > 0 {
				continue
			}
			t.remove(s, i, e, true, noticeFlush, &ns)
		}
		removed += before - s.count
		s.mu.Unlock()
		removed += t.apply(ns)
		ns = ns[:0]
	}
	return removed
}
