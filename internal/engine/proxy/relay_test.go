package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// relayPair returns a client connection whose traffic is relayed to a connection the backend
// func handles, and the relay's byte counters, which are final once done is closed.
func relayPair(t *testing.T, fin time.Duration, backend func(c *net.TCPConn)) (c *net.TCPConn, up, down *atomic.Uint64, done chan struct{}) {
	t.Helper()
	bl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close(); pl.Close() })
	go func() {
		c, err := bl.AcceptTCP()
		if err != nil {
			return
		}
		backend(c)
	}()
	up, down, done = new(atomic.Uint64), new(atomic.Uint64), make(chan struct{})
	bufs := newBufPool(bufSize)
	go func() {
		defer close(done)
		pc, err := pl.AcceptTCP()
		if err != nil {
			return
		}
		bc, err := net.DialTCP("tcp", nil, bl.Addr().(*net.TCPAddr))
		if err != nil {
			pc.Close()
			return
		}
		r := &relay{client: pc, backend: bc, bufs: bufs, finTimeout: fin}
		r.run()
		up.Store(r.up.Load())
		down.Store(r.down.Load())
	}()
	c, err = net.DialTCP("tcp", nil, pl.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, up, down, done
}

func wait(t *testing.T, done chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("relay did not finish")
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

func TestRelayBulkBothWays(t *testing.T) {
	req, resp := pattern(10<<20+123), pattern(5<<20+7)
	got := make(chan []byte, 1)
	c, up, down, done := relayPair(t, 5*time.Second, func(b *net.TCPConn) {
		in, _ := io.ReadAll(b) // until the client's FIN arrives through the relay
		got <- in
		b.Write(resp)
		b.Close()
	})
	go func() { c.Write(req); c.CloseWrite() }()
	back, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, done)
	if in := <-got; !bytes.Equal(in, req) {
		t.Fatalf("backend got %d bytes, want %d identical", len(in), len(req))
	}
	if !bytes.Equal(back, resp) {
		t.Fatalf("client got %d bytes, want %d identical", len(back), len(resp))
	}
	if up.Load() != uint64(len(req)) || down.Load() != uint64(len(resp)) {
		t.Fatalf("counted %d up / %d down, want %d / %d", up.Load(), down.Load(), len(req), len(resp))
	}
}

func TestRelayHalfCloseKeepsOtherWay(t *testing.T) {
	// the client sends its request and half-closes; the answer comes later and in pieces
	c, _, down, done := relayPair(t, 5*time.Second, func(b *net.TCPConn) {
		io.ReadAll(b)
		for i := 0; i < 3; i++ {
			time.Sleep(50 * time.Millisecond)
			b.Write([]byte("part "))
		}
		b.Close()
	})
	c.Write([]byte("request"))
	c.CloseWrite()
	back, err := io.ReadAll(c)
	if err != nil || string(back) != "part part part " {
		t.Fatalf("after half-close got %q, %v", back, err)
	}
	wait(t, done)
	if down.Load() != 15 {
		t.Fatalf("down %d", down.Load())
	}
}

func TestRelayFinTimeout(t *testing.T) {
	// a backend that never answers nor closes after the client's FIN: the relay gives up
	// after the FIN timeout instead of holding both sockets forever
	hold := make(chan struct{})
	defer close(hold)
	c, _, _, done := relayPair(t, 100*time.Millisecond, func(b *net.TCPConn) {
		<-hold
		b.Close()
	})
	c.CloseWrite()
	wait(t, done)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client still connected after the FIN timeout")
	}
}

func TestRelayResetPropagates(t *testing.T) {
	c, _, _, done := relayPair(t, 5*time.Second, func(b *net.TCPConn) {
		b.Read(make([]byte, 10))
		b.SetLinger(0)
		b.Close() // RST
	})
	c.Write([]byte("hello"))
	wait(t, done)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read after the backend's reset: %v, want ECONNRESET", err)
	}
}

func TestRelayIdleConnectionsHoldNoBuffer(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	var allocs atomic.Int64
	bufs := &bufPool{p: sync.Pool{New: func() any { allocs.Add(1); b := make([]byte, bufSize); return &b }}}
	bl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	defer pl.Close()
	const n = 40
	var relays []*relay
	var wg sync.WaitGroup
	defer func() {
		for _, r := range relays {
			r.abort()
		}
		wg.Wait()
	}()
	for range n {
		c, err := net.DialTCP("tcp", nil, pl.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pc, _ := pl.AcceptTCP()
		bc, err := net.DialTCP("tcp", nil, bl.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := bl.AcceptTCP()
		defer b.Close()
		r := &relay{client: pc, backend: bc, bufs: bufs, finTimeout: time.Second}
		relays = append(relays, r)
		wg.Add(1)
		go func() { defer wg.Done(); r.run() }()
		// one message each way, then idle
		c.Write([]byte("ping"))
		if _, err := io.ReadFull(b, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		b.Write([]byte("pong"))
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
	}
	if a := allocs.Load(); a > n/2 {
		t.Errorf("%d buffers allocated for %d idle relayed connections: idle directions hold buffers", a, n)
	}
}
