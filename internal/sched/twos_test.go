package sched

import (
	"math"
	"testing"
)

// loadScanTWOS is the kernel's ip_vs_twos_schedule as a plain scan (net/netfilter/ipvs/
// ip_vs_twos.c, with get_random_u32_below), in the kernel's 32-bit int arithmetic, wrapping.
func loadScanTWOS(s *Svc) *Dest {
	var c1, c2 *Dest
	var total, w int32
	for _, d := range s.Dests {
		if !d.overload {
			if w = d.weight; w > 0 {
				total += w
				c1 = d
			}
		}
	}
	if c1 == nil {
		return nil
	}
	total++
	r1 := int32(loadBelow(s.Rand, uint32(total)))
	r2 := int32(loadBelow(s.Rand, uint32(total)))
	w1, w2, oh1, oh2 := int32(-1), int32(-1), int32(0), int32(0)
	for _, d := range s.Dests {
		if d.overload {
			continue
		}
		if w = d.weight; w <= 0 {
			continue
		}
		r1 -= w
		r2 -= w
		if r1 <= 0 && w1 == -1 {
			c1, w1, oh1 = d, w, int32(d.active)<<8+d.inactive
		}
		if r2 <= 0 && w2 == -1 {
			c2, w2, oh2 = d, w, int32(d.active)<<8+d.inactive
		}
		if w1 != -1 && w2 != -1 {
			break
		}
	}
	if c2 != nil && w2*oh1 > w1*oh2 {
		c1 = c2
	}
	return c1
}

// loadBelow is __get_random_u32_below (drivers/char/random.c) spelt out for the scan.
func loadBelow(rnd func() uint32, ceil uint32) uint32 {
	r := rnd()
	if ceil == 0 {
		return r
	}
	mult := uint64(ceil) * uint64(r)
	if uint32(mult) < ceil {
		bound := (math.MaxUint32 - ceil + 1) % ceil // 2^32 mod ceil
		for uint32(mult) < bound {
			mult = uint64(ceil) * uint64(rnd())
		}
	}
	return uint32(mult >> 32)
}

// loadDrawFor returns a random value that get_random_u32_below(ceil) turns into r at once.
func loadDrawFor(t *testing.T, ceil, r uint32) uint32 {
	t.Helper()
	bound := (math.MaxUint32 - ceil + 1) % ceil
	for v := max(uint64(r)<<32/uint64(ceil), 1) - 1; v <= math.MaxUint32; v++ {
		m := uint64(ceil) * v
		if uint32(m>>32) == r && uint32(m) >= bound {
			return uint32(v)
		}
	}
	t.Fatalf("no draw gives %d below %d", r, ceil)
	return 0
}

func TestRandBelow(t *testing.T) {
	for _, c := range []struct {
		ceil uint32
		vals []uint32
		want uint32
		used int
	}{
		{0, []uint32{12345}, 12345, 1},
		{1, []uint32{math.MaxUint32}, 0, 1},
		{7, []uint32{math.MaxUint32}, 6, 1},
		{7, []uint32{1 << 31}, 3, 1},
		{7, []uint32{0, 0, 1 << 31}, 3, 3}, // 2^32 mod 7 = 4: a low half of 0 is rejected
		{7, []uint32{1}, 0, 1},             // low half 7 >= 4: kept
		{1 << 31, []uint32{3}, 1, 1},       // power of two: never rejected
	} {
		rr := &loadRand{vals: c.vals}
		if got := randBelow(rr.next, c.ceil); got != c.want || rr.used != c.used {
			t.Errorf("randBelow(%d) over %v = %d using %d, want %d using %d", c.ceil, c.vals, got, rr.used, c.want, c.used)
		}
		rr = &loadRand{vals: c.vals}
		if got := loadBelow(rr.next, c.ceil); got != c.want || rr.used != c.used {
			t.Errorf("scan's loadBelow(%d) = %d using %d, want %d using %d", c.ceil, got, rr.used, c.want, c.used)
		}
	}
}

func TestTWOSTable(t *testing.T) {
	w123 := []loadReal{{w: 1}, {w: 2}, {w: 3}} // list order rs3 (3), rs2 (2), rs1 (1); T = 6
	for _, c := range []struct {
		name   string
		rows   []loadReal
		r1, r2 uint32 // the draws, below T+1
		want   string
	}{
		{"draw 0: first in list", w123, 0, 0, "rs3"},
		{"draw 3: end of rs3", w123, 3, 3, "rs3"},
		{"draw 4: rs2", w123, 4, 0, "rs2"},
		{"draw 5: rs2", w123, 5, 5, "rs2"},
		{"draw T: last", w123, 6, 6, "rs1"},
		{"idle: choice1 kept", w123, 0, 6, "rs3"},
		{"choice2 less loaded", []loadReal{{w: 1}, {w: 2}, {w: 3, a: 1}}, 0, 6, "rs1"},
		{"choice1 less loaded", []loadReal{{w: 1, a: 1}, {w: 2}, {w: 3}}, 0, 6, "rs3"},
		{"normalised tie: choice1", []loadReal{{w: 1, i: 1}, {w: 2}, {w: 3, i: 3}}, 0, 6, "rs3"},
		{"weight 0 and overloaded skipped", []loadReal{{w: 1, a: 7}, {w: 0}, {w: 3, over: true}}, 0, 1, "rs1"},
		// the kernel's int product wraps: 100*(84000*256) overflows, so the loaded rs2 stays
		{"int32 product wraps", []loadReal{{w: 100, a: 1000}, {w: 100, a: 84000}}, 0, 200, "rs2"},
		{"below the wrap", []loadReal{{w: 100, a: 1000}, {w: 100, a: 83000}}, 0, 200, "rs1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var total uint32
			for _, r := range c.rows {
				if r.w > 0 && !r.over {
					total += uint32(r.w)
				}
			}
			rr := &loadRand{vals: []uint32{loadDrawFor(t, total+1, c.r1), loadDrawFor(t, total+1, c.r2)}}
			p := loadPool(t, "twos", rr.next, c.rows...)
			if got := loadPick(p); got != c.want || rr.used != 2 {
				t.Errorf("twos chose %s using %d values, want %s using 2", got, rr.used, c.want)
			}
			rr.used = 0
			if got := rsName(loadScanTWOS(&p.svc).Addr()); got != c.want {
				t.Errorf("kernel-style scan chose %s, table says %s", got, c.want)
			}
		})
	}
}

func TestTWOSRejectedDraw(t *testing.T) {
	// T = 6, ceil 7: a value 0 is rejected (low half 0 < 2^32 mod 7), the next gives 4 (rs2)
	rr := &loadRand{}
	p := loadPool(t, "twos", rr.next, loadReal{w: 1}, loadReal{w: 2}, loadReal{w: 3})
	rr.vals = []uint32{0, loadDrawFor(t, 7, 4), loadDrawFor(t, 7, 4)}
	if got := loadPick(p); got != "rs2" || rr.used != 3 {
		t.Errorf("chose %s using %d values, want rs2 using 3", got, rr.used)
	}
}

func TestTWOSNone(t *testing.T) {
	rr := &loadRand{}
	p := loadPool(t, "twos", rr.next, loadReal{w: 0}, loadReal{w: 5, over: true})
	if got := loadPick(p); got != "NONE" || rr.used != 0 {
		t.Errorf("chose %s using %d values, want NONE using none", got, rr.used)
	}
}

func TestTWOSWrappedTotal(t *testing.T) {
	// weights summing past MaxInt32: the kernel's int total wraps; both must follow it
	rows := []loadReal{{w: math.MaxInt32, a: 1}, {w: 5}, {w: math.MaxInt32 - 1, a: 2}}
	for _, v := range []uint32{0, 1, 1 << 31, math.MaxUint32, 12345678} {
		rr := &loadRand{vals: []uint32{v, v ^ 0x5555, v + 7, 3, 1 << 30, 99}}
		p := loadPool(t, "twos", rr.next, rows...)
		got := loadPick(p)
		used := rr.used
		rr.used = 0
		want := "NONE"
		if d := loadScanTWOS(&p.svc); d != nil {
			want = rsName(d.Addr())
		}
		if got != want || used != rr.used {
			t.Errorf("draw %#x: chose %s using %d, kernel-style scan %s using %d", v, got, used, want, rr.used)
		}
	}
}

func TestTWOSRandom(t *testing.T) {
	for seed := range uint64(8) {
		loadDrive(t, "twos", loadScanTWOS, seed, 5000)
	}
}
