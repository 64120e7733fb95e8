package proxy

import (
	"math/bits"
	"time"
)

// The reactor's timers (connect and FIN timeouts) live in a hashed timing wheel per event
// loop: arming, disarming and firing cost O(1), with no goroutine, heap or runtime timer per
// connection. Time is counted in ticks of wheelTick from the loop's start; a timer fires at
// the first advance to its tick or later, so it never fires early and at most a tick late
// (plus the loop's own delay).

const (
	wheelTick  = 10 * time.Millisecond
	wheelSlots = 512 // a revolution: 5.12 s; later timers wait in their slot for more turns
	wheelMask  = wheelSlots - 1
)

// timer is one timer of a wheel, embedded in what it times (val).
type timer[T any] struct {
	at         int64 // the tick it is due
	prev, next *timer[T]
	slot       int32 // -1 when not armed
	val        T
}

// wheel is a hashed timing wheel. One goroutine owns it; the zero value is not ready: use
// init.
type wheel[T any] struct {
	now   int64 // the tick advanced to last
	slots [wheelSlots]*timer[T]
	used  [wheelSlots / 64]uint64 // bit set: the slot holds a timer
	n     int                     // armed timers
}

// init makes the wheel ready at tick now.
func (w *wheel[T]) init(now int64) { *w = wheel[T]{now: now} }

// newTimer prepares t, not armed, for val.
func newTimer[T any](t *timer[T], val T) { *t = timer[T]{slot: -1, val: val} }

// armed reports whether t is armed.
func (t *timer[T]) armed() bool { return t.slot >= 0 }

// arm (re)arms t to fire at tick at; a tick not after the wheel's now means the next one.
func (w *wheel[T]) arm(t *timer[T], at int64) {
	if t.armed() {
		w.unlink(t)
	}
	t.at = max(at, w.now+1)
	w.link(t)
}

// disarm stops t; it does nothing to a timer that is not armed.
func (w *wheel[T]) disarm(t *timer[T]) {
	if t.armed() {
		w.unlink(t)
	}
}

func (w *wheel[T]) link(t *timer[T]) {
	s := int32(t.at & wheelMask)
	t.slot, t.prev, t.next = s, nil, w.slots[s]
	if t.next != nil {
		t.next.prev = t
	}
	w.slots[s] = t
	w.used[s/64] |= 1 << (s % 64)
	w.n++
}

func (w *wheel[T]) unlink(t *timer[T]) {
	s := t.slot
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		w.slots[s] = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	if w.slots[s] == nil {
		w.used[s/64] &^= 1 << (s % 64)
	}
	t.prev, t.next, t.slot = nil, nil, -1
	w.n--
}

// advance moves the wheel to tick now and calls fire for each timer due by then, disarmed
// before the call; fire may arm and disarm timers, the one it is given included. It visits
// each slot at most once, however long ago the last advance was.
func (w *wheel[T]) advance(now int64, fire func(t *timer[T])) {
	if now <= w.now {
		return
	}
	from := w.now
	w.now = now
	steps := min(now-from, wheelSlots)
	for i := int64(1); i <= steps && w.n > 0; i++ {
		s := (from + i) & wheelMask
		if w.used[s/64]&(1<<(s%64)) == 0 {
			continue
		}
		// detach the slot: fire may arm timers into it again
		head := w.slots[s]
		w.slots[s] = nil
		w.used[s/64] &^= 1 << (s % 64)
		for t := head; t != nil; {
			next := t.next
			t.prev, t.next, t.slot = nil, nil, -1
			w.n--
			if t.at <= now {
				fire(t)
			} else {
				w.link(t) // due in a later turn
			}
			t = next
		}
	}
}

// next returns how many ticks from now the first slot holding a timer comes (1 to
// wheelSlots; its timers may be due in a later turn), or -1 when no timer is armed.
func (w *wheel[T]) next() int64 {
	if w.n == 0 {
		return -1
	}
	start := (w.now + 1) & wheelMask
	for i := int64(0); i <= wheelSlots/64; i++ {
		word := (start/64 + i) % (wheelSlots / 64)
		bitsSet := w.used[word]
		if i == 0 {
			bitsSet &= ^uint64(0) << (start % 64) // slots from start on
		}
		if bitsSet == 0 {
			continue
		}
		s := word*64 + int64(bits.TrailingZeros64(bitsSet))
		return (s-start)&wheelMask + 1
	}
	return 1 // unreachable: n > 0 means a bit is set; the wrap-around word is covered
}
