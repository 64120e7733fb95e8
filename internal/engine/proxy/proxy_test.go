package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// clock is a fake clock for the connection table; safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time       { return time.Unix(1e9, c.ns.Load()) }
func (c *clock) Step(d time.Duration) { c.ns.Add(int64(d)) }

// backend is a TCP server on real address i: it writes its name, then echoes lines.
type backend struct {
	name string
	addr netip.AddrPort
	l    *net.TCPListener
}

func startBackend(t testing.TB, i int) *backend {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(i), 0)))
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: fmt.Sprintf("real%d", i), addr: addrPortOf(l.Addr()), l: l}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.AcceptTCP()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				io.WriteString(c, b.name+"\n")
				io.Copy(c, c)
			}()
		}
	}()
	return b
}

// freePort returns a port free for TCP and UDP on a.
func freePort(t testing.TB, a netip.Addr) uint16 {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func tcpService(t testing.TB, vipIndex int, sched string, reals ...netip.AddrPort) *lb.Service {
	a := vip(vipIndex)
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: a, Port: freePort(t, a)}, Scheduler: sched}
	for _, r := range reals {
		s.Reals = append(s.Reals, lb.Real{Addr: r.Addr(), Port: r.Port(), Forward: lb.Masq, Weight: 1})
	}
	return s
}

func apply(t testing.TB, e *Engine, ss ...*lb.Service) {
	t.Helper()
	if err := e.Apply(&lb.State{Timeouts: lb.DefaultTimeouts, Services: ss}); err != nil {
		t.Fatal(err)
	}
}

// conn is a client connection; greet reads the real's name.
type conn struct {
	*net.TCPConn
	r *bufio.Reader
}

func dialVIP(t testing.TB, s *lb.Service) *conn {
	t.Helper()
	c, err := net.DialTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(clientIP(0), 0)),
		net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &conn{c, bufio.NewReader(c)}
}

// greet returns the real's name, or the read error (a reset when the proxy gave up).
func (c *conn) greet() (string, error) {
	s, err := c.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func (c *conn) echo(t testing.TB, msg string) {
	t.Helper()
	io.WriteString(c, msg+"\n")
	got, err := c.r.ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo %q: got %q, %v", msg, got, err)
	}
}

// deadAddr returns a real address where connections are refused.
func deadAddr(t testing.TB, i int) netip.AddrPort {
	return netip.AddrPortFrom(realIP(i), freePort(t, realIP(i)))
}

func realStats(t testing.TB, e *Engine, k lb.ServiceKey, a netip.AddrPort) engine.RealCounters {
	t.Helper()
	cs, err := e.Counters()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Key == k {
			for _, r := range c.Reals {
				if netip.AddrPortFrom(r.Addr, r.Port) == a {
					return r
				}
			}
		}
	}
	t.Fatalf("no real %s in %s", a, k)
	return engine.RealCounters{}
}

func waitFor(t testing.TB, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQuiescedRealKeepsPersistentClientsUnlessExpireQuiescentTemplate(t *testing.T) {
	bothPaths(t, testQuiescedRealKeepsPersistentClientsUnlessExpireQuiescentTemplate)
}

func testQuiescedRealKeepsPersistentClientsUnlessExpireQuiescentTemplate(t *testing.T) {
	for _, expire := range []bool{false, true} {
		t.Run(fmt.Sprint("expire_quiescent_template=", expire), func(t *testing.T) {
			e := newTestEngine(t, Options{ExpireQuiescentTemplate: expire})
			defer e.Close()
			b0, b1 := startBackend(t, 0), startBackend(t, 1)
			s := tcpService(t, 0, "rr", b0.addr, b1.addr)
			s.Flags, s.Timeout, s.Netmask = lb.Persistent, 300, 0xffffffff
			apply(t, e, s)
			c := dialVIP(t, s)
			first, _ := c.greet()
			c.Close()
			n := s.Clone()
			for i := range n.Reals {
				if n.Reals[i].AddrPort().Port() == map[string]uint16{b0.name: b0.addr.Port(), b1.name: b1.addr.Port()}[first] {
					n.Reals[i].Weight = 0
				}
			}
			apply(t, e, n)
			c = dialVIP(t, n)
			again, _ := c.greet()
			if stays := again == first; stays == expire {
				t.Fatalf("after quiescing %s the persistent client went to %s", first, again)
			}
		})
	}
}

func TestExpireNodestConnClosesAtOnce(t *testing.T) { bothPaths(t, testExpireNodestConnClosesAtOnce) }

func testExpireNodestConnClosesAtOnce(t *testing.T) {
	e := newTestEngine(t, Options{ExpireNodestConn: true})
	defer e.Close()
	b0, b1 := startBackend(t, 0), startBackend(t, 1)
	s := tcpService(t, 0, "rr", b0.addr, b1.addr)
	apply(t, e, s)
	c := dialVIP(t, s) // rr: the newest, b1
	if name, _ := c.greet(); name != b1.name {
		t.Fatalf("went to %s", name)
	}
	n := s.Clone()
	n.Reals = n.Reals[:1]
	apply(t, e, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection to the deleted real: %v, want a reset at once", err)
	}
	waitFor(t, "the entry to go", func() bool {
		conns, _ := e.Conns()
		return len(conns) == 0
	})
}

func TestDeleteRealThenReaddKeepsItsCounters(t *testing.T) {
	bothPaths(t, testDeleteRealThenReaddKeepsItsCounters)
}

func testDeleteRealThenReaddKeepsItsCounters(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b0, b1 := startBackend(t, 0), startBackend(t, 1)
	s := tcpService(t, 0, "rr", b0.addr, b1.addr)
	apply(t, e, s)
	c := dialVIP(t, s) // b1
	c.greet()
	n := s.Clone()
	n.Reals = n.Reals[:1]
	apply(t, e, n)
	apply(t, e, s) // re-added while its connection is open: the kernel revives it
	r := realStats(t, e, s.ServiceKey, b1.addr)
	if r.Active != 1 || r.Stats.Conns != 1 {
		t.Fatalf("re-added real: %+v, want its open connection and counters back", r)
	}
	c.echo(t, "still")
}

func TestHalfCloseStates(t *testing.T) { bothPaths(t, testHalfCloseStates) }

func testHalfCloseStates(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	c := dialVIP(t, s)
	c.greet()
	c.CloseWrite() // the backend's io.Copy ends and it closes: both FINs
	state := func() string {
		conns, _ := e.Conns()
		if len(conns) != 1 {
			return fmt.Sprint(len(conns), " entries")
		}
		return conns[0].State
	}
	waitFor(t, "TIME_WAIT", func() bool { return state() == "TIME_WAIT" })

	// a client that half-closes towards a real that does not answer stays in CLOSE_WAIT
	hold := make(chan struct{})
	defer close(hold)
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(1), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			<-hold
			c.Close()
		}
	}()
	s2 := tcpService(t, 1, "rr", addrPortOf(l.Addr()))
	apply(t, e, s, s2)
	c2 := dialVIP(t, s2)
	c2.CloseWrite()
	waitFor(t, "CLOSE_WAIT", func() bool {
		conns, _ := e.Conns()
		for _, x := range conns {
			if x.Virtual.Port() == s2.Port {
				return x.State == "CLOSE_WAIT"
			}
		}
		return false
	})
	r := realStats(t, e, s2.ServiceKey, addrPortOf(l.Addr()))
	if r.Active != 0 || r.Inactive != 1 {
		t.Errorf("half-closed connection counts %d active %d inactive, want 0 1", r.Active, r.Inactive)
	}
}

func TestIdleConnectionExpires(t *testing.T) { bothPaths(t, testIdleConnectionExpires) }

func testIdleConnectionExpires(t *testing.T) {
	var clk clock
	e := newTestEngine(t, Options{Now: clk.Now})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	c := dialVIP(t, s)
	c.greet()
	c.echo(t, "x")
	e.sample() // traffic seen: the entry is refreshed
	clk.Step(899 * time.Second)
	e.expire()
	e.sample()
	c.echo(t, "still alive")
	e.sample()
	clk.Step(901 * time.Second)
	e.expire()
	e.sample()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection idle past the tcp timeout: %v, want a reset", err)
	}
}

func TestUnsupportedMessages(t *testing.T) { bothPaths(t, testUnsupportedMessages) }

func testUnsupportedMessages(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	tests := []struct {
		svc  lb.Service
		want string
	}{
		{lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip(0), Port: 80}, Scheduler: "rr",
			Reals: []lb.Real{{Addr: realIP(0), Port: 80, Forward: lb.Route, Weight: 1}}},
			"forwarding method route (-g) needs the ipvs or xdp engine"},
		{lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip(0), Port: 80}, Scheduler: "rr",
			Reals: []lb.Real{{Addr: realIP(0), Port: 80, Forward: lb.Tunnel, Weight: 1}}},
			"forwarding method tunnel (-i) needs the ipvs or xdp engine"},
		{lb.Service{ServiceKey: lb.FWMarkKey(1, false), Scheduler: "rr"}, "fwmark service needs"},
		{lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.SCTP, Addr: vip(0), Port: 80}, Scheduler: "rr"}, "SCTP service needs"},
		{lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip(0)}, Scheduler: "rr", Flags: lb.Persistent, Timeout: 1},
			"port 0 (all ports) service needs"},
		{lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.UDP, Addr: vip(0), Port: 5060}, Scheduler: "rr", PE: "sip"},
			"persistence engine sip needs"},
	}
	for _, tc := range tests {
		err := e.Apply(&lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{&tc.svc}})
		if !errors.Is(err, engine.ErrNotSupported) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotSupported saying %q", tc.svc.ServiceKey, err, tc.want)
		}
	}
	err := e.Apply(&lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip(0), Port: 80}, Scheduler: "nope"}}})
	if !errors.Is(err, lb.ErrNoScheduler) {
		t.Errorf("unknown scheduler: %v", err)
	}
}

func TestCountersPacketsAndRates(t *testing.T) { bothPaths(t, testCountersPacketsAndRates) }

func testCountersPacketsAndRates(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	for range 10 {
		c := dialVIP(t, s)
		c.greet()
		c.echo(t, "0123456789")
		c.Close()
	}
	waitFor(t, "10 connections counted", func() bool {
		r := realStats(t, e, s.ServiceKey, b.addr)
		return r.Stats.Conns == 10 && r.Stats.InBytes == 110 && r.Stats.OutBytes == uint64(10*(len(b.name)+1+11))
	})
	e.sample()
	r := realStats(t, e, s.ServiceKey, b.addr)
	// each connection: SYN, ACK, data, FIN... in; SYN-ACK, data, FIN... out
	if r.Stats.InPkts < 30 || r.Stats.OutPkts < 30 {
		t.Errorf("packets in %d out %d, want at least 3 per connection each way", r.Stats.InPkts, r.Stats.OutPkts)
	}
	if r.Rates.CPS == 0 || r.Rates.InBPS == 0 || r.Rates.InPPS == 0 {
		t.Errorf("rates after one sample: %+v", r.Rates)
	}
}

func TestLongConnectionPacketsCountedAtSample(t *testing.T) {
	bothPaths(t, testLongConnectionPacketsCountedAtSample)
}

func testLongConnectionPacketsCountedAtSample(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	c := dialVIP(t, s)
	c.greet()
	for range 5 {
		c.echo(t, "ping")
	}
	e.sample()
	r := realStats(t, e, s.ServiceKey, b.addr)
	if r.Stats.InPkts < 5 || r.Stats.OutPkts < 6 || r.Stats.InBytes != 25 {
		t.Errorf("open connection after a sample: %+v", r.Stats)
	}
}

// goroutines waits for the number of goroutines to settle at or below want.
func goroutines(t *testing.T, want int) int {
	t.Helper()
	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= want {
			return n
		}
	}
	return n
}

func TestGoroutinesPerConnectionAndClose(t *testing.T) {
	bothPaths(t, testGoroutinesPerConnectionAndClose)
}

func testGoroutinesPerConnectionAndClose(t *testing.T) {
	base := runtime.NumGoroutine()
	e := newTestEngine(t, Options{Listeners: 1})
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	// goroutine: tick, dial watch, accept, backend's accept; reactor: tick, loop, backend's
	idle := goroutines(t, base+4)
	// per connection: 1 in the test backend, and 2 in the engine on the goroutine path
	per := 1
	if e.opts.DataPath == DataPathGoroutine {
		per = 3
	}
	const n = 20
	var cs []*conn
	for range n {
		c := dialVIP(t, s)
		c.greet()
		cs = append(cs, c)
	}
	if got := goroutines(t, idle+per*n); got > idle+per*n {
		t.Errorf("%d goroutines with %d open connections, want at most %d", got, n, idle+per*n)
	}
	for _, c := range cs[:n/2] {
		c.Close()
	}
	if got := goroutines(t, idle+per*n/2); got > idle+per*n/2 {
		t.Errorf("%d goroutines after closing half, want %d", got, idle+per*n/2)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs[n/2:] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.r.ReadByte(); err == nil {
			t.Fatal("connection still open after Close")
		}
	}
	if got := goroutines(t, base+1); got > base+1 { // the backend's accept loop remains
		t.Errorf("%d goroutines after Close, want %d", got, base+1)
	}
}

func TestRemoveServiceKeepsConnections(t *testing.T) { bothPaths(t, testRemoveServiceKeepsConnections) }

func testRemoveServiceKeepsConnections(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	c := dialVIP(t, s)
	c.greet()
	apply(t, e)
	c.echo(t, "after -D")
	if _, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port))); err == nil {
		t.Error("removed service still accepts")
	}
	// added again while the old connection is open
	apply(t, e, s)
	c2 := dialVIP(t, s)
	c2.greet()
	c2.echo(t, "new")
	c.echo(t, "old")
}

func TestNewRejectsNegativeOptions(t *testing.T) {
	if _, err := New(Options{Retries: -1}); err == nil {
		t.Error("negative retries accepted")
	}
}

func TestApplyAfterClose(t *testing.T) { bothPaths(t, testApplyAfterClose) }

func testApplyAfterClose(t *testing.T) {
	e := newTestEngine(t, Options{})
	e.Close()
	if err := e.Apply(&lb.State{}); err == nil {
		t.Error("Apply after Close succeeded")
	}
}
