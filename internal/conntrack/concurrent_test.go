package conntrack

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// TestConcurrent runs forwarding goroutines (inserts, templates, transitions, lookups,
// deletes) against one that steps the clock, expires, removes reals and lists, and checks
// that the accountant never saw a counter below zero, agrees with Counts at the end, and that
// everything expires. Run it with -race.
func TestConcurrent(t *testing.T) {
	const workers, ops, dests = 8, 3000, 6
	tb, clk, l := newTable(t, Config{Shards: 8})
	l.record = false
	svc := svcTCP("10.9.0.5", 443, 0xffffff00, 120)
	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []Ref
			for op := range ops {
				client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(64))}), uint16(1+rng.IntN(32)))
				vip := ap("10.9.0.5:443")
				d := Dest{ID: DestID(1 + rng.IntN(dests)), Addr: ap("10.1.0.1:80"), Forward: lb.Forward(rng.IntN(4))}
				switch x := rng.IntN(100); {
				case x < 20: // a persistent connection
					tk := TemplateKey(svc, lb.TCP, client.Addr(), vip)
					tc, ok := tb.LookupTemplate(tk)
					if !ok {
						var err error
						if tc, err = tb.InsertTemplate(tk, d, 120*time.Second); err != nil {
							t.Error(err)
							return
						}
					}
					r, err := tb.Insert(Key{lb.TCP, client, vip}, tc.Dest, tc.Ref)
					if err == nil {
						mine = append(mine, r)
					} else if !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound) {
						t.Error(err)
						return
					}
				case x < 35:
					p := []lb.Protocol{lb.TCP, lb.UDP}[rng.IntN(2)]
					if r, err := tb.Insert(Key{p, client, vip}, d, 0); err == nil {
						mine = append(mine, r)
					}
				case x < 80 && len(mine) > 0:
					r := mine[rng.IntN(len(mine))]
					f := []TCPFlags{SYN, ACK, FIN | ACK, RST}[rng.IntN(4)]
					if _, err := tb.Transition(r, Direction(rng.IntN(2)), f); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
						return
					}
				case x < 85 && len(mine) > 0:
					j := rng.IntN(len(mine))
					tb.Delete(mine[j])
					mine[j] = mine[len(mine)-1]
					mine = mine[:len(mine)-1]
				case x < 92 && len(mine) > 0:
					tb.Touch(mine[rng.IntN(len(mine))])
				default:
					tb.Lookup(Key{lb.TCP, client, vip})
				}
				if op%500 == 0 && len(mine) > 200 {
					mine = mine[100:]
				}
			}
		}()
	}
	var admin sync.WaitGroup
	admin.Add(1)
	go func() {
		defer admin.Done()
		for i := 0; !done.Load(); i++ {
			clk.Step(time.Second)
			tb.Expire(clk.Now())
			switch i % 50 {
			case 10:
				tb.RemoveDests(true, DestID(1+i%dests))
			case 20:
				tb.SetDestWeight(DestID(1+i%dests), 1)
			case 30:
				tb.SetDestWeight(DestID(1+i%dests), 0)
				tb.SetExpireQuiescentTemplate(i%100 == 30)
			case 40:
				n := 0
				for range tb.All() {
					n++
				}
				tb.Counts()
				tb.SetTimeouts(lb.Timeouts{TCP: uint32(600 + i%300)})
			}
		}
	}()
	wg.Wait()
	done.Store(true)
	admin.Wait()

	if t.Failed() {
		return
	}
	l.check(t)
	counts := tb.Counts()
	for id := range DestID(dests + 1) {
		if counts[id] != l.get(id) {
			t.Errorf("dest %d: Counts %+v, accountant %+v", id, counts[id], l.get(id))
		}
	}
	clk.Step(2 * time.Hour)
	tb.Expire(clk.Now())
	clk.Step(2 * time.Hour) // templates deferred by the first pass
	tb.Expire(clk.Now())
	if tb.Len() != 0 {
		t.Errorf("%d entries left", tb.Len())
	}
	for id := range DestID(dests + 1) {
		if c := l.get(id); c != (Counts{}) {
			t.Errorf("dest %d: %+v left", id, c)
		}
	}
}
