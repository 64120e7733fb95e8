package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// Each benchmark runs against the proxy on each data path ("goroutine", "reactor") and, as
// "direct", against the backend itself, so that the proxy's cost can be stated as a ratio. Everything is on loopback, so the client,
// the proxy and the backend share the machine's cores.

// closer is a backend that closes every connection at once.
func closer(b *testing.B) netip.AddrPort {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(0), 0)))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	b.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.AcceptTCP()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return addrPortOf(l.Addr())
}

// sink is a backend that reads and discards; got receives the byte count of each connection.
func sink(b *testing.B) (netip.AddrPort, chan int64) {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(1), 0)))
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan int64, 16)
	var wg sync.WaitGroup
	b.Cleanup(func() { l.Close(); wg.Wait() })
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
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				got <- n
			}()
		}
	}()
	return addrPortOf(l.Addr()), got
}

// through returns the address to connect to: the backend itself (direct) or a proxy
// service in front of it.
func through(b *testing.B, direct bool, p lb.Protocol, backend netip.AddrPort) netip.AddrPort {
	if direct {
		return backend
	}
	e := newTestEngine(b, Options{})
	b.Cleanup(func() { e.Close() })
	s := tcpService(b, 0, "rr", backend)
	s.Protocol = p
	apply(b, e, s)
	return netip.AddrPortFrom(s.Addr, s.Port)
}

// modes runs f through the proxy on each data path (the sub-benchmark's name, which
// newTestEngine reads), then direct.
func modes(b *testing.B, f func(b *testing.B, direct bool)) {
	for _, p := range dataPaths {
		b.Run(p, func(b *testing.B) { f(b, false) })
	}
	b.Run("direct", func(b *testing.B) { f(b, true) })
}

// BenchmarkProxyConnRate opens a connection, waits for the backend's close, and closes.
func BenchmarkProxyConnRate(b *testing.B) {
	modes(b, func(b *testing.B, direct bool) {
		to := net.TCPAddrFromAddrPort(through(b, direct, lb.TCP, closer(b)))
		var buf [1]byte
		for b.Loop() {
			c, err := net.DialTCP("tcp", nil, to)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf[:]); !errors.Is(err, io.EOF) {
				b.Fatalf("read: %v, want EOF", err)
			}
			c.Close()
		}
	})
}

// BenchmarkProxyConnRateParallel is BenchmarkProxyConnRate from GOMAXPROCS clients at once.
func BenchmarkProxyConnRateParallel(b *testing.B) {
	modes(b, func(b *testing.B, direct bool) {
		to := net.TCPAddrFromAddrPort(through(b, direct, lb.TCP, closer(b)))
		b.RunParallel(func(pb *testing.PB) {
			var buf [1]byte
			for pb.Next() {
				c, err := net.DialTCP("tcp", nil, to)
				if err != nil {
					b.Error(err)
					return
				}
				c.Read(buf[:])
				c.Close()
			}
		})
	})
}

// BenchmarkProxyThroughput sends 1 MiB per operation over one connection to a backend that
// discards it.
func BenchmarkProxyThroughput(b *testing.B) {
	modes(b, func(b *testing.B, direct bool) {
		backend, got := sink(b)
		c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(through(b, direct, lb.TCP, backend)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		chunk := make([]byte, 1<<20)
		b.SetBytes(int64(len(chunk)))
		var sent int64
		for b.Loop() {
			n, err := c.Write(chunk)
			sent += int64(n)
			if err != nil {
				b.Fatal(err)
			}
		}
		c.CloseWrite()
		if n := <-got; n != sent { // every byte arrived before the clock stops
			b.Fatalf("backend got %d bytes, sent %d", n, sent)
		}
	})
}

// BenchmarkProxyUDP does one 64-byte request/response round trip per operation.
func BenchmarkProxyUDP(b *testing.B) {
	modes(b, func(b *testing.B, direct bool) {
		_, backend := udpEcho(b, 2)
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(through(b, direct, lb.UDP, backend)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		req, resp := make([]byte, 64), make([]byte, 2048)
		b.SetBytes(int64(len(req)))
		for b.Loop() {
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// echoBackend is a backend that echoes every connection.
func echoBackend(b *testing.B) netip.AddrPort {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(realIP(3), 0)))
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.AcceptTCP()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(c, c); c.Close() }()
		}
	}()
	return addrPortOf(l.Addr())
}

// BenchmarkProxyRequestResponse does one 64-byte request/response round trip per operation
// over one open TCP connection (keep-alive traffic).
func BenchmarkProxyRequestResponse(b *testing.B) {
	modes(b, func(b *testing.B, direct bool) {
		c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(through(b, direct, lb.TCP, echoBackend(b))))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		msg := make([]byte, 64)
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
