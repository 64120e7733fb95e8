package sched

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Shared test helpers of the load-based schedulers (lc, wlc, sed, nq, twos): a Pool built from
// a table, and a randomized driver that checks a scheduler against its kernel-style scan.
// Every name here starts with "load" to stay clear of other schedulers' test helpers.

// loadReal is one row of a table test: a real added in table order (so the last row is first
// in the kernel's list), with its counters and OVERLOAD flag.
type loadReal struct {
	w, a, i int32
	over    bool
}

// loadAddr is the address of row n (1-based): 10.1.0.(10+n), named rsN by rsName.
func loadAddr(n int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, 0, byte(10 + n)}) }

// loadPool builds a pool of scheduler name over rows and sets their counters and flags.
func loadPool(t testing.TB, name string, rnd func() uint32, rows ...loadReal) *Pool {
	t.Helper()
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: name}
	for n, r := range rows {
		s.Reals = append(s.Reals, lb.Real{Addr: loadAddr(n + 1), Port: 80, Weight: r.w, Forward: lb.Masq})
	}
	p, err := NewPool(s, Config{Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	for n, r := range rows {
		d := p.Find(loadAddr(n+1), 80)
		loadSetState(p, d, r.a, r.i, r.over)
	}
	return p
}

// loadSetState overwrites d's counters and OVERLOAD flag and tells the scheduler, as the
// Pool does after Account.
func loadSetState(p *Pool, d *Dest, active, inactive int32, over bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d.active, d.inactive, d.overload = active, inactive, over
	p.sched.Changed(&p.svc, OpCounters, d)
}

// loadPick schedules one flow and names the real chosen ("NONE" for nil).
func loadPick(p *Pool) string {
	d := p.Schedule(Flow{Protocol: lb.TCP, Client: netip.MustParseAddrPort("10.0.0.2:40000"), Dest: netip.MustParseAddrPort("10.9.0.1:80")})
	if d == nil {
		return "NONE"
	}
	return rsName(d.Addr())
}

// loadCase is a table test of one scheduler decision.
type loadCase struct {
	name string
	rows []loadReal
	want string
}

func loadRunTable(t *testing.T, sched string, scan func(*Svc) *Dest, cases []loadCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := loadPool(t, sched, nil, c.rows...)
			if got := loadPick(p); got != c.want {
				t.Errorf("%s chose %s, want %s", sched, got, c.want)
			}
			want := "NONE"
			if d := scan(&p.svc); d != nil {
				want = rsName(d.Addr())
			}
			if want != c.want {
				t.Errorf("kernel-style scan chose %s, table says %s", want, c.want)
			}
		})
	}
}

// loadRand is a replayable random source: the scheduler draws from vals, and the scan is then
// given the same values from the start.
type loadRand struct {
	vals []uint32
	used int
}

func (r *loadRand) next() uint32 {
	if r.used == len(r.vals) {
		panic("loadRand: out of values")
	}
	r.used++
	return r.vals[r.used-1]
}

// loadDrive drives a pool of scheduler name through steps random operations (add, delete and
// edit reals with weights including 0 and huge ones and with thresholds, set counters, bind
// and unbind connections so that OVERLOAD flips, switch the scheduler away and back) and
// checks every decision against scan, a kernel-style linear scan.
func loadDrive(t *testing.T, name string, scan func(*Svc) *Dest, seed uint64, steps int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	rr := &loadRand{}
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, Scheduler: name}
	p, err := NewPool(s, Config{Rand: rr.next})
	if err != nil {
		t.Fatal(err)
	}
	type conn struct {
		d *Dest
		c lb.ConnClass
	}
	var conns []conn
	const universe = 48
	weight := func() int32 {
		switch rng.IntN(12) {
		case 0, 1:
			return 0
		case 2:
			return int32(rng.IntN(1 << 16))
		case 3:
			return math.MaxInt32 - int32(rng.IntN(3))
		}
		return int32(1 + rng.IntN(5))
	}
	mkReal := func() lb.Real {
		r := lb.Real{Addr: loadAddr(1 + rng.IntN(universe)), Port: 80, Weight: weight()}
		if rng.IntN(3) == 0 {
			r.UThreshold = uint32(1 + rng.IntN(6))
			if rng.IntN(2) == 0 {
				r.LThreshold = uint32(rng.IntN(int(r.UThreshold) + 1))
			}
		}
		return r
	}
	count := func() int32 {
		switch rng.IntN(10) {
		case 0:
			return int32(rng.IntN(1 << 22))
		case 1:
			return int32(rng.IntN(1000))
		}
		return int32(rng.IntN(5))
	}
	decisions := 0
	for step := range steps {
		dests := p.svc.Dests
		switch op := rng.IntN(100); {
		case op < 8:
			_ = p.AddDest(mkReal())
		case op < 12:
			r := mkReal()
			_ = p.DelDest(r.Addr, r.Port)
		case op < 18:
			if len(dests) > 0 {
				d := dests[rng.IntN(len(dests))]
				r := mkReal()
				r.Addr = d.addr
				if err := p.EditDest(r); err != nil {
					t.Fatal(err)
				}
			}
		case op < 24:
			if len(dests) > 0 {
				d := dests[rng.IntN(len(dests))]
				if err := p.SetCounters(d.addr, d.port, count(), count()); err != nil {
					t.Fatal(err)
				}
			}
		case op < 25:
			s.Scheduler = "rr"
			if err := p.SetService(s); err != nil {
				t.Fatal(err)
			}
			s.Scheduler = name
			if err := p.SetService(s); err != nil {
				t.Fatal(err)
			}
		case op < 40 && len(conns) > 0:
			k := rng.IntN(len(conns))
			c := conns[k]
			if c.c == lb.ClassActive && c.d.active <= 0 || c.c == lb.ClassInactive && c.d.inactive <= 0 {
				// SetCounters overwrote the count this connection was in: forget it rather
				// than drive the counter below 0, which the kernel never sees
				conns = slices.Delete(conns, k, k+1)
				break
			}
			to := lb.ClassNone
			if c.c == lb.ClassActive && rng.IntN(2) == 0 {
				to = lb.ClassInactive
			}
			p.Account(c.d, c.c, to)
			if to == lb.ClassNone {
				conns = slices.Delete(conns, k, k+1)
			} else {
				conns[k].c = to
			}
		default:
			rr.vals, rr.used = rr.vals[:0], 0
			for range 64 {
				switch rng.IntN(8) {
				case 0:
					rr.vals = append(rr.vals, 0)
				case 1:
					rr.vals = append(rr.vals, math.MaxUint32)
				default:
					rr.vals = append(rr.vals, rng.Uint32())
				}
			}
			p.mu.Lock()
			got := p.sched.Schedule(&p.svc, Flow{})
			used := rr.used
			rr.used = 0
			want := scan(&p.svc)
			p.mu.Unlock()
			decisions++
			if got != want || rr.used != used {
				t.Fatalf("seed %d step %d: %s chose %v using %d random values, kernel-style scan %v using %d\n%s",
					seed, step, name, loadName(got), used, loadName(want), rr.used, loadDump(p))
			}
			if got != nil {
				cl := lb.ClassActive
				if rng.IntN(4) == 0 {
					cl = lb.ClassInactive
				}
				p.Account(got, lb.ClassNone, cl)
				conns = append(conns, conn{got, cl})
			}
		}
		if len(p.svc.Dests) <= universe {
			loadCheck(t, p)
		}
	}
	if decisions < steps/4 {
		t.Fatalf("only %d decisions in %d steps", decisions, steps)
	}
}

func loadName(d *Dest) string {
	if d == nil {
		return "nil"
	}
	return d.AddrPort().String()
}

func loadDump(p *Pool) string {
	out := ""
	for _, d := range p.svc.Dests {
		out += fmt.Sprintf("  %s seq %d w%d a%d i%d over=%v slot %d\n", d.AddrPort(), d.seq, d.weight, d.active, d.inactive, d.overload, d.Slot)
	}
	return out
}

// loadCheck verifies the invariants of the pool's index against the reals themselves.
func loadCheck(t *testing.T, p *Pool) {
	t.Helper()
	switch x := p.sched.(type) {
	case *lc:
		loadCheckIndex(t, x.idx, p.svc.Dests)
	case *wlc:
		loadCheckIndex(t, x.idx, p.svc.Dests)
	case *sed:
		loadCheckIndex(t, x.idx, p.svc.Dests)
	case *nq:
		loadCheckIndex(t, x.idx, p.svc.Dests)
	case *twos:
		loadCheckTree(t, x.tree, p.svc.Dests)
	}
}

func loadCheckIndex(t *testing.T, x *loadIndex, dests []*Dest) {
	t.Helper()
	n := 0
	for _, d := range dests {
		k, ok := x.key(d)
		if !ok {
			if d.Slot != 0 {
				t.Fatalf("%s excluded but in slot %d", d.AddrPort(), d.Slot)
			}
			continue
		}
		n++
		if d.Slot < 1 || d.Slot > len(x.heap) || x.heap[d.Slot-1].d != d || x.heap[d.Slot-1].key != k {
			t.Fatalf("%s: slot %d does not hold it with key %+v", d.AddrPort(), d.Slot, k)
		}
	}
	if n != len(x.heap) {
		t.Fatalf("index holds %d reals, %d usable", len(x.heap), n)
	}
	loadCheckHeap(t, x)
}

// loadCheckHeap verifies the positions in Slot, the flat/heap switch and the heap order.
func loadCheckHeap(t *testing.T, x *loadIndex) {
	t.Helper()
	switch n := len(x.heap); {
	case n > loadFlatMax && x.flat, n <= loadFlatMax/2 && !x.flat:
		t.Fatalf("index of %d reals flat=%v", n, x.flat)
	}
	for i := range x.heap {
		if x.heap[i].d.Slot != i+1 {
			t.Fatalf("entry %d has slot %d", i, x.heap[i].d.Slot)
		}
		if i > 0 && !x.flat && x.heap[i].before(&x.heap[(i-1)/2]) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

func loadCheckTree(t *testing.T, x *weightTree, dests []*Dest) {
	t.Helper()
	var total int64
	for _, d := range dests {
		i, ok := x.held(d)
		if !ok || x.val[i] != x.weight(d) {
			t.Fatalf("%s not held with its weight", d.AddrPort())
		}
		total += x.val[i]
	}
	if total != x.total || x.live != len(dests) {
		t.Fatalf("tree total %d live %d, want %d and %d", x.total, x.live, total, len(dests))
	}
	var sum int64
	for i := range len(x.fen) - 1 {
		sum += x.val[i]
		var pre int64 // prefix sum through the Fenwick tree
		for j := i + 1; j > 0; j -= j & -j {
			pre += x.fen[j]
		}
		if pre != sum {
			t.Fatalf("fenwick prefix %d = %d, want %d", i, pre, sum)
		}
	}
}

func TestFracCmp(t *testing.T) {
	edges := []int64{0, 1, 2, 255, 256, math.MaxInt32, 1 << 39, math.MaxInt64, -1, math.MinInt64, math.MinInt64 + 1}
	weights := []int64{1, 2, 3, math.MaxInt32, math.MaxInt32 - 1, math.MaxInt64}
	check := func(a, wa, b, wb int64) {
		x := new(big.Int).Mul(big.NewInt(a), big.NewInt(wb))
		y := new(big.Int).Mul(big.NewInt(b), big.NewInt(wa))
		if got, want := fracCmp(a, wa, b, wb), x.Cmp(y); got != want {
			t.Fatalf("fracCmp(%d/%d, %d/%d) = %d, want %d", a, wa, b, wb, got, want)
		}
	}
	for _, a := range edges {
		for _, b := range edges {
			for _, wa := range weights {
				for _, wb := range weights {
					check(a, wa, b, wb)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		a, b := rng.Int64()>>rng.IntN(64), rng.Int64()>>rng.IntN(64)
		if rng.IntN(2) == 0 {
			a = -a
		}
		if rng.IntN(2) == 0 {
			b = -b
		}
		check(a, 1+rng.Int64N(math.MaxInt64)>>rng.IntN(63), b, 1+rng.Int64N(math.MaxInt64)>>rng.IntN(63))
	}
}

// TestLoadIndexOrder drives a loadIndex directly with random keys and checks Min against a
// sort of the same reals by the documented order.
func TestLoadIndexOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	keys := map[*Dest]loadKey{}
	excluded := map[*Dest]bool{}
	key := func(d *Dest) (loadKey, bool) { return keys[d], !excluded[d] }
	var all []*Dest
	for i := range 64 {
		d := &Dest{seq: uint64(i + 1)}
		keys[d] = loadKey{Load: int64(rng.IntN(4)), Weight: int64(1 + rng.IntN(3))}
		all = append(all, d)
	}
	x := newLoadIndex(key, all[:32])
	sizes := map[bool]bool{} // flat and heap both seen
	in := map[*Dest]bool{}
	for _, d := range all[:32] {
		in[d] = true
	}
	for step := range 20000 {
		d := all[rng.IntN(len(all))]
		// phases that shrink and grow the index across the flat/heap boundary
		removeBelow := 1
		if step/500%2 == 1 {
			removeBelow = 3
		}
		if rng.IntN(4) < removeBelow {
			x.Remove(d)
			delete(in, d)
		} else {
			excluded[d] = rng.IntN(8) == 0
			keys[d] = loadKey{Rank: uint8(rng.IntN(2)), Load: int64(rng.IntN(6)) - 1, Weight: int64(1 + rng.IntN(4))}
			x.Update(d)
			in[d] = !excluded[d]
		}
		var want *Dest
		for _, e := range all {
			if !in[e] {
				continue
			}
			if want == nil {
				want = e
				continue
			}
			ke, kw := keys[e], keys[want]
			c := int(ke.Rank) - int(kw.Rank)
			if c == 0 {
				c = fracCmp(ke.Load, ke.Weight, kw.Load, kw.Weight)
			}
			if c < 0 || c == 0 && e.seq > want.seq {
				want = e
			}
		}
		if got := x.Min(); got != want {
			t.Fatalf("step %d: Min %v, want %v", step, got, want)
		}
		loadCheckHeap(t, x)
		sizes[x.flat] = true
	}
	if !sizes[true] || !sizes[false] {
		t.Fatalf("flat and heap modes not both exercised: %v", sizes)
	}
}

// TestWeightTreePick checks Pick against the walk it replaces, through adds (with growth),
// deletions (with compaction), weight changes and an out-of-order add.
func TestWeightTreePick(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	weights := map[*Dest]int64{}
	w := func(d *Dest) int64 { return weights[d] }
	var list []*Dest // newest first
	seq := uint64(1 << 20)
	x := newWeightTree(w, nil)
	walk := func(r int64) *Dest {
		var sum int64
		for _, d := range list {
			if weights[d] == 0 {
				continue
			}
			if sum += weights[d]; sum >= r {
				return d
			}
		}
		return nil
	}
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 4 && len(list) < 200 || len(list) == 0:
			seq++
			d := &Dest{seq: seq}
			weights[d] = int64(rng.IntN(4))
			list = slices.Insert(list, 0, d)
			x.Add(d)
		case op < 6 || len(list) >= 200:
			k := rng.IntN(len(list))
			x.Remove(list[k])
			list = slices.Delete(list, k, k+1)
		case op < 7:
			// an add older than the head: the tree must rebuild to keep list order
			d := &Dest{seq: list[len(list)-1].seq - 1}
			weights[d] = 5
			list = append(list, d)
			x.Add(d)
		default:
			d := list[rng.IntN(len(list))]
			weights[d] = int64(rng.IntN(4))
			x.Update(d)
		}
		if step%16 == 0 {
			loadCheckTree(t, x, list)
		}
		for range 8 {
			r := rng.Int64N(x.Total()+3) - 1
			want := walk(r)
			if r < 1 {
				want = nil
			}
			if got := x.Pick(r); got != want {
				t.Fatalf("step %d: Pick(%d) = %v, want %v", step, r, got, want)
			}
		}
	}
}
