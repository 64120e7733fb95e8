//go:build !linux

package vrrpnet

import (
	"context"
	"fmt"
	"net/netip"
)

// Conn is the VRRP socket of one interface; on this platform Listen never returns one.
type Conn struct{}

// Listen returns an error wrapping ErrNotSupported: raw VRRP sockets are Linux-only here.
func Listen(opts Options) (*Conn, error) {
	return nil, fmt.Errorf("vrrpnet: listen on %s: %w", opts.Interface, ErrNotSupported)
}

// Src is the invalid address.
func (c *Conn) Src() netip.Addr { return netip.Addr{} }

// Destinations is empty.
func (c *Conn) Destinations() []netip.Addr { return nil }

// Recv returns an error wrapping ErrNotSupported.
func (c *Conn) Recv(context.Context) (Packet, error) { return Packet{}, ErrNotSupported }

// Send returns an error wrapping ErrNotSupported.
func (c *Conn) Send([]byte, netip.Addr) error { return ErrNotSupported }

// Close does nothing.
func (c *Conn) Close() error { return nil }

// Interface is empty.
func (c *Conn) Interface() string { return "" }

// IfIndex is 0.
func (c *Conn) IfIndex() int { return 0 }

// Family is 0.
func (c *Conn) Family() int { return 0 }

// Multicast is false.
func (c *Conn) Multicast() bool { return false }
