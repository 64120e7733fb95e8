package vrrpnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Conn is the VRRP socket of one interface. Send and Recv may be called from different
// goroutines; concurrent Recv calls are serialised. Close unblocks them.
type Conn struct {
	// Set by Listen, then immutable.
	name      string
	family    int
	multicast bool
	peers     []netip.Addr
	ifi       *net.Interface
	src       netip.Addr
	raw       net.PacketConn
	p4        *ipv4.PacketConn // exactly one of p4, p6 is set
	p6        *ipv6.PacketConn

	rmu  sync.Mutex // serialises Recv; guards rbuf
	rbuf []byte

	closeOnce sync.Once
	closeErr  error
}

// Src is the source address of every packet Send sends (without zone). The VRRP layer
// needs it for the checksum pseudo header.
func (c *Conn) Src() netip.Addr { return c.src }

// Interface is the name of the interface the Conn is bound to.
func (c *Conn) Interface() string { return c.name }

// IfIndex is the index of that interface, as resolved by Listen.
func (c *Conn) IfIndex() int { return c.ifi.Index }

// Family is 4 or 6.
func (c *Conn) Family() int { return c.family }

// Multicast reports whether the Conn is in multicast mode (no unicast peers).
func (c *Conn) Multicast() bool { return c.multicast }

// Destinations lists where an advertisement goes: the VRRP group in multicast mode, else
// every unicast peer in configuration order. The slice is a copy.
func (c *Conn) Destinations() []netip.Addr {
	if c.multicast {
		return []netip.Addr{Group(c.family)}
	}
	return append([]netip.Addr(nil), c.peers...)
}

// Recv blocks until a VRRP packet for this Conn arrives, ctx is done, or the Conn is
// closed. In multicast mode only packets sent to the VRRP group are returned, in unicast
// mode only packets sent to Src; others are dropped silently.
//
// Errors: ctx.Err() (wrapped) when ctx ends the wait; net.ErrClosed (wrapped) after
// Close; otherwise the socket error, wrapped with the interface name. Recv does not
// check TTL, VRRP version or checksum: that is the VRRP layer's job (keepalived skips
// the TTL check in unicast mode).
func (c *Conn) Recv(ctx context.Context) (Packet, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := c.raw.SetReadDeadline(time.Time{}); err != nil {
		return Packet{}, c.recvErr(ctx, err)
	}
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(fired)
			_ = c.raw.SetReadDeadline(time.Unix(1, 0)) // in the past: interrupts the read
		})
		defer func() {
			if !stop() {
				<-fired // the deadline is set before Recv returns, never after
			}
		}()
	}
	if c.rbuf == nil {
		c.rbuf = make([]byte, 65536)
	}
	for {
		p, err := c.read(c.rbuf)
		if err != nil {
			var herr interface{ Timeout() bool }
			if errors.As(err, &herr) && herr.Timeout() && ctx.Err() == nil {
				// Only Recv's own context sets a deadline, and ctx.Err() is set before
				// that happens; clear a stray one rather than spin.
				if err := c.raw.SetReadDeadline(time.Time{}); err != nil {
					return Packet{}, c.recvErr(ctx, err)
				}
				continue
			}
			return Packet{}, c.recvErr(ctx, err)
		}
		if !p.Dst.IsValid() || p.Dst != c.wantDst() {
			continue
		}
		return p, nil
	}
}

// wantDst is the destination address of the packets this Conn accepts.
func (c *Conn) wantDst() netip.Addr {
	if !c.multicast {
		return c.src
	}
	return Group(c.family)
}

func (c *Conn) recvErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("vrrpnet: recv on %s: %w", c.name, ctx.Err())
	}
	return fmt.Errorf("vrrpnet: recv on %s: %w", c.name, err)
}

// read reads one packet into buf and returns it with a copied payload.
func (c *Conn) read(buf []byte) (Packet, error) {
	p := Packet{TTL: -1}
	var n int
	var src net.Addr
	if c.p4 != nil {
		var cm *ipv4.ControlMessage
		var err error
		if n, cm, src, err = c.p4.ReadFrom(buf); err != nil {
			return p, err
		}
		if cm != nil {
			p.TTL, p.IfIndex, p.Dst = cm.TTL, cm.IfIndex, ipAddr(cm.Dst)
		}
	} else {
		var cm *ipv6.ControlMessage
		var err error
		if n, cm, src, err = c.p6.ReadFrom(buf); err != nil {
			return p, err
		}
		if cm != nil {
			p.TTL, p.IfIndex, p.Dst = cm.HopLimit, cm.IfIndex, ipAddr(cm.Dst)
		}
	}
	if a, ok := src.(*net.IPAddr); ok {
		p.Src = ipAddr(a.IP)
	}
	p.Payload = append([]byte(nil), buf[:n]...)
	return p, nil
}

// ipAddr converts a net.IP to a zone-less, unmapped netip.Addr (invalid if ip is nil).
func ipAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// Send sends payload to dst (the group, or a unicast peer) from Src, on the Conn's
// interface, with TTL / hop limit 255. It returns an error wrapping ErrFamily if dst is
// not of the Conn's family, net.ErrClosed (wrapped) after Close, or the socket error
// (for example ENETDOWN while the interface is down), naming interface and destination.
func (c *Conn) Send(payload []byte, dst netip.Addr) error {
	dst = dst.Unmap().WithZone("")
	if !dst.IsValid() || familyOf(dst) != c.family {
		return fmt.Errorf("vrrpnet: send on %s to %s: not an IPv%d address: %w", c.name, dst, c.family, ErrFamily)
	}
	var err error
	if c.p4 != nil {
		cm := &ipv4.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
		_, err = c.p4.WriteTo(payload, cm, &net.IPAddr{IP: dst.AsSlice()})
	} else {
		cm := &ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
		to := &net.IPAddr{IP: dst.AsSlice()}
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast() {
			to.Zone = c.name
		}
		_, err = c.p6.WriteTo(payload, cm, to)
	}
	if err != nil {
		return fmt.Errorf("vrrpnet: send on %s to %s: %w", c.name, dst, err)
	}
	return nil
}

// Close closes the socket, leaving the multicast group, and unblocks Recv. Later calls
// return the first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if err := c.raw.Close(); err != nil {
			c.closeErr = fmt.Errorf("vrrpnet: close %s: %w", c.name, err)
		}
	})
	return c.closeErr
}
