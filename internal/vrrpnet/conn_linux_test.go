package vrrpnet

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nstest"
)

// junkChecksum is a payload whose checksum field (bytes 6-7) is wrong: the transport
// must carry it untouched both ways (no IPV6_CHECKSUM rewriting or dropping).
var junkChecksum = []byte{0x31, 51, 100, 1, 0, 100, 0xde, 0xad, 0xc0, 0, 2, 100}

func TestExchange(t *testing.T) {
	h := twoHosts(t)
	la := h.a.Link("a0")
	lb := h.b.Link("b0")
	linkLocal := func(ns *nstest.NS, dev string) netip.Addr {
		var out []struct {
			AddrInfo []struct {
				Local string `json:"local"`
				Scope string `json:"scope"`
			} `json:"addr_info"`
		}
		ns.JSON(&out, "-6", "addr", "show", "dev", dev, "scope", "link")
		for _, l := range out {
			for _, a := range l.AddrInfo { // addresses filtered out show as {}
				if a.Scope == "link" {
					return netip.MustParseAddr(a.Local)
				}
			}
		}
		t.Fatalf("no link-local address on %s: %+v", dev, out)
		return netip.Addr{}
	}
	llA, llB := linkLocal(h.a, "a0"), linkLocal(h.b, "b0")

	cases := []struct {
		name             string
		a, b             Options
		dst, wantSrc     netip.Addr
		wantDestinations []netip.Addr
	}{
		{
			name:    "ipv4 multicast",
			a:       Options{Interface: "a0", Family: 4, NetNS: h.a.Handle},
			b:       Options{Interface: "b0", Family: 4, NetNS: h.b.Handle},
			dst:     Group4,
			wantSrc: addrA4, wantDestinations: []netip.Addr{Group4},
		},
		{
			name:    "ipv4 unicast",
			a:       Options{Interface: "a0", Unicast: addrA4, Peers: []netip.Addr{addrB4}, NetNS: h.a.Handle},
			b:       Options{Interface: "b0", Unicast: addrB4, Peers: []netip.Addr{addrA4}, NetNS: h.b.Handle},
			dst:     addrB4,
			wantSrc: addrA4, wantDestinations: []netip.Addr{addrB4},
		},
		{
			name:    "ipv6 multicast",
			a:       Options{Interface: "a0", Family: 6, NetNS: h.a.Handle},
			b:       Options{Interface: "b0", Family: 6, NetNS: h.b.Handle},
			dst:     Group6,
			wantSrc: llA, wantDestinations: []netip.Addr{Group6},
		},
		{
			name:    "ipv6 unicast",
			a:       Options{Interface: "a0", Unicast: addrA6, Peers: []netip.Addr{addrB6}, NetNS: h.a.Handle},
			b:       Options{Interface: "b0", Unicast: addrB6, Peers: []netip.Addr{addrA6}, NetNS: h.b.Handle},
			dst:     addrB6,
			wantSrc: addrA6, wantDestinations: []netip.Addr{addrB6},
		},
		{
			name:    "ipv6 unicast link-local",
			a:       Options{Interface: "a0", Unicast: llA, Peers: []netip.Addr{llB}, NetNS: h.a.Handle},
			b:       Options{Interface: "b0", Unicast: llB, Peers: []netip.Addr{llA}, NetNS: h.b.Handle},
			dst:     llB,
			wantSrc: llA, wantDestinations: []netip.Addr{llB},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := listen(t, tc.a), listen(t, tc.b)
			if a.Src() != tc.wantSrc {
				t.Errorf("Src() = %s, want %s", a.Src(), tc.wantSrc)
			}
			if got := a.Destinations(); len(got) != 1 || got[0] != tc.wantDestinations[0] {
				t.Errorf("Destinations() = %v, want %v", got, tc.wantDestinations)
			}
			if a.IfIndex() != la.Index {
				t.Errorf("IfIndex() = %d, want %d", a.IfIndex(), la.Index)
			}
			p := exchange(t, a, b, junkChecksum, tc.dst)
			want := Packet{Payload: junkChecksum, Src: tc.wantSrc, Dst: tc.dst, TTL: TTL, IfIndex: lb.Index}
			if !bytes.Equal(p.Payload, want.Payload) || p.Src != want.Src || p.Dst != want.Dst ||
				p.TTL != want.TTL || p.IfIndex != want.IfIndex {
				t.Errorf("received %+v, want %+v", p, want)
			}
			// Multicast loop is off and unicast goes to the peer: A hears nothing of its own.
			expectSilence(t, a, 300*time.Millisecond)
		})
	}
}

// TestModesDoNotCross checks that a multicast Conn ignores unicast VRRP packets and a
// unicast Conn ignores multicast ones (keepalived: "Expected multicast packet but
// received unicast packet" and its bind to the group or the unicast source).
func TestModesDoNotCross(t *testing.T) {
	h := twoHosts(t)
	for _, fam := range []int{4, 6} {
		src, dst := addrA4, addrB4
		group := Group4
		if fam == 6 {
			src, dst, group = addrA6, addrB6, Group6
		}
		mcA := listen(t, Options{Interface: "a0", Family: fam, NetNS: h.a.Handle})
		ucA := listen(t, Options{Interface: "a0", Unicast: src, Peers: []netip.Addr{dst}, NetNS: h.a.Handle})
		mcB := listen(t, Options{Interface: "b0", Family: fam, NetNS: h.b.Handle})
		ucB := listen(t, Options{Interface: "b0", Unicast: dst, Peers: []netip.Addr{src}, NetNS: h.b.Handle})

		exchange(t, ucA, ucB, junkChecksum, dst)
		expectSilence(t, mcB, 300*time.Millisecond)
		exchange(t, mcA, mcB, junkChecksum, group)
		expectSilence(t, ucB, 300*time.Millisecond)
	}
}

// TestBoundToDevice: two interfaces in one namespace, one Conn each; a packet arriving
// on one interface reaches only that interface's Conn (SO_BINDTODEVICE).
func TestBoundToDevice(t *testing.T) {
	lab := nstest.New(t, "vrrpnet")
	a, b, c := lab.NS(), lab.NS(), lab.NS()
	nstest.Veth(a, "a0", b, "b0")
	nstest.Veth(c, "c0", b, "b1")
	a.IP("addr", "add", "192.0.2.1/24", "dev", "a0")
	b.IP("addr", "add", "192.0.2.2/24", "dev", "b0")
	b.IP("addr", "add", "198.51.100.2/24", "dev", "b1")
	c.IP("addr", "add", "198.51.100.3/24", "dev", "c0")

	for _, fam := range []int{4, 6} {
		ca := listen(t, Options{Interface: "a0", Family: fam, NetNS: a.Handle})
		cc := listen(t, Options{Interface: "c0", Family: fam, NetNS: c.Handle})
		b0 := listen(t, Options{Interface: "b0", Family: fam, NetNS: b.Handle})
		b1 := listen(t, Options{Interface: "b1", Family: fam, NetNS: b.Handle})
		group := ca.Destinations()[0]

		p := exchange(t, ca, b0, junkChecksum, group)
		if p.Src != ca.Src() {
			t.Errorf("IPv%d: b0 got a packet from %s, want %s", fam, p.Src, ca.Src())
		}
		expectSilence(t, b1, 300*time.Millisecond)
		p = exchange(t, cc, b1, junkChecksum, group)
		if p.Src != cc.Src() {
			t.Errorf("IPv%d: b1 got a packet from %s, want %s", fam, p.Src, cc.Src())
		}
		expectSilence(t, b0, 300*time.Millisecond)
	}
}

func TestRecvInterrupted(t *testing.T) {
	h := twoHosts(t)
	before := runtime.NumGoroutine()
	a := listen(t, Options{Interface: "a0", NetNS: h.a.Handle})
	b := listen(t, Options{Interface: "b0", NetNS: h.b.Handle})

	// A cancelled context ends a blocked Recv with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Recv(ctx); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Recv after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Recv did not return after cancel")
	}

	// The next Recv is not affected by the old deadline.
	p := exchange(t, a, b, junkChecksum, Group4)
	if !bytes.Equal(p.Payload, junkChecksum) {
		t.Fatalf("payload %x, want %x", p.Payload, junkChecksum)
	}

	// Close ends a blocked Recv with net.ErrClosed, and Send fails afterwards.
	go func() { _, err := b.Recv(context.Background()); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
	if err := b.Send(junkChecksum, Group4); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v, want net.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Nothing is left running: Recv uses no helper goroutine.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenErrors(t *testing.T) {
	h := twoHosts(t)
	h.a.IP("link", "add", "bare", "type", "veth", "peer", "name", "bare1")
	h.a.Sysctl("net.ipv6.conf.bare.disable_ipv6", "1")
	h.a.IP("link", "set", "bare", "up")
	h.a.IP("link", "set", "bare1", "up")
	cases := []struct {
		name    string
		o       Options
		wantErr error
	}{
		{"no ipv4 address", Options{Interface: "bare", Family: 4, NetNS: h.a.Handle}, ErrNoAddress},
		{"no link-local", Options{Interface: "bare", Family: 6, NetNS: h.a.Handle}, ErrNoAddress},
		{"foreign unicast source", Options{Interface: "a0", Unicast: addrB4, Peers: []netip.Addr{addrB4}, NetNS: h.a.Handle}, ErrNoAddress},
		{"foreign source in multicast", Options{Interface: "a0", Unicast: netip.MustParseAddr("2001:db8::99"), NetNS: h.a.Handle}, ErrNoAddress},
		{"no such interface", Options{Interface: "nope0", NetNS: h.a.Handle}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Listen(tc.o)
			if err == nil {
				c.Close()
				t.Fatal("Listen succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Listen: %v, want %v", err, tc.wantErr)
			}
			t.Logf("Listen: %v", err)
		})
	}
}

// TestTentativeLinkLocal: a link-local address still in duplicate address detection
// cannot be a source address. Without carrier (the veth peer is down) DAD never ends.
func TestTentativeLinkLocal(t *testing.T) {
	lab := nstest.New(t, "vrrpnet")
	a := lab.NS()
	a.IP("link", "add", "t0", "type", "veth", "peer", "name", "t1")
	a.Sysctl("net.ipv6.conf.t0.accept_dad", "1")
	a.IP("link", "set", "t0", "up")
	a.IP("addr", "add", "fe80::99/64", "dev", "t0")
	_, err := Listen(Options{Interface: "t0", Family: 6, NetNS: a.Handle})
	if !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Listen with tentative link-local: %v, want ErrNoAddress", err)
	}
	t.Logf("Listen: %v", err)
}
