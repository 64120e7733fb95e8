package proxy

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
	"golang.org/x/sys/unix"
)

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
