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
	"golang.org/x/sys/unix"
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

func TestRefusedRealResetsClient(t *testing.T) { bothPaths(t, testRefusedRealResetsClient) }

func testRefusedRealResetsClient(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	dead := deadAddr(t, 0)
	s := tcpService(t, 0, "rr", dead)
	apply(t, e, s)
	// the reset may come before the client's connect returns
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
	if err == nil {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client of a refusing real: %v, want a reset", err)
	}
	waitFor(t, "the failed attempt to leave the table", func() bool {
		r := realStats(t, e, s.ServiceKey, dead)
		return r.Active == 0 && r.Inactive == 0 && r.Stats.Conns == 1
	})
	if conns, _ := e.Conns(); len(conns) != 0 {
		t.Errorf("entries left after a refused connect: %+v", conns)
	}
}

func TestRetriesTryOtherReals(t *testing.T) { bothPaths(t, testRetriesTryOtherReals) }

func testRetriesTryOtherReals(t *testing.T) {
	e := newTestEngine(t, Options{Retries: 2})
	defer e.Close()
	b := startBackend(t, 2)
	s := tcpService(t, 0, "rr", deadAddr(t, 0), deadAddr(t, 1), b.addr)
	apply(t, e, s)
	for i := range 6 {
		c := dialVIP(t, s)
		if name, err := c.greet(); err != nil || name != b.name {
			t.Fatalf("connection %d: %q, %v; want %s after retries", i, name, err, b.name)
		}
		c.echo(t, "hi")
		c.Close()
	}
}

func TestRetriesWithHashSchedulerTakeNextReal(t *testing.T) {
	bothPaths(t, testRetriesWithHashSchedulerTakeNextReal)
}

func testRetriesWithHashSchedulerTakeNextReal(t *testing.T) {
	// sh sends a client to the same real every time: the retry must pick another one
	e := newTestEngine(t, Options{Retries: 1})
	defer e.Close()
	b := startBackend(t, 1)
	dead := deadAddr(t, 0)
	s := tcpService(t, 0, "sh", b.addr, dead)
	apply(t, e, s)
	for i := range 4 {
		c := dialVIP(t, s)
		if name, err := c.greet(); err != nil || name != b.name {
			t.Fatalf("connection %d: %q, %v", i, name, err)
		}
		c.Close()
	}
}

// blackhole returns a real address whose listener never accepts and whose queue is full, so
// that a connect to it times out.
func blackhole(t testing.TB, i int) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	a := realIP(i).As4()
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: a}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr := netip.AddrPortFrom(realIP(i), uint16(sa.(*unix.SockaddrInet4).Port))
	// fill the accept queue
	for n := 0; n < 8; n++ {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.Dial("tcp", addr.String())
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("could not fill the accept queue of the blackhole listener")
	return addr
}

func TestConnectTimeout(t *testing.T) { bothPaths(t, testConnectTimeout) }

func testConnectTimeout(t *testing.T) {
	e := newTestEngine(t, Options{ConnectTimeout: 300 * time.Millisecond, Retries: 1})
	defer e.Close()
	b := startBackend(t, 1)
	hole := blackhole(t, 0)
	s := tcpService(t, 0, "rr", hole, b.addr) // rr tries the newest first: b, then the hole
	apply(t, e, s)
	c := dialVIP(t, s)
	if name, err := c.greet(); err != nil || name != b.name {
		t.Fatalf("first connection: %q %v", name, err)
	}
	start := time.Now()
	c = dialVIP(t, s)
	name, err := c.greet()
	if err != nil || name != b.name {
		t.Fatalf("connection scheduled to the blackhole: %q %v, want %s after the timeout", name, err, b.name)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("connect timeout took %v, want about 300ms", d)
	}
	if n := pendingConnects(e); n != 0 {
		t.Errorf("%d connects still watched", n)
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

func TestBindFailureAndRollback(t *testing.T) { bothPaths(t, testBindFailureAndRollback) }

func testBindFailureAndRollback(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	b := startBackend(t, 0)
	s1 := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s1)
	// a port held by someone else, without SO_REUSEPORT
	busy, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(vip(2), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip(2), Port: uint16(busy.Addr().(*net.TCPAddr).Port)},
		Scheduler: "rr", Reals: []lb.Real{{Addr: b.addr.Addr(), Port: b.addr.Port(), Weight: 1}}}
	s1b := tcpService(t, 1, "wlc", b.addr)
	prev := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{s1}}
	err = e.Apply(&lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{s1, s1b, bad}})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Apply with a busy address: %v, want EADDRINUSE", err)
	}
	if err := e.Apply(prev); err != nil {
		t.Fatalf("re-applying the previous state: %v", err)
	}
	cs, _ := e.Counters()
	if len(cs) != 1 || cs[0].Key != s1.ServiceKey {
		t.Fatalf("after rollback: %+v", cs)
	}
	c := dialVIP(t, s1)
	if name, err := c.greet(); err != nil || name != b.name {
		t.Fatalf("service after rollback: %q %v", name, err)
	}
	// the rolled back service's address is free again
	if l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(s1b.Addr, s1b.Port))); err != nil {
		t.Errorf("rolled back service still bound: %v", err)
	} else {
		l.Close()
	}
}

func TestFreebindVIPNotOnHost(t *testing.T) { bothPaths(t, testFreebindVIPNotOnHost) }

func testFreebindVIPNotOnHost(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	// TEST-NET-2: not on this host; binding it sends nothing anywhere
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("198.51.100.77"), Port: 8080},
		Scheduler: "rr", Reals: []lb.Real{{Addr: realIP(0), Port: 80, Weight: 1}}}
	u := *s
	u.Protocol = lb.UDP
	if err := e.Apply(&lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{s, &u}}); err != nil {
		t.Fatalf("VIP not on the host: %v", err)
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

// udpEcho is a UDP backend answering "NAME:DATAGRAM".
func udpEcho(t testing.TB, i int) (string, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(realIP(i), 0)))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("real%d", i)
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			c.WriteToUDPAddrPort(append([]byte(name+":"), buf[:n]...), from)
		}
	}()
	return name, addrPortOf(c.LocalAddr())
}

func newUDPService(t testing.TB, sched string, reals ...netip.AddrPort) *lb.Service {
	s := tcpService(t, 0, sched, reals...)
	s.Protocol = lb.UDP
	return s
}

func udpAsk(t testing.TB, c *net.UDPConn, msg string) (string, error) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 64<<10)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func udpDial(t testing.TB, s *lb.Service) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(clientIP(0), 0)),
		net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestUDPSessionExpiresAndCounts(t *testing.T) { bothPaths(t, testUDPSessionExpiresAndCounts) }

func testUDPSessionExpiresAndCounts(t *testing.T) {
	var clk clock
	e := newTestEngine(t, Options{Now: clk.Now})
	defer e.Close()
	n0, a0 := udpEcho(t, 0)
	n1, a1 := udpEcho(t, 1)
	s := newUDPService(t, "rr", a0, a1)
	st := &lb.State{Timeouts: lb.Timeouts{TCP: 900, TCPFin: 120, UDP: 30}, Services: []*lb.Service{s}}
	if err := e.Apply(st); err != nil {
		t.Fatal(err)
	}
	c := udpDial(t, s)
	got, err := udpAsk(t, c, "one")
	if err != nil || got != n1+":one" {
		t.Fatalf("first datagram: %q %v", got, err)
	}
	clk.Step(29 * time.Second)
	e.expire()
	if got, _ := udpAsk(t, c, "two"); got != n1+":two" {
		t.Fatalf("within the UDP timeout: %q", got)
	}
	if conns, _ := e.Conns(); len(conns) != 1 || conns[0].State != "UDP" || conns[0].Expires != 30*time.Second {
		t.Fatalf("entries: %+v, want one UDP entry expiring in 30s", conns)
	}
	clk.Step(31 * time.Second)
	e.expire()
	waitFor(t, "the session to close", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		u := e.services[s.ServiceKey].udp
		u.mu.Lock()
		defer u.mu.Unlock()
		return len(u.sessions) == 0
	})
	if got, _ := udpAsk(t, c, "three"); got != n0+":three" {
		t.Fatalf("after the session expired: %q, want it scheduled anew (rr: %s)", got, n0)
	}
	r1 := realStats(t, e, s.ServiceKey, a1)
	if r1.Stats != (lb.Stats{Conns: 1, InPkts: 2, OutPkts: 2, InBytes: 6, OutBytes: uint64(6 + 2*len(n1+":"))}) {
		t.Errorf("UDP counters: %+v", r1.Stats)
	}
	if r1.Inactive != 0 {
		t.Errorf("expired session still counted: %+v", r1)
	}
}

func TestUDPSessionBound(t *testing.T) { bothPaths(t, testUDPSessionBound) }

func testUDPSessionBound(t *testing.T) {
	e := newTestEngine(t, Options{MaxUDPSessions: 3})
	defer e.Close()
	_, a0 := udpEcho(t, 0)
	s := newUDPService(t, "rr", a0)
	apply(t, e, s)
	var ok int
	for range 5 {
		c := udpDial(t, s)
		if _, err := udpAsk(t, c, "x"); err == nil {
			ok++
		}
	}
	if ok != 3 {
		t.Errorf("%d of 5 clients served with a bound of 3 sessions", ok)
	}
	if n := e.services[s.ServiceKey].udp.drops.Load(); n != 2 {
		t.Errorf("%d drops counted, want 2", n)
	}
}

func TestUDPOnePacketRepliesAndCounts(t *testing.T) { bothPaths(t, testUDPOnePacketRepliesAndCounts) }

func testUDPOnePacketRepliesAndCounts(t *testing.T) {
	var clk clock
	e := newTestEngine(t, Options{Now: clk.Now, OnePacketReplyTime: 3 * time.Second})
	defer e.Close()
	n0, a0 := udpEcho(t, 0)
	n1, a1 := udpEcho(t, 1)
	s := newUDPService(t, "rr", a0, a1)
	s.Flags = lb.OnePacket
	apply(t, e, s)
	c := udpDial(t, s)
	for i, want := range []string{n1, n0, n1, n0} {
		got, err := udpAsk(t, c, "q")
		if err != nil || got != want+":q" {
			t.Fatalf("datagram %d: %q %v, want %s", i, got, err, want)
		}
	}
	if conns, _ := e.Conns(); len(conns) != 0 {
		t.Errorf("one-packet entries listed: %+v", conns)
	}
	r := realStats(t, e, s.ServiceKey, a0)
	if r.Stats.Conns != 2 || r.Inactive != 0 || r.Active != 0 {
		t.Errorf("one-packet real: %+v, want 2 connections, none kept", r)
	}
	u := e.services[s.ServiceKey].udp
	clk.Step(4 * time.Second)
	e.expire()
	u.mu.Lock()
	left := len(u.ops)
	u.mu.Unlock()
	if left != 0 {
		t.Errorf("%d reply windows left after their time", left)
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

func TestApplyWhileConnectingDoesNotLoseConnections(t *testing.T) {
	bothPaths(t, testApplyWhileConnectingDoesNotLoseConnections)
}

func testApplyWhileConnectingDoesNotLoseConnections(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	var bs []*backend
	for i := range 4 {
		bs = append(bs, startBackend(t, i))
	}
	s := tcpService(t, 0, "wlc", bs[0].addr, bs[1].addr)
	apply(t, e, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
				if err != nil {
					fails.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
					fails.Add(1)
				}
				c.Close()
			}
		}()
	}
	for i := range 40 {
		n := s.Clone()
		n.Reals = append(n.Reals, lb.Real{Addr: bs[2+i%2].addr.Addr(), Port: bs[2+i%2].addr.Port(), Forward: lb.Masq, Weight: int32(1 + i%3)})
		n.Reals[0].Weight = int32(i % 3)
		n.Scheduler = []string{"wlc", "rr", "lc", "sh"}[i%4]
		apply(t, e, n)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if f := fails.Load(); f != 0 {
		t.Errorf("%d connections failed while the service changed", f)
	}
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

func TestIPv6(t *testing.T) { bothPaths(t, testIPv6) }

func testIPv6(t *testing.T) {
	l, err := net.ListenTCP("tcp6", &net.TCPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "six\n")
			c.Close()
		}
	}()
	e := newTestEngine(t, Options{})
	defer e.Close()
	s := tcpService(t, 0, "rr") // an IPv4 VIP to an IPv6 real: a full proxy mixes families
	s.Reals = []lb.Real{{Addr: netip.IPv6Loopback(), Port: uint16(l.Addr().(*net.TCPAddr).Port), Forward: lb.FullNAT, Weight: 1}}
	s6 := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.IPv6Loopback(), Port: freePort(t, netip.IPv6Loopback())},
		Scheduler: "wlc", Flags: lb.Persistent, Timeout: 60, Netmask: 64, Reals: s.Reals}
	apply(t, e, s, s6)
	for _, svc := range []*lb.Service{s, s6} {
		c := dialVIPFrom(t, svc)
		if name, err := c.greet(); err != nil || name != "six" {
			t.Fatalf("%s: %q %v", svc.ServiceKey, name, err)
		}
	}
	conns, _ := e.Conns()
	var tmpl bool
	for _, c := range conns {
		tmpl = tmpl || c.Template && c.Client == netip.MustParseAddrPort("[::]:0")
	}
	if !tmpl {
		t.Errorf("no IPv6 /64 template for ::1 in %+v", conns)
	}
}

// dialVIPFrom connects to s from the loopback of its family.
func dialVIPFrom(t testing.TB, s *lb.Service) *conn {
	t.Helper()
	if s.Addr.Is4() {
		return dialVIP(t, s)
	}
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &conn{c, bufio.NewReader(c)}
}

func TestUDPPersistence(t *testing.T) { bothPaths(t, testUDPPersistence) }

func testUDPPersistence(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	_, a0 := udpEcho(t, 0)
	_, a1 := udpEcho(t, 1)
	s := newUDPService(t, "rr", a0, a1)
	s.Flags, s.Timeout, s.Netmask = lb.Persistent, 60, 0xffffff00
	apply(t, e, s)
	var first string
	for i := range 4 { // four sockets, four client ports, one /24: one real
		got, err := udpAsk(t, udpDial(t, s), "x")
		name, _, _ := strings.Cut(got, ":")
		if err != nil || i > 0 && name != first {
			t.Fatalf("client socket %d: %q %v, want %s", i, got, err, first)
		}
		first = name
	}
	conns, _ := e.Conns()
	var assured bool
	for _, c := range conns {
		assured = assured || c.Template && c.State == "ASSURED"
	}
	if !assured {
		t.Errorf("no ASSURED template after replies: %+v", conns)
	}
}
