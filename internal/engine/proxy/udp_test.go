package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

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
