package proxy

import (
	"slices"
	"testing"
)

// fired advances w to tick now and returns the values of the timers that fired, in order.
func fired(w *wheel[int], now int64) []int {
	var got []int
	w.advance(now, func(t *timer[int]) { got = append(got, t.val) })
	return got
}

func TestWheelFiresAtItsTickNotBefore(t *testing.T) {
	var w wheel[int]
	w.init(100)
	ts := make([]timer[int], 4)
	for i := range ts {
		newTimer(&ts[i], i)
	}
	w.arm(&ts[0], 101)
	w.arm(&ts[1], 105)
	w.arm(&ts[2], 100+wheelSlots+3) // same slot as 103, a turn later
	w.arm(&ts[3], 103)
	if got := w.next(); got != 1 {
		t.Errorf("next = %d, want 1", got)
	}
	if got := fired(&w, 102); !slices.Equal(got, []int{0}) {
		t.Fatalf("at 102 fired %v, want [0]", got)
	}
	if got := fired(&w, 104); !slices.Equal(got, []int{3}) {
		t.Fatalf("at 104 fired %v, want [3]: 2 is due a turn later", got)
	}
	if !ts[2].armed() || ts[3].armed() {
		t.Fatalf("armed: 2 %v, 3 %v", ts[2].armed(), ts[3].armed())
	}
	if got := w.next(); got != 1 { // 105
		t.Errorf("next = %d, want 1", got)
	}
	if got := fired(&w, 105); !slices.Equal(got, []int{1}) {
		t.Fatalf("at 105 fired %v", got)
	}
	if got := fired(&w, 100+wheelSlots+2); len(got) != 0 {
		t.Fatalf("a tick early fired %v", got)
	}
	if got := fired(&w, 100+wheelSlots+3); !slices.Equal(got, []int{2}) {
		t.Fatalf("a turn later fired %v, want [2]", got)
	}
	if w.n != 0 || w.next() != -1 {
		t.Errorf("empty wheel: n %d next %d", w.n, w.next())
	}
}

func TestWheelDisarmRearmAndPast(t *testing.T) {
	var w wheel[int]
	w.init(0)
	var a, b timer[int]
	newTimer(&a, 1)
	newTimer(&b, 2)
	w.arm(&a, 10)
	w.arm(&b, 10)
	w.disarm(&a)
	w.disarm(&a) // twice is harmless
	w.arm(&b, 20)
	if got := fired(&w, 15); len(got) != 0 {
		t.Fatalf("fired %v: a disarmed, b moved to 20", got)
	}
	w.arm(&a, 3) // in the past: the next tick
	if got := w.next(); got != 1 {
		t.Errorf("next = %d, want 1", got)
	}
	if got := fired(&w, 16); !slices.Equal(got, []int{1}) {
		t.Fatalf("fired %v, want [1]", got)
	}
	if got := w.next(); got != 4 {
		t.Errorf("next = %d, want 4 (tick 20)", got)
	}
}

func TestWheelLongGapVisitsEachSlotOnce(t *testing.T) {
	var w wheel[int]
	w.init(0)
	ts := make([]timer[int], 3*wheelSlots)
	for i := range ts {
		newTimer(&ts[i], i)
		w.arm(&ts[i], int64(i+1))
	}
	// ten turns later: all are due, each fires once
	got := fired(&w, 10*wheelSlots)
	if len(got) != len(ts) || w.n != 0 {
		t.Fatalf("%d fired, %d left; want %d and 0", len(got), w.n, len(ts))
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("fired %d at %d: a timer fired twice or not at all", v, i)
		}
	}
}

func TestWheelFireMayRearm(t *testing.T) {
	var w wheel[int]
	w.init(0)
	var tm timer[int]
	newTimer(&tm, 7)
	w.arm(&tm, 1)
	n := 0
	for now := int64(1); now <= 50; now++ {
		w.advance(now, func(t *timer[int]) {
			n++
			w.arm(t, now+wheelSlots) // the same slot, next turn
		})
	}
	if n != 1 || !tm.armed() || tm.at != 1+wheelSlots {
		t.Errorf("fired %d times, armed %v at %d; want once, re-armed at %d", n, tm.armed(), tm.at, 1+wheelSlots)
	}
}
