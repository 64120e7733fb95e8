package vrrp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// fakeClock is a Clock that moves only when told. Timers fire on Set/Advance; every
// Reset is reported on armed, so that a test driving Run knows the loop went round.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  chan time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), armed: make(chan time.Duration, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1), when: c.now.Add(d), active: true}
	c.timers = append(c.timers, t)
	return t
}

// Set moves the clock to t and fires the timers that are due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	for _, tm := range c.timers {
		if tm.active && !tm.when.After(t) {
			tm.active = false
			select {
			case tm.ch <- t:
			default:
			}
		}
	}
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	when   time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.when, t.active = t.c.now.Add(d), true
	fire := d <= 0
	if fire {
		t.active = false
		t.ch <- t.c.now
	}
	t.c.mu.Unlock()
	t.c.armed <- d
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
}

// sent is a message a fakeConn sent.
type sent struct {
	msg      []byte
	src, dst netip.Addr
}

type fakeConn struct {
	mu    sync.Mutex
	local netip.Addr
	out   []sent // not yet delivered by the lab
	hist  []sent // everything sent
	seen  int    // hist entries sentAdverts returned
	in    chan Packet
	err   error // returned by Send
	close sync.Once
}

func (c *fakeConn) LocalAddr() netip.Addr { return c.local }

func (c *fakeConn) Send(msg []byte, dst netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.out = append(c.out, sent{msg: msg, src: c.local, dst: dst})
	c.hist = append(c.hist, sent{msg: msg, src: c.local, dst: dst})
	return nil
}

func (c *fakeConn) Packets() <-chan Packet { return c.in }

func (c *fakeConn) Close() error {
	c.close.Do(func() { close(c.in) })
	return nil
}

// takeSent returns and forgets what the conn sent.
func (c *fakeConn) takeSent() []sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.out
	c.out = nil
	return out
}

// fakeTransport hands out fakeConns with one local address per family.
type fakeTransport struct {
	local4, local6 netip.Addr
	conns          map[string]*fakeConn
}

func (t *fakeTransport) Open(in *config.VRRPInstance) (Conn, error) {
	local := t.local4
	if len(in.Addresses) > 0 && in.Addresses[0].Prefix.Addr().Is6() {
		local = t.local6
	}
	c := &fakeConn{local: local, in: make(chan Packet, 16)}
	t.conns[in.Name] = c
	return c, nil
}

// fakeActions records what the Router asked for, one line per call.
type fakeActions struct {
	mu  sync.Mutex
	log []string
}

func (a *fakeActions) rec(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, fmt.Sprintf(format, args...))
}

func vipString(vips []config.VIP) string {
	var s []string
	for _, v := range vips {
		s = append(s, v.Prefix.String()+"@"+v.Dev)
	}
	return strings.Join(s, ",")
}

func (a *fakeActions) AddVIPs(in string, v []config.VIP) error {
	a.rec("add %s %s", in, vipString(v))
	return nil
}

func (a *fakeActions) RemoveVIPs(in string, v []config.VIP) error {
	a.rec("remove %s %s", in, vipString(v))
	return nil
}

func (a *fakeActions) Announce(in string, v []config.VIP, rounds int) error {
	a.rec("announce %s %d", in, rounds)
	return nil
}

func (a *fakeActions) Notify(n Notification) {
	kind := "INSTANCE"
	if n.Group {
		kind = "GROUP"
	}
	a.rec("notify %s %s %s %d", kind, n.Name, n.State, n.Priority)
}

// take returns and forgets the recorded calls.
func (a *fakeActions) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.log
	a.log = nil
	return out
}

// node is a Router under test with its fakes, started without Run: the lab steps it.
type node struct {
	r   *Router
	tr  *fakeTransport
	act *fakeActions
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// lab is a link shared by nodes, on one fake clock. Packets are delivered with no delay,
// to every other node (multicast) or to the node that owns the destination (unicast).
type lab struct {
	t     *testing.T
	clock *fakeClock
	nodes []*node
	// drop, when set, decides which packets are lost.
	drop func(from *node, s sent) bool
	// links, when set, holds the state of each node's link for delivery.
	down map[*node]bool
}

func newLab(t *testing.T) *lab { return &lab{t: t, clock: newFakeClock(), down: map[*node]bool{}} }

// add builds and starts a node for cfg with the given local addresses.
func (l *lab) add(cfg *config.VRRP, local4 string, linkUp func(string) bool) *node {
	l.t.Helper()
	return l.addWith(cfg, local4, linkUp, testLogger(l.t))
}

// addLogged is add with the log going to buf.
func (l *lab) addLogged(cfg *config.VRRP, local4 string, buf *logBuf) *node {
	l.t.Helper()
	return l.addWith(cfg, local4, nil, slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func (l *lab) addWith(cfg *config.VRRP, local4 string, linkUp func(string) bool, log *slog.Logger) *node {
	l.t.Helper()
	n := &node{tr: &fakeTransport{local4: netip.MustParseAddr(local4), local6: netip.MustParseAddr("fe80::" + strings.ReplaceAll(local4, ".", ":")), conns: map[string]*fakeConn{}},
		act: &fakeActions{}}
	r, err := New(cfg, Options{Transport: n.tr, Actions: n.act, Clock: l.clock, Logger: log, LinkUp: linkUp})
	if err != nil {
		l.t.Fatal(err)
	}
	n.r = r
	if err := r.open(); err != nil {
		l.t.Fatal(err)
	}
	r.begin()
	l.nodes = append(l.nodes, n)
	return n
}

// deliver moves every sent packet to its receivers until none is left.
func (l *lab) deliver() {
	for range 1000 {
		moved := false
		for _, from := range l.nodes {
			for _, fi := range from.r.insts {
				for _, s := range from.tr.conns[fi.cfg.Name].takeSent() {
					moved = true
					if l.drop != nil && l.drop(from, s) || l.down[from] {
						continue
					}
					for _, to := range l.nodes {
						if to == from || l.down[to] {
							continue
						}
						for i, in := range to.r.insts {
							rc := to.tr.conns[in.cfg.Name]
							if rc.local.Is4() != s.src.Is4() || (!s.dst.IsMulticast() && rc.local != s.dst) {
								continue
							}
							to.r.insts[i].receive(l.clock.Now(), &Packet{Payload: s.msg, Src: s.src, Dst: s.dst, TTL: TTL})
						}
					}
				}
			}
		}
		if !moved {
			return
		}
	}
	l.t.Fatal("packets still flowing after 1000 rounds")
}

// run advances the clock by d, firing timers and delivering packets in time order.
func (l *lab) run(d time.Duration) { l.runUntil(l.clock.Now().Add(d)) }

// runUntil advances the clock to end, firing timers and delivering packets in time order.
func (l *lab) runUntil(end time.Time) {
	if end.Before(l.clock.Now()) {
		l.t.Fatalf("runUntil %v: the clock is already at %v", end, l.clock.Now())
	}
	for range 100000 {
		l.deliver()
		var next time.Time
		var who *node
		for _, n := range l.nodes {
			n.r.drain()
			if t := n.r.next(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next, who = t, n
			}
		}
		if who == nil || next.After(end) {
			l.clock.Set(end)
			l.deliver()
			return
		}
		if next.After(l.clock.Now()) {
			l.clock.Set(next)
		}
		who.r.fire()
	}
	l.t.Fatal("timers still firing after 100000 rounds")
}

func (n *node) state(name string) State {
	for _, in := range n.r.insts {
		if in.cfg.Name == name {
			return in.state
		}
	}
	panic("no instance " + name)
}

func (n *node) inst(name string) *instance {
	for _, in := range n.r.insts {
		if in.cfg.Name == name {
			return in
		}
	}
	panic("no instance " + name)
}

// instCfg is a vrrp_instance on eth0 with keepalived's defaults.
func instCfg(name string, vrid, prio int, vips ...string) *config.VRRPInstance {
	c := &config.VRRPInstance{Name: name, Version: 2, Interface: "eth0", VRID: vrid,
		Priority: prio, AdvertInt: time.Second, GarpMasterDelay: 5 * time.Second}
	for _, v := range vips {
		c.Addresses = append(c.Addresses, config.VIP{Prefix: netip.MustParsePrefix(v)})
	}
	return c
}

func vrrpCfg(ins ...*config.VRRPInstance) *config.VRRP { return &config.VRRP{Instances: ins} }

// advertFrom builds a packet as a peer at src would send it for the instance cfg.
func advertFrom(t *testing.T, c *config.VRRPInstance, src string, prio int, mod func(*Advert)) Packet {
	t.Helper()
	a := &Advert{Version: c.Version, VRID: uint8(c.VRID), Priority: uint8(prio), Interval: c.AdvertInt}
	if c.AuthType == "PASS" {
		a.AuthType = AuthPass
		copy(a.AuthData[:], c.AuthPass)
	}
	for _, v := range c.Addresses {
		a.Addrs = append(a.Addrs, v.Prefix.Addr())
	}
	if mod != nil {
		mod(a)
	}
	s := netip.MustParseAddr(src)
	dst := GroupIPv4
	if s.Is6() {
		dst = GroupIPv6
	}
	if len(c.UnicastPeers) > 0 {
		dst = c.UnicastSrc
	}
	b, err := Marshal(a, s, dst)
	if err != nil {
		t.Fatal(err)
	}
	return Packet{Payload: b, Src: s, Dst: dst, TTL: TTL}
}

// sentAdverts decodes what an instance sent since the last call.
func sentAdverts(t *testing.T, n *node, name string) []*Advert {
	t.Helper()
	var out []*Advert
	c := n.tr.conns[name]
	c.mu.Lock()
	fresh := c.hist[c.seen:]
	c.seen = len(c.hist)
	c.mu.Unlock()
	for _, s := range fresh {
		pseudo := s.dst
		if n.inst(name).oldCsum {
			pseudo = GroupIPv4
		}
		a, err := Parse(s.msg, s.src, pseudo)
		if err != nil {
			t.Fatalf("%s sent a bad advert: %v", name, err)
		}
		out = append(out, a)
	}
	return out
}

func prios(as []*Advert) []int {
	var p []int
	for _, a := range as {
		p = append(p, int(a.Priority))
	}
	return p
}

// logBuf is a log destination safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func netip4(s string) netip.Prefix { return netip.MustParsePrefix(s) }
