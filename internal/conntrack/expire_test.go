package conntrack

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

func TestExpireBoundaries(t *testing.T) {
	tb, clk, _ := newTable(t, Config{Shards: 2})
	type want struct {
		ref  Ref
		life time.Duration
	}
	var all []want
	// Templates with timeouts inside and far beyond the wheel's 1024 s span.
	for i, life := range []time.Duration{time.Second, 59 * time.Second, 1023 * time.Second,
		1024 * time.Second, 1025 * time.Second, 3 * time.Hour, 50 * time.Hour} {
		k := Key{0, ap(fmt.Sprintf("10.0.%d.0:0", i)), ap("0.0.0.1:0")}
		c, err := tb.InsertTemplate(k, dest(1, "10.1.0.1:0", lb.Route), life)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, want{c.Ref, life})
	}
	// A connection whose expiry moves earlier: ESTABLISHED (900 s) then RST (CLOSE, 10 s).
	r, _ := tb.Insert(tcpKey("10.0.0.2:1", "10.9.0.1:80"), dest(1, "10.1.0.1:80", lb.Masq), 0)
	tb.SetState(r, TCPEstablished)
	tb.Transition(r, Input, RST)
	all = append(all, want{r, 10 * time.Second})

	slices.SortFunc(all, func(a, b want) int { return cmp.Compare(a.life, b.life) })
	for _, w := range all {
		clk.Set(w.life - tickDuration)
		tb.Expire(clk.Now())
		if _, ok := tb.Get(w.ref); !ok {
			t.Errorf("entry with life %v gone one tick early", w.life)
		}
		clk.Set(w.life)
		tb.Expire(clk.Now())
		if _, ok := tb.Get(w.ref); ok {
			t.Errorf("entry with life %v still there at its time", w.life)
		}
	}
}

func TestExpireRefreshAndGaps(t *testing.T) {
	tb, clk, _ := newTable(t, Config{Shards: 1})
	r, _ := tb.Insert(Key{lb.UDP, ap("10.0.0.2:1"), ap("10.9.0.4:53")}, dest(1, "10.1.0.1:53", lb.Masq), 0)
	tb.Transition(r, Input, 0) // 300 s
	// Touched every 200 s for a day: always alive, though the wheel passes it many times.
	for at := 200 * time.Second; at < 24*time.Hour; at += 200 * time.Second {
		clk.Set(at)
		if n := tb.Expire(clk.Now()); n != 0 {
			t.Fatalf("t=%v: expired %d", at, n)
		}
		if err := tb.Touch(r); err != nil {
			t.Fatalf("t=%v: %v", at, err)
		}
	}
	last := clk.Now()
	// A clock that goes back expires nothing and breaks nothing.
	clk.Set(time.Hour)
	if n := tb.Expire(clk.Now()); n != 0 {
		t.Errorf("backwards: expired %d", n)
	}
	// No Expire for three hours: the entry goes at the first call after.
	clk.Set(last.Sub(epoch) + 3*time.Hour)
	if n := tb.Expire(clk.Now()); n != 1 {
		t.Errorf("after a gap: expired %d, want 1", n)
	}
}

func TestExpireAcrossWrap(t *testing.T) {
	// Table time wraps after 2^32 ticks (388 days); entries made around the wrap expire on time.
	tb, clk, _ := newTable(t, Config{Shards: 1})
	for day := 1; day <= 400; day++ {
		clk.Set(time.Duration(day) * 24 * time.Hour)
		tb.Expire(clk.Now())
		if day < 385 {
			continue
		}
		r, err := tb.Insert(tcpKey(fmt.Sprintf("10.0.0.2:%d", day), "10.9.0.1:80"), dest(1, "10.1.0.1:80", lb.Masq), 0)
		if err != nil {
			t.Fatal(err)
		}
		tb.SetState(r, TCPEstablished)
		clk.Step(899 * time.Second)
		tb.Expire(clk.Now())
		if _, ok := tb.Get(r); !ok {
			t.Fatalf("day %d: expired early", day)
		}
		clk.Step(time.Second)
		tb.Expire(clk.Now())
		if _, ok := tb.Get(r); ok {
			t.Fatalf("day %d: not expired", day)
		}
	}
}

// TestExpireModel runs random operations against a model that knows each entry's expiry
// tick, and checks after every Expire that exactly the entries due are gone.
func TestExpireModel(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(shards)))
			tb, clk, l := newTable(t, Config{Shards: shards})
			l.record = false
			type model struct {
				exp   uint32
				to    uint32 // current timeout
				state State
				proto lb.Protocol
			}
			live := map[Ref]*model{}
			var refs []Ref
			pick := func() Ref {
				for len(refs) > 0 {
					j := rng.IntN(len(refs))
					if _, ok := live[refs[j]]; ok {
						return refs[j]
					}
					refs[j] = refs[len(refs)-1]
					refs = refs[:len(refs)-1]
				}
				return 0
			}
			for op := range 20000 {
				now := tb.nowTick()
				switch x := rng.IntN(100); {
				case x < 30:
					p := []lb.Protocol{lb.TCP, lb.UDP}[rng.IntN(2)]
					k := Key{p, ap(fmt.Sprintf("10.0.%d.%d:%d", op>>8&255, op&255, 1+rng.IntN(9))), ap("10.9.0.1:80")}
					r, err := tb.Insert(k, dest(DestID(1+rng.IntN(3)), "10.1.0.1:80", lb.Masq), 0)
					if err != nil {
						continue
					}
					live[r] = &model{exp: now + newConnTicks, to: newConnTicks, proto: p}
					refs = append(refs, r)
				case x < 60:
					r := pick()
					if r == 0 {
						continue
					}
					m := live[r]
					dir := Direction(rng.IntN(2))
					f := []TCPFlags{SYN, ACK, FIN, RST, SYN | ACK, FIN | ACK}[rng.IntN(6)]
					if _, err := tb.Transition(r, dir, f); err != nil {
						t.Fatal(err)
					}
					if m.proto == lb.TCP {
						m.state = NextTCPState(m.state, dir, f)
					}
					m.to = secondsToTicks(DefaultTimeout(m.proto, m.state))
					m.exp = now + m.to
				case x < 70:
					if r := pick(); r != 0 {
						if err := tb.Touch(r); err != nil {
							t.Fatal(err)
						}
						live[r].exp = now + live[r].to
					}
				case x < 75:
					if r := pick(); r != 0 {
						if err := tb.Delete(r); err != nil {
							t.Fatal(err)
						}
						delete(live, r)
					}
				default:
					d := time.Duration(rng.IntN(4000)) * time.Millisecond
					if rng.IntN(50) == 0 {
						d = time.Duration(rng.IntN(2000)) * time.Second
					}
					clk.Step(d)
					nt := tb.nowTick()
					n := tb.Expire(clk.Now())
					due := 0
					for r, m := range live {
						if int32(m.exp-nt) <= 0 {
							due++
							delete(live, r)
						}
					}
					if n != due {
						t.Fatalf("op %d: expired %d, model %d", op, n, due)
					}
					if tb.Len() != len(live) {
						t.Fatalf("op %d: len %d, model %d", op, tb.Len(), len(live))
					}
					for r, m := range live {
						c, ok := tb.Get(r)
						if !ok || c.Expires != ticksToDuration(int64(int32(m.exp-nt))) {
							t.Fatalf("op %d: ref %#x: %v expires %v, model %v", op, uint64(r), ok, c.Expires,
								ticksToDuration(int64(int32(m.exp-nt))))
						}
					}
				}
			}
			for id, c := range tb.Counts() {
				if l.get(id) != c {
					t.Errorf("dest %d: Counts %+v, accountant %+v", id, c, l.get(id))
				}
			}
			l.check(t)
		})
	}
}
