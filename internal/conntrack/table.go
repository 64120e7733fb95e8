package conntrack

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// Accountant is told about every change of how an entry counts against its real server, so
// that its owner can keep the real's ActiveConn, InActConn and PersistConn (sched.Pool.Account
// does). A new connection arrives as ClassNone→ClassInactive, a new template as
// ClassNone→ClassPersist, a state change as ClassInactive↔ClassActive, and an entry that goes
// away as its class→ClassNone.
//
// Account is called with one of the table's locks held, from whichever goroutine caused the
// change (a forwarding goroutine, or the one calling Expire). It must be quick, safe for
// concurrent use, and must not call back into the Table.
type Accountant interface {
	Account(d DestID, from, to lb.ConnClass)
}

// Errors of table operations; returned errors wrap them.
var (
	// ErrExists: Insert of a key that is already in the table.
	ErrExists = errors.New("entry exists")
	// ErrNotFound: a Ref whose entry is gone (expired, deleted), or of the wrong kind.
	ErrNotFound = errors.New("no such entry")
	// ErrFull: the table holds Config.MaxEntries entries, or a shard is at its limit.
	ErrFull = errors.New("connection table full")
	// ErrBadKey: a key or real address that is invalid, or mixes address families.
	ErrBadKey = errors.New("invalid key")
	// ErrBusy: Delete of a template that still has connections linked to it.
	ErrBusy = errors.New("template has connections")
)

// Config configures a Table. The zero value is usable.
type Config struct {
	// Now is the clock; nil means time.Now. Tests pass a fake one and step it.
	Now func() time.Time
	// Accountant is told about every class change; nil means nobody is told.
	Accountant Accountant
	// Shards is the number of independently locked shards, a power of two from 1 to 256;
	// 0 means 64.
	Shards int
	// MaxEntries bounds the number of entries (connections and templates); 0 means no bound
	// other than 16,777,215 per shard.
	MaxEntries int
	// Timeouts are the initial ipvsadm --set values; zero fields keep the kernel's defaults
	// (lb.DefaultTimeouts).
	Timeouts lb.Timeouts
	// ExpireQuiescentTemplate is the net.ipv4.vs.expire_quiescent_template sysctl: when true,
	// a template whose real has weight 0 is invalidated on lookup. Default false, as the
	// kernel's.
	ExpireQuiescentTemplate bool
	// Seed seeds the hash; 0 picks a random one.
	Seed uint64
}

// Time inside the table is counted in ticks of 1/128 s since the table was made, in a uint32
// that wraps after 388 days; comparisons are modulo the wrap (as the kernel's jiffies), so
// every expiry must lie within ±194 days of the present: timeouts are capped at maxTicks and
// Expire must be called at least every few days.
const (
	ticksPerSecond = 1 << slotShift
	tickDuration   = time.Second / ticksPerSecond
	maxTicks       = 1 << 30 // about 97 days
	// MaxTimeout is the largest --set timeout the kernel takes, in seconds: INT_MAX/HZ with
	// Debian's HZ=250 (ip_vs_set_timeout in net/netfilter/ipvs/ip_vs_ctl.c).
	MaxTimeout = 1<<31/250 - 1
	// newConnTicks is the timeout of a connection before its first state change (ip_vs_conn_new
	// sets cp->timeout to 3*HZ).
	newConnTicks = 3 * ticksPerSecond
	// laterTicks is how long an expired template that still has connections lives on
	// (ip_vs_conn_expire's expire_later sets cp->timeout to 60*HZ).
	laterTicks = 60 * ticksPerSecond
)

func secondsToTicks(s uint32) uint32 { return uint32(min(uint64(s)*ticksPerSecond, maxTicks)) }

func durationToTicks(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min((d+tickDuration-1)/tickDuration, maxTicks))
}

func ticksToDuration(n int64) time.Duration { return time.Duration(n) * tickDuration }

// timeouts is an immutable per-state timeout table, in ticks.
type timeouts struct {
	set  lb.Timeouts
	tcp  [numTCPStates]uint32
	udp  uint32
	sctp [numSCTPStates]uint32
}

func (tt *timeouts) of(p lb.Protocol, s State) uint32 {
	switch p {
	case lb.TCP:
		return tt.tcp[s]
	case lb.UDP:
		return tt.udp
	}
	return tt.sctp[s]
}

// Table is the connection table: connections and persistence templates, each bound to a real
// server, with per-state timeouts and expiry. All methods are safe for concurrent use; entries
// are spread over independently locked shards, and no method holds two shard locks at once.
type Table struct {
	shards  []shard
	shift   uint // hash >> shift picks the shard
	seed    uint64
	now     func() time.Time
	epoch   time.Time
	acct    Accountant
	max     int64
	total   atomic.Int64
	tos     atomic.Pointer[timeouts]
	setMu   sync.Mutex // serialises SetTimeouts
	quiesce atomic.Bool
	destMu  sync.Mutex // serialises changes of dests
	dests   atomic.Pointer[map[DestID]destStatus]
}

// New returns an empty table. It fails, wrapping lb.ErrInvalid, when cfg.Shards is not a
// power of two from 1 to 256 or a timeout is above MaxTimeout.
func New(cfg Config) (*Table, error) {
	n := cfg.Shards
	if n == 0 {
		n = 64
	}
	if n < 1 || n > 256 || n&(n-1) != 0 {
		return nil, fmt.Errorf("conntrack: %d shards (want a power of two from 1 to 256): %w", n, lb.ErrInvalid)
	}
	t := &Table{
		shards: make([]shard, n),
		shift:  uint(64 - bits.TrailingZeros(uint(n))),
		seed:   cfg.Seed,
		now:    cfg.Now,
		acct:   cfg.Accountant,
		max:    int64(cfg.MaxEntries),
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.seed == 0 {
		t.seed = rand.Uint64() | 1
	}
	t.epoch = t.now()
	for i := range t.shards {
		t.shards[i].seed = t.seed
	}
	tt := &timeouts{set: lb.DefaultTimeouts}
	for s := range numTCPStates {
		tt.tcp[s] = secondsToTicks(DefaultTimeout(lb.TCP, s))
	}
	for s := range numSCTPStates {
		tt.sctp[s] = secondsToTicks(DefaultTimeout(lb.SCTP, s))
	}
	tt.udp = secondsToTicks(DefaultTimeout(lb.UDP, UDPNormal))
	t.tos.Store(tt)
	if err := t.SetTimeouts(cfg.Timeouts); err != nil {
		return nil, err
	}
	t.quiesce.Store(cfg.ExpireQuiescentTemplate)
	return t, nil
}

// SetTimeouts changes the protocol timeouts as ipvsadm --set does (ip_vs_set_timeout): TCP is
// the timeout of ESTABLISHED, TCPFin that of FIN_WAIT, UDP that of UDP entries; a zero field
// leaves its value unchanged. Entries take a new value at their next state change or
// Transition, as in the kernel. It fails, wrapping lb.ErrInvalid and changing nothing, when a
// value exceeds MaxTimeout.
func (t *Table) SetTimeouts(to lb.Timeouts) error {
	for _, v := range []uint32{to.TCP, to.TCPFin, to.UDP} {
		if v > MaxTimeout {
			return fmt.Errorf("conntrack: timeout %d s above %d s: %w", v, MaxTimeout, lb.ErrInvalid)
		}
	}
	t.setMu.Lock()
	defer t.setMu.Unlock()
	tt := *t.tos.Load()
	if to.TCP != 0 {
		tt.set.TCP, tt.tcp[TCPEstablished] = to.TCP, secondsToTicks(to.TCP)
	}
	if to.TCPFin != 0 {
		tt.set.TCPFin, tt.tcp[TCPFinWait] = to.TCPFin, secondsToTicks(to.TCPFin)
	}
	if to.UDP != 0 {
		tt.set.UDP, tt.udp = to.UDP, secondsToTicks(to.UDP)
	}
	t.tos.Store(&tt)
	return nil
}

// Timeouts returns the current --set timeouts (ipvsadm -L --timeout).
func (t *Table) Timeouts() lb.Timeouts { return t.tos.Load().set }

// Timeout returns the current timeout of state s of protocol p (DefaultTimeout changed by
// SetTimeouts), or 0 for a protocol without states.
func (t *Table) Timeout(p lb.Protocol, s State) time.Duration {
	if s >= numStates(p) {
		return 0
	}
	return ticksToDuration(int64(t.tos.Load().of(p, s)))
}

// SetExpireQuiescentTemplate sets the expire_quiescent_template sysctl (see Config).
func (t *Table) SetExpireQuiescentTemplate(on bool) { t.quiesce.Store(on) }

// Len returns the number of entries, connections and templates.
func (t *Table) Len() int { return int(t.total.Load()) }

func (t *Table) tick(now time.Time) uint32 { return uint32(int64(now.Sub(t.epoch) / tickDuration)) }

func (t *Table) nowTick() uint32 { return t.tick(t.now()) }

func (t *Table) account(d DestID, from, to lb.ConnClass) {
	if t.acct != nil && from != to {
		t.acct.Account(d, from, to)
	}
}

// shardOf returns the shard of Ref r and the slot and generation it names.
func (t *Table) shardOf(r Ref) (s *shard, si int, i, gen uint32) {
	si, i, gen = r.parts()
	if si >= len(t.shards) || gen == 0 {
		return nil, 0, 0, 0
	}
	return &t.shards[si], si, i, gen
}

// acquire locks the shard of r and returns r's live entry in it. When the entry is gone it
// returns a nil entry and leaves nothing locked.
func (t *Table) acquire(r Ref) (*shard, uint32, *entry) {
	s, _, i, gen := t.shardOf(r)
	if s == nil {
		return nil, 0, nil
	}
	s.mu.Lock()
	e := s.get(i, gen)
	if e == nil {
		s.mu.Unlock()
		return nil, 0, nil
	}
	return s, i, e
}

func errGone(r Ref) error { return fmt.Errorf("conntrack: ref %#x: %w", uint64(r), ErrNotFound) }

// Get returns a copy of the entry of r, or false when it is gone.
func (t *Table) Get(r Ref) (Conn, bool) {
	s, _, e := t.acquire(r)
	if e == nil {
		return Conn{}, false
	}
	c := e.conn(r, t.nowTick())
	s.mu.Unlock()
	return c, true
}

// Lookup returns the connection with key k (not a template), or false.
func (t *Table) Lookup(k Key) (Conn, bool) { return t.find(k, false) }

func (t *Table) find(k Key, template bool) (Conn, bool) {
	rk, ok := k.raw(template)
	if !ok {
		return Conn{}, false
	}
	h := hashRaw(t.seed, &rk)
	si := int(h >> t.shift)
	s := &t.shards[si]
	s.mu.Lock()
	defer s.mu.Unlock()
	i, e := s.lookup(h, &rk)
	if e == nil {
		return Conn{}, false
	}
	if template && !t.templateValid(e) {
		s.invalidate(h, i, e)
		return Conn{}, false
	}
	return e.conn(makeRef(e.gen, si, i), t.nowTick()), true
}

// Touch restarts the entry's timer with its current timeout, as the kernel does after every
// packet (ip_vs_conn_put). Use it for packets that do not go through Transition. It fails with
// ErrNotFound when the entry is gone.
func (t *Table) Touch(r Ref) error {
	s, i, e := t.acquire(r)
	if e == nil {
		return errGone(r)
	}
	s.setExpiry(i, e, t.nowTick()+e.timeout)
	s.mu.Unlock()
	return nil
}

// Delete removes the entry of r at once, telling the Accountant. Deleting a connection drops
// its template too when that was the template's last connection and the template is not
// ASSURED (ip_vs_conn_del with cp->timeout 0). It fails with ErrBusy for a template that still
// has connections, and with ErrNotFound when the entry is gone.
func (t *Table) Delete(r Ref) error {
	s, i, e := t.acquire(r)
	if e == nil {
		return errGone(r)
	}
	if e.flags&fTemplate != 0 && e.link > 0 {
		n := e.link
		s.mu.Unlock()
		return fmt.Errorf("conntrack: delete template %#x with %d connections: %w", uint64(r), n, ErrBusy)
	}
	var ns []notice
	t.remove(s, i, e, true, noticeForced, &ns)
	s.mu.Unlock()
	t.apply(ns)
	return nil
}

// remove takes entry i out of the index (and the wheel when linked), unbinds it from its real
// and frees its slot. A connection with a template queues a notice of kind for it.
func (t *Table) remove(s *shard, i uint32, e *entry, linked bool, kind noticeKind, ns *[]notice) {
	if e.flags&fIndexed != 0 {
		k := e.rawKey()
		s.indexDel(hashRaw(s.seed, &k), i)
	}
	if linked {
		s.unlink(i, e)
	}
	t.account(e.dest, e.class(), lb.ClassNone)
	if ctl := e.controlRef(); ctl != 0 {
		*ns = append(*ns, notice{ref: ctl, kind: kind})
	}
	s.release(i, e)
	t.total.Add(-1)
}
