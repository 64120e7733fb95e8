package conntrack

import (
	"iter"

	"github.com/golvs/golvs/internal/lb"
)

// All returns an iterator over copies of every entry, connections and templates, for listings
// (ipvsadm -L -c, /proc/net/ip_vs_conn). It copies one shard at a time under that shard's lock
// and yields outside any lock, so the loop body may call the Table; entries added or removed
// meanwhile may or may not be seen. Expires is computed from the clock when a shard is copied.
func (t *Table) All() iter.Seq[Conn] {
	return func(yield func(Conn) bool) {
		var buf []entry
		var idx []uint32
		for si := range t.shards {
			s := &t.shards[si]
			buf, idx = buf[:0], idx[:0]
			s.mu.Lock()
			for i := range s.n {
				if e := s.at(i); e.flags&fUsed != 0 {
					buf = append(buf, *e)
					idx = append(idx, i)
				}
			}
			s.mu.Unlock()
			now := t.nowTick()
			for j := range buf {
				if !yield(buf[j].conn(makeRef(buf[j].gen, si, idx[j]), now)) {
					return
				}
			}
		}
	}
}

// Counts are the numbers of entries of one real by class: the ActiveConn, InActConn and
// PersistConn columns of ipvsadm -L.
type Counts struct {
	Active, Inactive, Persist int
}

// Counts returns the entries of every real that has any, by class, for reconciling the
// counters the Accountant keeps. Each shard is counted under its lock, one after the other.
func (t *Table) Counts() map[DestID]Counts {
	out := map[DestID]Counts{}
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		for i := range s.n {
			e := s.at(i)
			if e.flags&fUsed == 0 {
				continue
			}
			c := out[e.dest]
			switch e.class() {
			case lb.ClassActive:
				c.Active++
			case lb.ClassInactive:
				c.Inactive++
			case lb.ClassPersist:
				c.Persist++
			}
			out[e.dest] = c
		}
		s.mu.Unlock()
	}
	return out
}
