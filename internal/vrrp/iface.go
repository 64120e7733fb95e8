package vrrp

import (
	"net/netip"

	"github.com/golvs/golvs/internal/clock"

	"github.com/golvs/golvs/internal/config"
)

// Packet is a VRRP packet as the transport received it.
type Packet struct {
	// Payload is the IP payload: the VRRP message without IPv4 or IPv6 header.
	Payload []byte
	// Src and Dst are the IP source and destination (for IPv6, the destination from
	// IPV6_PKTINFO): the checksum covers them and the state machine checks them.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit, -1 when the transport does not know it.
	TTL int
	// IfIndex is the receiving interface, for logs.
	IfIndex int
}

// Conn sends and receives one instance's advertisements. The OS side implements it with
// raw IP-protocol-112 sockets: multicast (joining 224.0.0.18 or ff02::12 on the
// instance's interface) or unicast (bound to unicast_src_ip), sending with TTL/hop limit
// 255 and, for IPv4, TOS 0xc0 as keepalived does.
type Conn interface {
	// LocalAddr is the source address of the adverts: unicast_src_ip, or the primary
	// address of the interface in the instance's family (for IPv6 the link-local one).
	// The Router reads it before each send; an invalid address makes the send fail.
	LocalAddr() netip.Addr
	// Send transmits msg, a complete VRRP message, to dst (the group or a unicast peer).
	Send(msg []byte, dst netip.Addr) error
	// Packets delivers received packets. It may deliver adverts of other VRIDs; the
	// instance ignores them. It is closed when the Conn is closed.
	Packets() <-chan Packet
	// Close releases the sockets; Packets is closed after it.
	Close() error
}

// Transport opens the Conn of an instance. The Router calls it once per instance when it
// starts.
type Transport interface {
	Open(in *config.VRRPInstance) (Conn, error)
}

// Actions are the side effects of state changes, implemented by the OS side. The Router
// calls them from its goroutine and waits: they must not block for long nor call the
// Router back. Errors are logged; the state machine goes on (keepalived does the same).
type Actions interface {
	// AddVIPs adds the virtual addresses (virtual_ipaddress and
	// virtual_ipaddress_excluded) of an instance that becomes master. Dev is always set
	// (the instance's interface when the configuration named none).
	AddVIPs(instance string, vips []config.VIP) error
	// RemoveVIPs removes them when the instance leaves the master state.
	RemoveVIPs(instance string, vips []config.VIP) error
	// Announce sends rounds rounds of gratuitous ARP (IPv4) or unsolicited neighbour
	// advertisements (IPv6) for each address, back to back (keepalived's default
	// vrrp_garp_interval is 0). The Router decides when: rounds 5 on becoming master and
	// again garp_master_delay later, and 5 when a master hears a lower priority.
	Announce(instance string, vips []config.VIP, rounds int) error
	// Notify reports a state change; the OS side runs the notify scripts.
	Notify(n Notification)
}

// Clock is the Router's and ScriptRunner's time source; tests inject a fake one.
type Clock = clock.Clock

// Timer is a one-shot timer of a Clock, used by one goroutine.
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System
