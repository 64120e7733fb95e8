package enginetest

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

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
