package vrrpnet

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nstest"
)

// Addresses of the two-host lab: host A is a0, host B is b0, on one veth pair.
var (
	addrA4 = netip.MustParseAddr("192.0.2.1")
	addrB4 = netip.MustParseAddr("192.0.2.2")
	addrA6 = netip.MustParseAddr("2001:db8::1")
	addrB6 = netip.MustParseAddr("2001:db8::2")
	vip4   = netip.MustParseAddr("192.0.2.100")
	vip6   = netip.MustParseAddr("2001:db8::100")
	Group4 = Group(4)
	Group6 = Group(6)
)

// hosts is a lab of two namespaces joined by a veth pair a0 <-> b0, with IPv4 and
// global IPv6 addresses on both ends (link-local ones come with the interfaces).
type hosts struct {
	lab  *nstest.Lab
	a, b *nstest.NS
}

func twoHosts(t *testing.T) *hosts {
	t.Helper()
	lab := nstest.New(t, "vrrpnet")
	h := &hosts{lab: lab, a: lab.NS(), b: lab.NS()}
	nstest.Veth(h.a, "a0", h.b, "b0")
	h.a.IP("addr", "add", addrA4.String()+"/24", "dev", "a0")
	h.b.IP("addr", "add", addrB4.String()+"/24", "dev", "b0")
	h.a.IP("addr", "add", addrA6.String()+"/64", "dev", "a0", "nodad")
	h.b.IP("addr", "add", addrB6.String()+"/64", "dev", "b0", "nodad")
	return h
}

// listen opens a Conn and closes it when the test ends.
func listen(t *testing.T, o Options) *Conn {
	t.Helper()
	c, err := Listen(o)
	if err != nil {
		t.Fatalf("Listen(%+v): %v", o, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// exchange sends payload from tx to dst every 100 ms (at most 30 times) until rx
// returns a packet, and returns it.
func exchange(t *testing.T, tx, rx *Conn, payload []byte, dst netip.Addr) Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan Packet, 1)
	errc := make(chan error, 1)
	go func() {
		p, err := rx.Recv(ctx)
		if err != nil {
			errc <- err
			return
		}
		got <- p
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < 30; i++ {
		if err := tx.Send(payload, dst); err != nil {
			t.Fatalf("Send to %s: %v", dst, err)
		}
		select {
		case p := <-got:
			return p
		case err := <-errc:
			t.Fatalf("Recv: %v", err)
		case <-tick.C:
		}
	}
	t.Fatalf("no packet received on %s after 30 sends to %s", rx.Interface(), dst)
	return Packet{}
}

// expectSilence fails if c receives a packet within d.
func expectSilence(t *testing.T, c *Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := c.Recv(ctx)
	if err == nil {
		t.Fatalf("%s received %+v, want nothing", c.Interface(), p)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v, want deadline exceeded", err)
	}
}

// advert builds a VRRP advertisement fixture: version 2 (IPv4 only, RFC 3768, no
// authentication, interval 1 s) or version 3 (RFC 5798, interval 100 cs), with a
// correct checksum (v3: over the pseudo header of src and dst). Tests use it so that
// tcpdump and keepalived see well-formed packets; the real codec is internal/vrrp.
func advert(version int, vrid, prio byte, vip, src, dst netip.Addr) []byte {
	b := []byte{byte(version<<4 | 1), vrid, prio, 1, 0, 1, 0, 0}
	if version == 3 {
		b[4], b[5] = 0, 100
	}
	b = append(b, vip.AsSlice()...)
	if version == 2 {
		b = append(b, make([]byte, 8)...) // authentication data, unused with type 0
	}
	var sum uint32
	if version == 3 {
		var ph []byte
		ph = append(ph, src.AsSlice()...)
		ph = append(ph, dst.AsSlice()...)
		if src.Is4() {
			ph = append(ph, 0, Protocol, byte(len(b)>>8), byte(len(b)))
		} else {
			ph = binary.BigEndian.AppendUint32(ph, uint32(len(b)))
			ph = append(ph, 0, 0, 0, Protocol)
		}
		sum = onesSum(sum, ph)
	}
	sum = onesSum(sum, b)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[6:], ^uint16(sum))
	return b
}

func onesSum(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}
