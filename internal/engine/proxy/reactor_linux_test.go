package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/golvs/golvs/internal/lb"
)

// Tests of the reactor's own mechanics (write stalls, bounded buffers and pipes), and of
// semantics whose mechanics differ between the paths (resets, FIN timeout, descriptors),
// run on both.

// loopStats is what a test reads of a reactor loop, on the loop.
type loopStats struct {
	live, bufs, pipes, pipesOpen int
	stalls                       uint64
}

// statsOf returns the stats of every loop of e's reactor, added up.
func statsOf(t testing.TB, e *Engine) loopStats {
	t.Helper()
	r := e.tcp.(*reactor)
	per := make([]loopStats, len(r.loops))
	r.each(func(i int, l *loop) {
		st := loopStats{live: len(l.live), pipesOpen: l.pipes.open, stalls: l.stalls}
		for _, c := range l.live {
			for _, h := range c.dir {
				if h.buf != nil {
					st.bufs++
				}
				if h.pipe != nil {
					st.pipes++
				}
			}
		}
		per[i] = st
	})
	var sum loopStats
	for _, st := range per {
		sum.live += st.live
		sum.bufs += st.bufs
		sum.pipes += st.pipes
		sum.pipesOpen += st.pipesOpen
		sum.stalls += st.stalls
	}
	return sum
}

// listenReal opens a backend listener on real address i.
func listenReal(t testing.TB, i int) *net.TCPListener {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(i), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestReactorWriteStallWaitsForEPOLLOUT(t *testing.T) {
	for _, mode := range []string{"copy", "splice"} {
		t.Run(mode, func(t *testing.T) {
			e := newTestEngine(t, Options{DataPath: DataPathReactor, Listeners: 1})
			defer e.Close()
			if mode == "copy" { // no pipes: bulk goes through the buffer too
				e.tcp.(*reactor).each(func(_ int, l *loop) { l.pipes.max = 0 })
			}
			// a backend that reads nothing until told, then all, and answers the count
			l := listenReal(t, 0)
			start := make(chan struct{})
			got := make(chan []byte, 1)
			go func() {
				c, err := l.AcceptTCP()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				<-start
				b, _ := io.ReadAll(c)
				got <- b
				fmt.Fprintf(c, "%d", len(b))
			}()
			s := tcpService(t, 0, "rr", addrPortOf(l.Addr()))
			apply(t, e, s)
			c := dialVIP(t, s)
			data := pattern(24 << 20) // more than the socket buffers on the way hold
			go func() { c.Write(data); c.CloseWrite() }()
			waitFor(t, "a write to the backend to stall", func() bool { return statsOf(t, e).stalls > 0 })
			close(start)
			if b := <-got; !bytes.Equal(b, data) {
				t.Fatalf("backend got %d bytes, want the %d sent, identical", len(b), len(data))
			}
			if reply, err := io.ReadAll(c); err != nil || string(reply) != fmt.Sprint(len(data)) {
				t.Fatalf("reply %q %v", reply, err)
			}
			waitFor(t, "the counters", func() bool {
				r := realStats(t, e, s.ServiceKey, addrPortOf(l.Addr()))
				return r.Stats.InBytes == uint64(len(data)) && r.Stats.OutBytes == uint64(len(fmt.Sprint(len(data))))
			})
			if st := statsOf(t, e); st.live != 0 || st.pipesOpen > pipesPerLoop {
				t.Errorf("after the connection: %+v", st)
			}
		})
	}
}

func TestReactorConnectionsHoldNoBuffersWhenIdle(t *testing.T) {
	// a connection costs its state, and a buffer or a pipe per direction only while
	// bytes wait in it
	if s := unsafe.Sizeof(rconn{}); s > 1024 {
		t.Errorf("a connection's state takes %d bytes, want at most 1 KiB", s)
	}
	e := newTestEngine(t, Options{DataPath: DataPathReactor, Listeners: 2})
	defer e.Close()
	b := startBackend(t, 0)
	s := tcpService(t, 0, "rr", b.addr)
	apply(t, e, s)
	const n = 300
	cs := make([]*conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range cs {
		cs[i] = dialVIP(t, s)
		wg.Add(1)
		go func(c *conn) {
			defer wg.Done()
			if name, err := c.greet(); err != nil || name != b.name {
				errs <- fmt.Errorf("greet: %q %v", name, err)
				return
			}
			io.WriteString(c, "ping\n")
			if got, err := c.r.ReadString('\n'); err != nil || got != "ping\n" {
				errs <- fmt.Errorf("echo: %q %v", got, err)
			}
		}(cs[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := statsOf(t, e); st.live != n || st.bufs != 0 || st.pipes != 0 {
		t.Errorf("%d idle connections: %+v; want all live, no buffer or pipe held", n, st)
	}
	// bulk on a few of them at once: pipes stay within the pool's bound
	var bulk sync.WaitGroup
	for _, c := range cs[:16] {
		bulk.Add(1)
		go func(c *conn) {
			defer bulk.Done()
			go c.Write(pattern(4 << 20))
			io.ReadFull(c.r, make([]byte, 4<<20))
		}(c)
	}
	bulk.Wait()
	if st := statsOf(t, e); st.pipesOpen > 2*pipesPerLoop || st.bufs != 0 || st.pipes != 0 {
		t.Errorf("after bulk: %+v; want at most %d pipes open, none held", st, 2*pipesPerLoop)
	}
	for _, c := range cs {
		c.Close()
	}
	waitFor(t, "the connections to close", func() bool { return statsOf(t, e).live == 0 })
}

func TestResetMidTransfer(t *testing.T) { bothPaths(t, testResetMidTransfer) }

func testResetMidTransfer(t *testing.T) {
	e := newTestEngine(t, Options{})
	defer e.Close()
	chunk := make([]byte, 64<<10)

	// the real resets while the client streams to it
	l := listenReal(t, 0)
	go func() {
		c, err := l.AcceptTCP()
		if err != nil {
			return
		}
		io.ReadFull(c, make([]byte, 256<<10))
		c.SetLinger(0)
		c.Close()
	}()
	s := tcpService(t, 0, "rr", addrPortOf(l.Addr()))
	apply(t, e, s)
	c := dialVIP(t, s)
	var err error
	for i := 0; i < 1024 && err == nil; i++ { // at most 64 MiB
		_, err = c.Write(chunk)
	}
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("client of a real that reset: %v, want a reset", err)
	}
	waitFor(t, "the entry to be CLOSE", func() bool {
		conns, _ := e.Conns()
		return len(conns) == 1 && conns[0].State == "CLOSE"
	})

	// the client resets while the real streams to it
	l2 := listenReal(t, 1)
	backendErr := make(chan error, 1)
	go func() {
		c, err := l2.AcceptTCP()
		if err != nil {
			backendErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		for i := 0; i < 1024 && err == nil; i++ {
			_, err = c.Write(chunk)
		}
		if err == nil {
			_, err = c.Read(make([]byte, 1))
		}
		backendErr <- err
	}()
	s2 := tcpService(t, 1, "rr", addrPortOf(l2.Addr()))
	apply(t, e, s, s2)
	c2 := dialVIP(t, s2)
	if _, err := io.ReadFull(c2, make([]byte, 128<<10)); err != nil {
		t.Fatal(err)
	}
	c2.SetLinger(0)
	c2.Close()
	if err := <-backendErr; !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("real of a client that reset: %v, want a reset", err)
	}
}

func TestFinTimeoutClosesIdleHalfClosedConnection(t *testing.T) {
	bothPaths(t, testFinTimeoutClosesIdleHalfClosedConnection)
}

func testFinTimeoutClosesIdleHalfClosedConnection(t *testing.T) {
	// the table's clock stands still: its entry, whose FIN_WAIT timeout (1 s) is shorter
	// than the 2 s sample that refreshes it, must not expire and have the connection reset
	var clk clock
	e := newTestEngine(t, Options{Now: clk.Now})
	defer e.Close()
	// a real that greets, half-closes, and reads until the proxy closes
	l := listenReal(t, 0)
	type result struct {
		n   int
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		c, err := l.AcceptTCP()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "hi\n")
		c.CloseWrite()
		b, err := io.ReadAll(c)
		done <- result{len(b), err, time.Now()}
	}()
	s := tcpService(t, 0, "rr", addrPortOf(l.Addr()))
	st := &lb.State{Timeouts: lb.Timeouts{TCP: 900, TCPFin: 1, UDP: 300}, Services: []*lb.Service{s}}
	if err := e.Apply(st); err != nil {
		t.Fatal(err)
	}
	c := dialVIP(t, s)
	if got, err := io.ReadAll(c.r); err != nil || string(got) != "hi\n" {
		t.Fatalf("greeting then the real's FIN: %q %v", got, err)
	}
	// FIN_WAIT, FIN timeout 1 s: data from the client keeps the connection
	for range 4 {
		time.Sleep(400 * time.Millisecond)
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatalf("half-closed connection closed while moving data: %v", err)
		}
	}
	idle := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle half-closed connection was not closed")
	}
	if r.err != nil || r.n != 4 {
		t.Fatalf("real read %d bytes, %v; want 4 and the proxy's FIN", r.n, r.err)
	}
	if d := r.at.Sub(idle); d < 900*time.Millisecond || d > 4*time.Second {
		t.Errorf("closed %v after the last data, want about the 1 s FIN timeout", d)
	}
	waitFor(t, "the entry to go", func() bool {
		conns, _ := e.Conns()
		return len(conns) == 0
	})
}

func TestNoDescriptorLeft(t *testing.T) { bothPaths(t, testNoDescriptorLeft) }

func testNoDescriptorLeft(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	b := startBackend(t, 0)
	dead := deadAddr(t, 1)
	base := fds()
	e := newTestEngine(t, Options{Retries: 1})
	s := tcpService(t, 0, "rr", b.addr, dead) // rr tries dead first every other time
	apply(t, e, s)
	var open []*conn
	for i := range 12 {
		c := dialVIP(t, s)
		if name, err := c.greet(); err != nil || name != b.name {
			t.Fatalf("connection %d: %q %v", i, name, err)
		}
		switch i % 4 {
		case 0: // bulk both ways: splice
			go c.Write(pattern(2 << 20))
			if _, err := io.ReadFull(c.r, make([]byte, 2<<20)); err != nil {
				t.Fatal(err)
			}
			c.Close()
		case 1: // reset by the client
			c.SetLinger(0)
			c.Close()
		case 2: // clean close
			c.echo(t, "bye")
			c.CloseWrite()
			io.ReadAll(c.r)
			c.Close()
		case 3: // still open at Close
			open = append(open, c)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range open {
		c.Close()
	}
	waitFor(t, "the descriptors to be closed", func() bool {
		runtime.GC() // Go's splice pipes (the goroutine path) are closed when collected
		return fds() <= base
	})
}

func TestClientFirstBytesReachRetriedReal(t *testing.T) {
	bothPaths(t, testClientFirstBytesReachRetriedReal)
}

func testClientFirstBytesReachRetriedReal(t *testing.T) {
	// the client speaks before the proxy has a real (the reactor reads it at accept and
	// sends it with the connect): refused connects must not lose it
	e := newTestEngine(t, Options{Retries: 2})
	defer e.Close()
	b := startBackend(t, 2)
	s := tcpService(t, 0, "rr", deadAddr(t, 0), deadAddr(t, 1), b.addr)
	apply(t, e, s)
	for i := range 6 {
		c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.Addr, s.Port)))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		msg := fmt.Sprintf("first %d\n", i)
		io.WriteString(c, msg)
		c.CloseWrite() // and the FIN too, before any real is connected
		got, err := io.ReadAll(c)
		c.Close()
		if want := b.name + "\n" + msg; err != nil || string(got) != want {
			t.Fatalf("connection %d: %q %v, want %q", i, got, err, want)
		}
	}
	waitFor(t, "the counters", func() bool {
		r := realStats(t, e, s.ServiceKey, b.addr)
		return r.Stats.Conns == 6 && r.Stats.InBytes == uint64(6*len("first 0\n"))
	})
}
