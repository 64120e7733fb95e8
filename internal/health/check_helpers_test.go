package health

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// checkTimeout is the timeout of the checks in these tests; slack is how much later than
// its deadline a check may return.
const (
	checkTimeout = 300 * time.Millisecond
	slack        = 250 * time.Millisecond
)

// mustChecker builds a checker or fails the test.
func mustChecker(t testing.TB, c *config.Check, tg Target) Checker {
	t.Helper()
	ck, err := NewChecker(c, tg)
	if err != nil {
		t.Fatalf("NewChecker(%+v): %v", c, err)
	}
	return ck
}

// runCheck runs one check with timeout d and fails the test when it returns late.
func runCheck(t testing.TB, ck Checker, d time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	r := ck.Check(ctx)
	if el := time.Since(start); el > d+slack {
		t.Errorf("check returned after %v, past its %v timeout", el, d)
	}
	return r
}

// wantResult compares a result with the wanted verdict and a substring of the reason.
func wantResult(t testing.TB, r Result, ok bool, reason string) {
	t.Helper()
	if r.OK != ok || !strings.Contains(r.Reason, reason) {
		t.Errorf("result %+v, want OK=%v with reason containing %q", r, ok, reason)
	}
}

// serve accepts connections on a new loopback listener (network "tcp4" or "tcp6") and runs
// handle for each in its own goroutine until the test ends.
func serve(t testing.TB, network string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// silentServer accepts connections and never sends a byte: every check against it times out.
// It keeps each connection open, even after the client's FIN, until the test ends.
func silentServer(t testing.TB) netip.AddrPort {
	done := make(chan struct{})
	ap := serve(t, "tcp4", func(c net.Conn) {
		io.Copy(io.Discard, c)
		<-done
	})
	t.Cleanup(func() { close(done) }) // runs before serve's cleanup waits for the handlers
	return ap
}

// closedPort is a loopback port nobody listens on.
func closedPort(t testing.TB) netip.AddrPort {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// blackhole is a loopback port whose listener never completes a handshake: its accept queue
// (backlog 0) is filled and never drained, so the kernel drops further SYNs and connects
// hang until their timeout.
func blackhole(t testing.TB) netip.AddrPort {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue: once a connect hangs, it is full.
	for range 8 {
		d := net.Dialer{Timeout: 100 * time.Millisecond}
		c, err := d.Dial("tcp4", ap.String())
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return ap
			}
			t.Fatalf("filling the accept queue: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listen queue to make a black hole")
	return ap
}
