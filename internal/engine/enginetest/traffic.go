package enginetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// Traffic is what the traffic tests need of the network the engine forwards in: backends on
// the harness's real addresses, and clients that reach its VIPs. Engines that forward in
// other network namespaces (ipvs, xdp) supply functions that create the sockets there; the
// suite then uses them from any goroutine. Loopback gives the functions for an engine that
// forwards on the host's loopback (the proxy).
type Traffic struct {
	// ListenTCP and ListenUDP open a backend socket on real address addr, on any port.
	ListenTCP func(addr netip.Addr) (*net.TCPListener, error)
	ListenUDP func(addr netip.Addr) (*net.UDPConn, error)
	// DialTCP and DialUDP connect client number client (0 .. Clients-1) to vip. Clients
	// with different numbers have different source addresses.
	DialTCP func(client int, vip netip.AddrPort) (*net.TCPConn, error)
	DialUDP func(client int, vip netip.AddrPort) (*net.UDPConn, error)
	// Clients is how many distinct client addresses DialTCP and DialUDP can use (1 or more).
	Clients int
	// Port returns a port that is free for both TCP and UDP on VIP address vip.
	Port func(vip netip.Addr) (uint16, error)
	// PayloadBytes is true when the engine's byte counters count payload (a proxy); when
	// false (the kernel counts IP packet lengths) byte counters are only checked to be at
	// least the payload.
	PayloadBytes bool
	// Settle bounds how long the suite waits for counters and connection states to follow
	// traffic; 0 means 5 s.
	Settle time.Duration
}

// Loopback returns a Traffic for an engine that forwards on the host: backends and clients
// use the addresses as they are, clients bind client(i) as their source address.
func Loopback(clients int, client func(i int) netip.Addr) *Traffic {
	return &Traffic{
		ListenTCP: func(a netip.Addr) (*net.TCPListener, error) {
			return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		},
		ListenUDP: func(a netip.Addr) (*net.UDPConn, error) {
			return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		},
		DialTCP: func(i int, vip netip.AddrPort) (*net.TCPConn, error) {
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialTCP(context.Background(), "tcp", netip.AddrPortFrom(client(i), 0), vip)
		},
		DialUDP: func(i int, vip netip.AddrPort) (*net.UDPConn, error) {
			return net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(client(i), 0)), net.UDPAddrFromAddrPort(vip))
		},
		Clients: clients,
		Port: func(vip netip.Addr) (uint16, error) {
			for range 20 {
				l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(vip, 0)))
				if err != nil {
					return 0, err
				}
				port := uint16(l.Addr().(*net.TCPAddr).Port)
				u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(vip, port)))
				l.Close()
				if err == nil {
					u.Close()
					return port, nil
				}
			}
			return 0, errors.New("no port free for both TCP and UDP")
		},
		PayloadBytes: true,
	}
}

// runTraffic runs the traffic tests.
func runTraffic(t *testing.T, h Harness) {
	if h.Traffic.Clients < 1 {
		h.Traffic.Clients = 1
	}
	if h.Traffic.Settle == 0 {
		h.Traffic.Settle = 5 * time.Second
	}
	tt := &trafficTest{h: h, tr: h.Traffic}
	t.Run("RoundRobin", tt.roundRobin)
	t.Run("WeightedRoundRobin", tt.weightedRoundRobin)
	t.Run("Persistence", tt.persistence)
	t.Run("QuiesceKeepsOpenConnection", tt.quiesce)
	t.Run("DeleteRealWithOpenConnection", tt.deleteReal)
	t.Run("Threshold", tt.threshold)
	t.Run("HalfClose", tt.halfClose)
	t.Run("UDPSessions", tt.udpSessions)
	t.Run("UDPOnePacket", tt.udpOnePacket)
	t.Run("Counters", tt.counters)
	t.Run("ActiveInactive", tt.activeInactive)
}

type trafficTest struct {
	h  Harness
	tr *Traffic
}

// ioTimeout bounds every read and write of the suite's clients and backends.
const ioTimeout = 10 * time.Second

// tcpBackend is a line server on a real address. Per connection it answers "id" with its
// name, "shut" with "ok" and a half-close of its side, any other line with "echo LINE"; at
// the client's EOF it says "bye" (unless shut), closes, and reports the bytes it received.
type tcpBackend struct {
	name string
	addr netip.AddrPort
	// got receives the bytes each finished connection received.
	got chan int
}

func (tt *trafficTest) startTCP(t *testing.T, i int) *tcpBackend {
	t.Helper()
	l, err := tt.tr.ListenTCP(tt.h.Real(i))
	if err != nil {
		t.Fatalf("backend %d: %v", i, err)
	}
	b := &tcpBackend{name: fmt.Sprintf("real%d", i), addr: addrPort(l.Addr()), got: make(chan int, 256)}
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
			go func() { defer wg.Done(); b.serve(c) }()
		}
	}()
	return b
}

func (b *tcpBackend) serve(c *net.TCPConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * ioTimeout))
	r := bufio.NewReader(c)
	n, shut := 0, false
	for {
		line, err := r.ReadString('\n')
		n += len(line)
		if err != nil {
			if !shut {
				io.WriteString(c, "bye\n")
			}
			select {
			case b.got <- n:
			default:
			}
			return
		}
		switch line = strings.TrimSuffix(line, "\n"); line {
		case "id":
			io.WriteString(c, b.name+"\n")
		case "shut":
			io.WriteString(c, "ok\n")
			c.CloseWrite()
			shut = true
		default:
			if !shut {
				io.WriteString(c, "echo "+line+"\n")
			}
		}
	}
}

// startUDP starts a backend that answers each datagram with "NAME:DATAGRAM".
func (tt *trafficTest) startUDP(t *testing.T, i int) *tcpBackend {
	t.Helper()
	c, err := tt.tr.ListenUDP(tt.h.Real(i))
	if err != nil {
		t.Fatalf("UDP backend %d: %v", i, err)
	}
	b := &tcpBackend{name: fmt.Sprintf("real%d", i), addr: addrPort(c.LocalAddr())}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			c.WriteToUDPAddrPort([]byte(b.name+":"+string(buf[:n])), from)
		}
	}()
	return b
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// fwd is the forwarding method the traffic tests give reals: masq when the engine has it.
func (tt *trafficTest) fwd() lb.Forward {
	if slices.Contains(tt.h.Forwards, lb.Masq) || len(tt.h.Forwards) == 0 {
		return lb.Masq
	}
	return tt.h.Forwards[0]
}

// service returns a service of protocol p on a free port of VIP 0 with the backends as reals
// of weight 1, applied to a new engine.
func (tt *trafficTest) service(t *testing.T, p lb.Protocol, scheduler string, bs ...*tcpBackend) *lb.Service {
	t.Helper()
	vip := tt.h.VIP(0)
	port, err := tt.tr.Port(vip)
	if err != nil {
		t.Fatalf("free port on %s: %v", vip, err)
	}
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: p, Addr: vip, Port: port}, Scheduler: scheduler}
	for _, b := range bs {
		s.Reals = append(s.Reals, lb.Real{Addr: b.addr.Addr(), Port: b.addr.Port(), Forward: tt.fwd(), Weight: 1})
	}
	return s
}

func state(ss ...*lb.Service) *lb.State {
	return &lb.State{Timeouts: lb.DefaultTimeouts, Services: ss}
}

func vipOf(s *lb.Service) netip.AddrPort { return netip.AddrPortFrom(s.Addr, s.Port) }

// client is one TCP client connection with line-reading helpers.
type client struct {
	t    *testing.T
	c    *net.TCPConn
	r    *bufio.Reader
	sent int
	recv int
}

func (tt *trafficTest) dial(t *testing.T, n int, s *lb.Service) *client {
	t.Helper()
	c, err := tt.tr.DialTCP(n, vipOf(s))
	if err != nil {
		t.Fatalf("client %d: connect to %s: %v", n, vipOf(s), err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *client) send(line string) {
	c.t.Helper()
	n, err := io.WriteString(c.c, line+"\n")
	c.sent += n
	if err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	s, err := c.r.ReadString('\n')
	c.recv += len(s)
	if err != nil {
		c.t.Fatalf("read: got %q, %v", s, err)
	}
	return strings.TrimSuffix(s, "\n")
}

func (c *client) ask(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// finish half-closes, reads the rest until the backend's FIN and closes: a clean close both
// ways. It returns what was read.
func (c *client) finish() string {
	c.t.Helper()
	c.c.CloseWrite()
	rest, err := io.ReadAll(c.r)
	c.recv += len(rest)
	if err != nil {
		c.t.Fatalf("reading to EOF: %v", err)
	}
	c.c.Close()
	return string(rest)
}

// visit makes one connection that asks for the real's name and closes cleanly.
func (tt *trafficTest) visit(t *testing.T, n int, s *lb.Service) string {
	t.Helper()
	c := tt.dial(t, n, s)
	id := c.ask("id")
	if rest := c.finish(); rest != "bye\n" {
		t.Fatalf("after the id, the backend said %q, want bye", rest)
	}
	return id
}

// expected returns the names the kernel's scheduler would pick for n new connections of s,
// from a fresh sched.Pool (identical decisions to the kernel's for rr and wrr).
func expected(t *testing.T, s *lb.Service, names map[netip.AddrPort]string, n int) []string {
	t.Helper()
	p, err := sched.NewPool(s, sched.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for range n {
		d := p.Schedule(sched.Flow{Protocol: s.Protocol, Dest: vipOf(s)})
		if d == nil {
			t.Fatal("reference scheduler found no real")
		}
		out = append(out, names[d.AddrPort()])
	}
	return out
}

func namesOf(bs ...*tcpBackend) map[netip.AddrPort]string {
	m := map[netip.AddrPort]string{}
	for _, b := range bs {
		m[b.addr] = b.name
	}
	return m
}

// eventually polls f until it returns nil or the settle time ends.
func (tt *trafficTest) eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(tt.tr.Settle)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// realCounters returns the counters of real b of service s.
func realCounters(e engine.Engine, s *lb.Service, b *tcpBackend) (engine.RealCounters, error) {
	cs, err := e.Counters()
	if err != nil {
		return engine.RealCounters{}, err
	}
	for _, c := range cs {
		if c.Key != s.ServiceKey {
			continue
		}
		for _, r := range c.Reals {
			if netip.AddrPortFrom(r.Addr, r.Port) == b.addr {
				return r, nil
			}
		}
	}
	return engine.RealCounters{}, fmt.Errorf("no counters for real %s of %s", b.addr, s.ServiceKey)
}
