package vrrpnet

import (
	"errors"
	"net/netip"

	"github.com/vishvananda/netns"
)

// Protocol is the IP protocol number of VRRP (RFC 5798 section 5.1.1.4).
const Protocol = 112

// TTL is the IPv4 TTL and IPv6 hop limit VRRP packets are sent with; RFC 5798 section 7.1
// says a receiver must drop multicast adverts arriving with any other value.
const TTL = 255

// Traffic class / TOS byte of sent packets: IPTOS_PREC_INTERNETCONTROL, as keepalived's
// if_setsockopt_priority sets it for both families.
const trafficClass = 0xc0

// Group is the VRRP multicast group of an address family (4 or anything else for 6):
// 224.0.0.18 or ff02::12 (RFC 5798 sections 5.1.1.2 and 5.1.2.2; keepalived's
// vrrp_mcast_group4 and vrrp_mcast_group6 defaults).
func Group(family int) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte{224, 0, 0, 18})
	}
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
}

// Errors Listen and Send wrap; test with errors.Is.
var (
	// ErrNoAddress: the interface has no usable source address for the family (no IPv4
	// address, or no link-local IPv6 address that has finished duplicate address
	// detection), or the configured unicast source is not an address of this host.
	// keepalived puts the instance in FAULT in that case.
	ErrNoAddress = errors.New("no usable source address")
	// ErrFamily: an address does not belong to the Conn's address family.
	ErrFamily = errors.New("address family mismatch")
	// ErrNotSupported: the platform has no VRRP transport (everything but Linux).
	ErrNotSupported = errors.New("vrrpnet: not supported on this platform")
)

// Options says which interface and mode a Conn serves.
type Options struct {
	// Interface is the name of the interface the Conn sends and receives on (the
	// instance's "interface"). Required.
	Interface string
	// Family is 4 or 6. Zero means: the family of Unicast or of the first peer if set,
	// else 4.
	Family int
	// Unicast is the source address (keepalived's unicast_src_ip, or its alias
	// mcast_src_ip, which also applies in multicast mode). It must be an address of this
	// host. Zero means the interface's primary IPv4 address or its link-local IPv6
	// address.
	Unicast netip.Addr
	// Peers switches the Conn to unicast mode when non-empty (keepalived's
	// unicast_peer): the VRRP group is not joined and the socket only receives packets
	// addressed to the source address.
	Peers []netip.Addr
	// NetNS is the network namespace the interface lives in. The zero value and
	// netns.None() mean the current namespace. The handle is only used during Listen;
	// the caller keeps ownership of it.
	NetNS netns.NsHandle
}

// Packet is one received VRRP packet.
type Packet struct {
	// Payload is the VRRP message (what follows the IPv4 header or the IPv6 header and
	// its extension headers). It is owned by the caller.
	Payload []byte
	// Src and Dst are the addresses of the IP header, unmapped and without zone (IfIndex
	// tells the interface), so they compare equal to configured peers.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit the packet arrived with; -1 when the kernel
	// did not report it.
	TTL int
	// IfIndex is the index of the interface the packet arrived on.
	IfIndex int
}

// Multicast reports whether the Options select multicast mode.
func (o Options) Multicast() bool { return len(o.Peers) == 0 }

// family resolves Options.Family as documented.
func (o Options) family() int {
	switch {
	case o.Family != 0:
		return o.Family
	case o.Unicast.IsValid():
		return familyOf(o.Unicast)
	case len(o.Peers) > 0:
		return familyOf(o.Peers[0])
	}
	return 4
}

func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}
