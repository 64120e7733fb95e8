package conntrack

import (
	"sync"
)

// Slab, index and timing-wheel geometry.
const (
	chunkBits = 9 // entries are allocated 512 at a time, so a slab never over-allocates by much
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1

	// maxPerShard bounds a shard's slots: index+1 must fit the 24 bits an index slot and a
	// Ref give it.
	maxPerShard = 1<<24 - 1

	minIndex = 64 // initial index size per shard, in slots

	// The timing wheel has wheelSize buckets of one slot each; a slot is 1<<slotShift ticks
	// (one second). Entries due beyond the wheel's span are revisited once per turn.
	wheelBits = 10
	wheelSize = 1 << wheelBits
	wheelMask = wheelSize - 1
	slotShift = 7
	slotBits  = 32 - slotShift
	slotMask  = 1<<slotBits - 1
)

// shard is one lock's worth of the table: a slab of entries with a free list, an
// open-addressing index over them, and a timing wheel of their expiry times.
//
// The index is linear-probing; a slot holds (entry index+1)<<8 | 8 bits of the key's hash, 0
// when empty. Deletion shifts the following cluster back, so there are no tombstones. The
// timing wheel is lazy: a refresh that moves an entry's expiry later only writes the entry's
// expires field, and the entry is moved to its right bucket when its old one comes due.
type shard struct {
	mu     sync.Mutex
	seed   uint64
	chunks [][]entry
	n      uint32 // slots handed out so far
	free   uint32 // head of the free list (index+1), 0 when empty
	count  int    // live entries
	index  []uint32
	mask   uint32
	used   uint32 // occupied index slots
	cursor uint32 // lowest wheel slot that may hold an entry not yet looked at
	wheel  [wheelSize]uint32
	_      [64]byte // keep neighbouring shards' locks off this cache line
}

func (s *shard) at(i uint32) *entry { return &s.chunks[i>>chunkBits][i&chunkMask] }

// get returns the live entry in slot i with generation gen, or nil.
func (s *shard) get(i, gen uint32) *entry {
	if i >= s.n {
		return nil
	}
	e := s.at(i)
	if e.flags&fUsed == 0 || e.gen != gen {
		return nil
	}
	return e
}

// alloc returns a free slot, or false when the shard is full.
func (s *shard) alloc() (uint32, *entry, bool) {
	if s.free != 0 {
		i := s.free - 1
		e := s.at(i)
		s.free = e.qnext
		e.qnext = 0
		s.count++
		return i, e, true
	}
	if s.n >= maxPerShard {
		return 0, nil, false
	}
	if s.n == uint32(len(s.chunks))*chunkSize {
		s.chunks = append(s.chunks, make([]entry, chunkSize))
	}
	i := s.n
	s.n++
	e := s.at(i)
	e.gen = 1
	s.count++
	return i, e, true
}

// release puts slot i back on the free list. The entry must be out of the index and the
// wheel already.
func (s *shard) release(i uint32, e *entry) {
	gen := e.gen + 1
	if gen == 0 {
		gen = 1
	}
	*e = entry{gen: gen, qnext: s.free}
	s.free = i + 1
	s.count--
}

// lookup finds the indexed entry with key k (hash h).
func (s *shard) lookup(h uint64, k *rawKey) (uint32, *entry) {
	if s.used == 0 {
		return 0, nil
	}
	frag := uint32(uint8(h >> 32))
	for p := uint32(h) & s.mask; ; p = (p + 1) & s.mask {
		v := s.index[p]
		if v == 0 {
			return 0, nil
		}
		if v&0xff == frag {
			i := v>>8 - 1
			if e := s.at(i); e.matches(k) {
				return i, e
			}
		}
	}
}

// indexAdd adds slot i, whose key hashes to h, to the index.
func (s *shard) indexAdd(h uint64, i uint32) {
	if (s.used+1)*5 > uint32(len(s.index))*4 {
		s.grow()
	}
	p := uint32(h) & s.mask
	for s.index[p] != 0 {
		p = (p + 1) & s.mask
	}
	s.index[p] = (i+1)<<8 | uint32(uint8(h>>32))
	s.used++
}

// indexDel removes slot i, whose key hashes to h, from the index, shifting the rest of its
// probe cluster back so that no tombstone is left.
func (s *shard) indexDel(h uint64, i uint32) {
	want := (i+1)<<8 | uint32(uint8(h>>32))
	p := uint32(h) & s.mask
	for s.index[p] != want {
		if s.index[p] == 0 {
			return // not indexed
		}
		p = (p + 1) & s.mask
	}
	for {
		s.index[p] = 0
		q := p
		for {
			q = (q + 1) & s.mask
			v := s.index[q]
			if v == 0 {
				s.used--
				return
			}
			k := s.at(v>>8 - 1).rawKey()
			home := uint32(hashRaw(s.seed, &k)) & s.mask
			// v may fill the hole at p unless its home lies cyclically in (p, q].
			if (q-home)&s.mask >= (q-p)&s.mask {
				s.index[p] = v
				p = q
				break
			}
		}
	}
}

// grow doubles the index and re-places every slot.
func (s *shard) grow() {
	size := uint32(minIndex)
	if len(s.index) > 0 {
		size = uint32(len(s.index)) * 2
	}
	old := s.index
	s.index = make([]uint32, size)
	s.mask = size - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		k := s.at(v>>8 - 1).rawKey()
		p := uint32(hashRaw(s.seed, &k)) & s.mask
		for s.index[p] != 0 {
			p = (p + 1) & s.mask
		}
		s.index[p] = v
	}
}

// slotAfter reports whether wheel slot a comes after slot b, modulo the slot counter's wrap.
func slotAfter(a, b uint32) bool { return int32((a-b)<<slotShift) > 0 }

// link puts entry i in the bucket of slot (or of the cursor, if slot has passed).
func (s *shard) link(i uint32, e *entry, slot uint32) {
	if slotAfter(s.cursor, slot) {
		slot = s.cursor
	}
	e.qslot = slot
	b := &s.wheel[slot&wheelMask]
	e.qprev, e.qnext = 0, *b
	if *b != 0 {
		s.at(*b - 1).qprev = i + 1
	}
	*b = i + 1
}

// unlink takes entry i out of its bucket.
func (s *shard) unlink(i uint32, e *entry) {
	if e.qprev != 0 {
		s.at(e.qprev - 1).qnext = e.qnext
	} else {
		s.wheel[e.qslot&wheelMask] = e.qnext
	}
	if e.qnext != 0 {
		s.at(e.qnext - 1).qprev = e.qprev
	}
	e.qprev, e.qnext = 0, 0
}

// setExpiry makes entry i expire at tick exp. A later expiry only updates the entry (the
// wheel moves it when its bucket comes due); an earlier one moves it to an earlier bucket.
func (s *shard) setExpiry(i uint32, e *entry, exp uint32) {
	e.expires = exp
	slot := exp >> slotShift
	if slotAfter(e.qslot, slot) {
		s.unlink(i, e)
		s.link(i, e, slot)
	}
}
