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

func (tt *trafficTest) roundRobin(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1), tt.startTCP(t, 2)}
	s := tt.service(t, lb.TCP, "rr", bs...)
	mustApply(t, e, state(s))
	var got []string
	for range 7 {
		got = append(got, tt.visit(t, 0, s))
	}
	if want := expected(t, s, namesOf(bs...), 7); !slices.Equal(got, want) {
		t.Fatalf("rr picked %q, want the kernel's %q", got, want)
	}
}

func (tt *trafficTest) weightedRoundRobin(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1)}
	s := tt.service(t, lb.TCP, "wrr", bs...)
	s.Reals[1].Weight = 3
	mustApply(t, e, state(s))
	var got []string
	count := map[string]int{}
	for range 40 {
		id := tt.visit(t, 0, s)
		got = append(got, id)
		count[id]++
	}
	if want := expected(t, s, namesOf(bs...), 40); !slices.Equal(got, want) {
		t.Errorf("wrr picked %q, want the kernel's %q", got, want)
	}
	if count[bs[0].name] != 10 || count[bs[1].name] != 30 {
		t.Errorf("wrr 1:3 over 40 connections gave %v, want 10 and 30", count)
	}
}

func (tt *trafficTest) persistence(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1), tt.startTCP(t, 2)}
	s := tt.service(t, lb.TCP, "rr", bs...)
	s.Flags, s.Timeout, s.Netmask = lb.Persistent, 300, 0xffffffff
	mustApply(t, e, state(s))
	first := tt.visit(t, 0, s)
	for i := range 4 {
		if id := tt.visit(t, 0, s); id != first {
			t.Fatalf("persistent service: connection %d of one client went to %s, the first to %s", i+2, id, first)
		}
	}
	if tt.tr.Clients > 1 {
		other := tt.visit(t, 1, s)
		if other == first {
			t.Errorf("a second client was given the first client's real %s; rr should move on", other)
		}
		for range 2 {
			if id := tt.visit(t, 1, s); id != other {
				t.Errorf("second client moved from %s to %s", other, id)
			}
		}
	}
	conns, err := e.Conns()
	if err != nil {
		t.Fatal(err)
	}
	templates := 0
	for _, c := range conns {
		if c.Template {
			templates++
			if c.Client.Port() != 0 || c.Virtual != vipOf(s) {
				t.Errorf("template %+v: want client port 0 and virtual %s", c, vipOf(s))
			}
		}
	}
	if want := min(tt.tr.Clients, 2); templates != want {
		t.Errorf("%d persistence templates listed, want %d", templates, want)
	}
}

func (tt *trafficTest) quiesce(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1)}
	s := tt.service(t, lb.TCP, "rr", bs...)
	mustApply(t, e, state(s))
	c := tt.dial(t, 0, s)
	id := c.ask("id")
	n := s.Clone()
	for i := range n.Reals {
		if namesOf(bs...)[n.Reals[i].AddrPort()] == id {
			n.Reals[i].Weight = 0
		}
	}
	mustApply(t, e, state(n))
	if got := c.ask("still there"); got != "echo still there" {
		t.Fatalf("open connection after weight 0: got %q", got)
	}
	for range 4 {
		if other := tt.visit(t, 0, n); other == id {
			t.Fatalf("new connection went to quiesced real %s", id)
		}
	}
	if got := c.ask("and now"); got != "echo and now" {
		t.Fatalf("open connection to the quiesced real: got %q", got)
	}
	if rest := c.finish(); rest != "bye\n" {
		t.Fatalf("closing: %q", rest)
	}
}

func (tt *trafficTest) deleteReal(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1)}
	s := tt.service(t, lb.TCP, "rr", bs...)
	mustApply(t, e, state(s))
	c := tt.dial(t, 0, s)
	id := c.ask("id")
	n := s.Clone()
	n.Reals = slices.DeleteFunc(n.Reals, func(r lb.Real) bool { return namesOf(bs...)[r.AddrPort()] == id })
	mustApply(t, e, state(n))
	if got, want := shape(t, e), wantShape(state(n)); !slices.Equal(got, want) {
		t.Fatalf("after -d the engine reports %q, want %q", got, want)
	}
	if got := c.ask("after delete"); got != "echo after delete" {
		t.Fatalf("open connection to the deleted real: got %q", got)
	}
	for range 3 {
		if other := tt.visit(t, 0, n); other == id {
			t.Fatalf("new connection went to deleted real %s", id)
		}
	}
	if rest := c.finish(); rest != "bye\n" {
		t.Fatalf("closing the connection to the deleted real: %q", rest)
	}
}

func (tt *trafficTest) threshold(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1)}
	s := tt.service(t, lb.TCP, "wrr", bs...)
	// wrr gives real0 (weight 100) nearly every connection; its upper threshold 1 sends the
	// next concurrent one elsewhere
	s.Reals[0].Weight, s.Reals[0].UThreshold = 100, 1
	mustApply(t, e, state(s))
	var open []*client
	for len(open) < 3 {
		c := tt.dial(t, 0, s)
		open = append(open, c)
		if c.ask("id") == bs[0].name {
			break
		}
	}
	if len(open) == 3 {
		t.Fatalf("wrr with weights 100 and 1 did not pick %s in 3 connections", bs[0].name)
	}
	c := tt.dial(t, 0, s)
	if id := c.ask("id"); id != bs[1].name {
		t.Fatalf("connection while %s holds one went to %s, want %s: %s is at its threshold", bs[0].name, id, bs[1].name, bs[0].name)
	}
	tt.eventually(t, "ActiveConn of the real at its threshold", func() error {
		r, err := realCounters(e, s, bs[0])
		if err == nil && r.Active != 1 {
			err = fmt.Errorf("%s ActiveConn %d, want 1", bs[0].name, r.Active)
		}
		return err
	})
	for _, c := range append(open, c) {
		c.finish()
	}
}

func (tt *trafficTest) halfClose(t *testing.T) {
	e := open(t, tt.h)
	b := tt.startTCP(t, 0)
	s := tt.service(t, lb.TCP, "rr", b)
	mustApply(t, e, state(s))

	// the client half-closes; the backend's answer still comes back
	c := tt.dial(t, 0, s)
	c.send("hello")
	if rest := c.finish(); rest != "echo hello\nbye\n" {
		t.Fatalf("after the client's half-close got %q, want the echo and bye", rest)
	}
	if n := recvInt(t, b.got); n != len("hello\n") {
		t.Fatalf("backend received %d bytes, want %d", n, len("hello\n"))
	}

	// the backend half-closes; the client can still send
	c = tt.dial(t, 0, s)
	if got := c.ask("shut"); got != "ok" {
		t.Fatalf("shut: %q", got)
	}
	if rest, err := io.ReadAll(c.r); err != nil || len(rest) != 0 {
		t.Fatalf("after the backend's half-close: %q, %v; want EOF", rest, err)
	}
	c.send("after")
	c.c.CloseWrite()
	if n := recvInt(t, b.got); n != len("shut\nafter\n") {
		t.Fatalf("backend received %d bytes after its half-close, want %d", n, len("shut\nafter\n"))
	}
}

func recvInt(t *testing.T, ch chan int) int {
	t.Helper()
	select {
	case n := <-ch:
		return n
	case <-time.After(ioTimeout):
		t.Fatal("backend did not finish")
	}
	return 0
}

// exchange sends a datagram from c and returns the answer.
func exchange(t *testing.T, c *net.UDPConn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("answer to %q: %v", msg, err)
	}
	return string(buf[:n])
}

func (tt *trafficTest) udpClient(t *testing.T, n int, s *lb.Service) *net.UDPConn {
	t.Helper()
	c, err := tt.tr.DialUDP(n, vipOf(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (tt *trafficTest) udpSessions(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startUDP(t, 0), tt.startUDP(t, 1)}
	s := tt.service(t, lb.UDP, "rr", bs...)
	mustApply(t, e, state(s))
	a := tt.udpClient(t, 0, s)
	first := exchange(t, a, "a1")
	name, _, _ := strings.Cut(first, ":")
	if first != name+":a1" {
		t.Fatalf("answer %q", first)
	}
	for _, m := range []string{"a2", "a3"} {
		if got := exchange(t, a, m); got != name+":"+m {
			t.Fatalf("second datagram of a session: %q, want %q", got, name+":"+m)
		}
	}
	b := tt.udpClient(t, min(1, tt.tr.Clients-1), s)
	other, _, _ := strings.Cut(exchange(t, b, "b1"), ":")
	if other == name {
		t.Fatalf("a second client went to %s too; rr should move on", name)
	}
	if got := exchange(t, a, "a4"); got != name+":a4" {
		t.Fatalf("first client after the second came: %q", got)
	}
	tt.eventually(t, "UDP entries listed", func() error {
		conns, err := e.Conns()
		if err != nil {
			return err
		}
		n := 0
		for _, c := range conns {
			if c.Protocol == lb.UDP && !c.Template && c.Virtual == vipOf(s) && c.State == "UDP" {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d UDP entries, want 2: %+v", n, conns)
		}
		return nil
	})
}

func (tt *trafficTest) udpOnePacket(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startUDP(t, 0), tt.startUDP(t, 1)}
	s := tt.service(t, lb.UDP, "rr", bs...)
	s.Flags = lb.OnePacket
	mustApply(t, e, state(s))
	c := tt.udpClient(t, 0, s)
	var got []string
	for i := range 4 {
		name, _, _ := strings.Cut(exchange(t, c, fmt.Sprint("q", i)), ":")
		got = append(got, name)
	}
	if want := expected(t, s, namesOf(bs...), 4); !slices.Equal(got, want) {
		t.Fatalf("-o: datagrams of one client went to %q, want %q", got, want)
	}
}

func (tt *trafficTest) counters(t *testing.T) {
	e := open(t, tt.h)
	bs := []*tcpBackend{tt.startTCP(t, 0), tt.startTCP(t, 1)}
	s := tt.service(t, lb.TCP, "rr", bs...)
	mustApply(t, e, state(s))
	in, out := map[string]uint64{}, map[string]uint64{}
	for i := range 4 {
		c := tt.dial(t, 0, s)
		id := c.ask("id")
		c.ask(strings.Repeat("x", 1000*(i+1)))
		c.finish()
		in[id] += uint64(c.sent)
		out[id] += uint64(c.recv)
	}
	tt.eventually(t, "counters after 4 closed connections", func() error {
		cs, err := e.Counters()
		if err != nil {
			return err
		}
		if len(cs) != 1 {
			return fmt.Errorf("%d services", len(cs))
		}
		var sum lb.Stats
		for _, b := range bs {
			r, err := realCounters(e, s, b)
			if err != nil {
				return err
			}
			sum = sum.Add(r.Stats)
			st := r.Stats
			if st.Conns != 2 {
				return fmt.Errorf("%s: Conns %d, want 2", b.name, st.Conns)
			}
			if err := checkBytes(tt.tr.PayloadBytes, b.name+" InBytes", st.InBytes, in[b.name]); err != nil {
				return err
			}
			if err := checkBytes(tt.tr.PayloadBytes, b.name+" OutBytes", st.OutBytes, out[b.name]); err != nil {
				return err
			}
			if st.InPkts == 0 || st.OutPkts == 0 {
				return fmt.Errorf("%s: packets in %d, out %d, want some", b.name, st.InPkts, st.OutPkts)
			}
		}
		if got := cs[0].Stats; got.Conns != sum.Conns || got.InBytes != sum.InBytes || got.OutBytes != sum.OutBytes {
			return fmt.Errorf("service counters %+v, reals add up to %+v", got, sum)
		}
		return nil
	})
	if err := e.Zero(&s.ServiceKey); err != nil {
		t.Fatal(err)
	}
	cs, err := e.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Stats != (lb.Stats{}) {
		t.Errorf("after Zero: service counters %+v", cs[0].Stats)
	}
	for _, r := range cs[0].Reals {
		if r.Stats != (lb.Stats{}) {
			t.Errorf("after Zero: real %s counters %+v", r.Addr, r.Stats)
		}
	}
}

func checkBytes(exact bool, what string, got, payload uint64) error {
	if exact && got != payload || !exact && got < payload {
		return fmt.Errorf("%s %d, want %d of payload", what, got, payload)
	}
	return nil
}

func (tt *trafficTest) activeInactive(t *testing.T) {
	e := open(t, tt.h)
	b := tt.startTCP(t, 0)
	s := tt.service(t, lb.TCP, "rr", b)
	mustApply(t, e, state(s))
	c := tt.dial(t, 0, s)
	c.ask("id")
	tt.eventually(t, "open connection", func() error {
		r, err := realCounters(e, s, b)
		if err == nil && (r.Active != 1 || r.Inactive != 0) {
			err = fmt.Errorf("ActiveConn %d InActConn %d, want 1 0", r.Active, r.Inactive)
		}
		return err
	})
	client := addrPort(c.c.LocalAddr())
	c.finish()
	tt.eventually(t, "closed connection", func() error {
		r, err := realCounters(e, s, b)
		if err == nil && (r.Active != 0 || r.Inactive != 1) {
			err = fmt.Errorf("ActiveConn %d InActConn %d, want 0 1 (TIME_WAIT)", r.Active, r.Inactive)
		}
		if err != nil {
			return err
		}
		conns, err := e.Conns()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(conns, func(c engine.Conn) bool { return c.Client == client })
		if i < 0 {
			return fmt.Errorf("no entry for client %s in %+v", client, conns)
		}
		if c := conns[i]; c.State != "TIME_WAIT" || c.Real != b.addr || c.Virtual != vipOf(s) || c.Protocol != lb.TCP {
			return fmt.Errorf("entry after a clean close: %+v, want TCP TIME_WAIT to %s", c, b.addr)
		}
		return nil
	})
}
