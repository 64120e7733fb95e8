package conntrack

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// clock is a fake clock that tests step; safe for concurrent use.
type clock struct{ ns atomic.Int64 }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *clock) Now() time.Time               { return epoch.Add(time.Duration(c.ns.Load())) }
func (c *clock) Step(d time.Duration)         { c.ns.Add(int64(d)) }
func (c *clock) Set(d time.Duration)          { c.ns.Store(int64(d)) }
func (c *clock) At(d time.Duration) time.Time { return epoch.Add(d) }

// ledger is an Accountant that keeps per-real counters as sched.Pool does and records every
// call.
type ledger struct {
	mu     sync.Mutex
	counts map[DestID]*[4]int // indexed by lb.ConnClass; [0] unused
	log    []string
	bad    []string
	record bool
}

func newLedger(record bool) *ledger { return &ledger{counts: map[DestID]*[4]int{}, record: record} }

func (l *ledger) Account(d DestID, from, to lb.ConnClass) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[d]
	if c == nil {
		c = new([4]int)
		l.counts[d] = c
	}
	if from != lb.ClassNone {
		c[from]--
		if c[from] < 0 {
			l.bad = append(l.bad, fmt.Sprintf("dest %d class %s below 0", d, className(from)))
		}
	}
	if to != lb.ClassNone {
		c[to]++
	}
	if l.record {
		l.log = append(l.log, fmt.Sprintf("%d:%s>%s", d, className(from), className(to)))
	}
}

// take returns and clears the log.
func (l *ledger) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.log
	l.log = nil
	return out
}

// get returns the counters of d as Counts.
func (l *ledger) get(d DestID) Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[d]
	if c == nil {
		return Counts{}
	}
	return Counts{Active: c[lb.ClassActive], Inactive: c[lb.ClassInactive], Persist: c[lb.ClassPersist]}
}

func (l *ledger) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Error(b)
	}
}

func className(c lb.ConnClass) string {
	return [...]string{"none", "active", "inactive", "persist"}[c]
}

// newTable returns a table on a fresh fake clock and ledger.
func newTable(t testing.TB, cfg Config) (*Table, *clock, *ledger) {
	t.Helper()
	c := &clock{}
	l := newLedger(true)
	cfg.Now = c.Now
	if cfg.Accountant == nil {
		cfg.Accountant = l
	}
	tb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tb, c, l
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func tcpKey(client, virtual string) Key {
	return Key{Protocol: lb.TCP, Client: ap(client), Virtual: ap(virtual)}
}

func dest(id DestID, addr string, fwd lb.Forward) Dest {
	return Dest{ID: id, Addr: ap(addr), Forward: fwd}
}

// mustGet returns the entry of r or fails the test.
func mustGet(t *testing.T, tb *Table, r Ref) Conn {
	t.Helper()
	c, ok := tb.Get(r)
	if !ok {
		t.Fatalf("ref %#x: gone", uint64(r))
	}
	return c
}
