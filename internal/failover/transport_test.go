package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrpnet"
)

// fakePacketConn feeds Recv from a channel of results; Close ends Recv with
// net.ErrClosed.
type fakePacketConn struct {
	rx     chan recvResult
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	sent   []netip.Addr
}

type recvResult struct {
	p   vrrpnet.Packet
	err error
}

func newFakePacketConn() *fakePacketConn {
	return &fakePacketConn{rx: make(chan recvResult), closed: make(chan struct{})}
}

func (f *fakePacketConn) Src() netip.Addr { return netip.MustParseAddr("192.0.2.1") }

func (f *fakePacketConn) Recv(ctx context.Context) (vrrpnet.Packet, error) {
	select {
	case r := <-f.rx:
		return r.p, r.err
	case <-f.closed:
		return vrrpnet.Packet{}, fmt.Errorf("recv: %w", net.ErrClosed)
	case <-ctx.Done():
		return vrrpnet.Packet{}, ctx.Err()
	}
}

func (f *fakePacketConn) Send(_ []byte, dst netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, dst)
	return nil
}

func (f *fakePacketConn) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func TestConnDeliversAndCloses(t *testing.T) {
	f := newFakePacketConn()
	c := newConn(f, testLogger(t))
	src, dst := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("224.0.0.18")
	f.rx <- recvResult{p: vrrpnet.Packet{Payload: []byte{1, 2}, Src: src, Dst: dst, TTL: 255, IfIndex: 7}}
	p := <-c.Packets()
	if string(p.Payload) != "\x01\x02" || p.Src != src || p.Dst != dst || p.TTL != 255 || p.IfIndex != 7 {
		t.Fatalf("packet %+v", p)
	}
	// A transient error is retried; the next packet still arrives.
	f.rx <- recvResult{err: errors.New("ENOBUFS")}
	f.rx <- recvResult{p: vrrpnet.Packet{Payload: []byte{3}, Src: src, Dst: dst}}
	if p := <-c.Packets(); string(p.Payload) != "\x03" {
		t.Fatalf("after an error: %+v", p)
	}
	if err := c.Send([]byte{9}, dst); err != nil || c.LocalAddr() != f.Src() {
		t.Fatalf("Send %v, LocalAddr %v", err, c.LocalAddr())
	}
	// Close returns once the receiver is gone, with Packets closed.
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked")
	}
	if _, ok := <-c.Packets(); ok {
		t.Fatal("Packets not closed")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestConnCloseWhileBlocked: Close works while the receiver waits for the Router to
// take a packet.
func TestConnCloseWhileBlocked(t *testing.T) {
	f := newFakePacketConn()
	c := newConn(f, testLogger(t))
	for i := 0; i < cap(c.pkts)+1; i++ {
		f.rx <- recvResult{p: vrrpnet.Packet{Payload: []byte{byte(i)}}}
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked")
	}
}

func TestInstanceFamily(t *testing.T) {
	v4 := config.VIP{Prefix: netip.MustParsePrefix("192.0.2.1/32")}
	v6 := config.VIP{Prefix: netip.MustParsePrefix("2001:db8::1/128")}
	cases := []struct {
		in   config.VRRPInstance
		want int
	}{
		{config.VRRPInstance{Addresses: []config.VIP{v4}}, 4},
		{config.VRRPInstance{Addresses: []config.VIP{v6}}, 6},
		{config.VRRPInstance{Addresses: []config.VIP{v4}, Excluded: []config.VIP{v6}}, 4},
		{config.VRRPInstance{UnicastSrc: netip.MustParseAddr("2001:db8::2")}, 6},
		{config.VRRPInstance{}, 4},
	}
	for i, c := range cases {
		if got := instanceFamily(&c.in); got != c.want {
			t.Errorf("case %d: %d, want %d", i, got, c.want)
		}
	}
}
