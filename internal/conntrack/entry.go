package conntrack

import (
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// DestID identifies one real server of one virtual service (the kernel's struct ip_vs_dest).
// The engine assigns it; the table only stores it, passes it to the Accountant, and keeps the
// status the engine reports with SetDestWeight and RemoveDests.
type DestID uint32

// Dest is the real server an entry is bound to: its ID, and its address and forwarding
// method for listings.
type Dest struct {
	ID      DestID
	Addr    netip.AddrPort
	Forward lb.Forward
}

// Ref is a handle on one entry. It stays valid while the entry lives; once the entry is gone,
// operations on the Ref fail with ErrNotFound even if the slot was reused. The zero Ref
// refers to nothing.
type Ref uint64

// Conn is a copy of one entry: a connection, or a persistence template (Template true).
type Conn struct {
	Ref Ref
	// Protocol is the entry's protocol; 0 for the template of a fwmark service.
	Protocol lb.Protocol
	// Client is the client's address and port; for a template, the masked client address and
	// port 0.
	Client netip.AddrPort
	// Virtual is the address and port the client sent to; for a template of a fwmark service
	// the mark as an address, port 0. An invalidated template shows port 65535, and its Dest
	// port 65535 too, as the kernel's ip_vs_check_template rewrites them.
	Virtual netip.AddrPort
	Dest    Dest
	State   State
	// Class is how the entry counts against its real: active, inactive, or persist.
	Class    lb.ConnClass
	Template bool
	// Invalid is true for a template that ip_vs_check_template's rules invalidated: it is no
	// longer found by LookupTemplate and lives on until it expires.
	Invalid bool
	// Timeout is the entry's current timeout: how long after its last use it expires.
	Timeout time.Duration
	// Expires is the time left until the entry expires (0 or less when overdue).
	Expires time.Duration
	// Control is the template a connection is linked to (0 for none).
	Control Ref
	// Children is the number of connections linked to a template.
	Children int
}

// StateName returns the entry's state as ipvsadm -L -c prints it.
func (c *Conn) StateName() string { return StateName(c.Protocol, c.State, c.Template) }

// ProtocolName returns the entry's protocol as ipvsadm -L -c prints it ("IP" for fwmark
// templates).
func (c *Conn) ProtocolName() string { return ProtocolName(c.Protocol) }

// Entry flags.
const (
	fUsed     uint8 = 1 << iota // the slot holds an entry
	fV6                         // client and virtual addresses are IPv6
	fTemplate                   // a persistence template (IP_VS_CONN_F_TEMPLATE)
	fInactive                   // counted in InActConn (IP_VS_CONN_F_INACTIVE)
	fIndexed                    // present in the shard's index (templates leave it when invalidated)
	fNoOutput                   // replies bypass the director (IP_VS_CONN_F_NOOUTPUT)
	fDestV6                     // the real's address is IPv6
	// fAssureSent marks a connection that already made its template ASSURED, so that later
	// replies need not lock the template's shard again.
	fAssureSent
)

// entry is one connection or template. It holds no pointers, so that a slab of a million of
// them is not scanned by the garbage collector. Every field is guarded by the shard's lock.
type entry struct {
	ca, va, da          [2]uint64
	cport, vport, dport uint16
	proto               uint8
	flags               uint8
	state               State
	fwd                 lb.Forward
	_                   uint16
	dest                DestID
	expires             uint32 // tick at which the entry expires
	timeout             uint32 // ticks; restarted on every use (the kernel's cp->timeout)
	// link is, for a connection, the global slot (shard<<24 | index) of its template, valid
	// when linkGen is not 0; for a template, its number of linked connections (n_control).
	link    uint32
	linkGen uint32
	// qslot, qnext and qprev place the entry in its timing-wheel bucket list (slot numbers
	// and index+1 of neighbours; 0 ends the list). qnext also chains the free list.
	qslot, qnext, qprev uint32
	// gen changes whenever the slot is freed, so that stale Refs are refused.
	gen uint32
}

func (e *entry) matches(k *rawKey) bool {
	return e.ca == k.ca && e.va == k.va && e.cport == k.cport && e.vport == k.vport &&
		e.proto == k.proto && e.flags&(fTemplate|fV6) == k.kind
}

func (e *entry) rawKey() rawKey {
	return rawKey{ca: e.ca, va: e.va, cport: e.cport, vport: e.vport, proto: e.proto, kind: e.flags & (fTemplate | fV6)}
}

// class returns how the entry counts against its real.
func (e *entry) class() lb.ConnClass {
	switch {
	case e.flags&fTemplate != 0:
		return lb.ClassPersist
	case e.flags&fInactive != 0:
		return lb.ClassInactive
	}
	return lb.ClassActive
}

func (e *entry) controlRef() Ref {
	if e.flags&fTemplate != 0 || e.linkGen == 0 {
		return 0
	}
	return Ref(uint64(e.linkGen)<<32 | uint64(e.link))
}

// makeRef builds the Ref of slot i of shard si with generation gen.
func makeRef(gen uint32, si int, i uint32) Ref {
	return Ref(uint64(gen)<<32 | uint64(si)<<24 | uint64(i))
}

func (r Ref) parts() (si int, i, gen uint32) {
	return int(uint32(r) >> 24), uint32(r) & (1<<24 - 1), uint32(r >> 32)
}

// conn converts e, the entry of Ref r, at tick now.
func (e *entry) conn(r Ref, now uint32) Conn {
	v6 := e.flags&fV6 != 0
	c := Conn{
		Ref:      r,
		Protocol: lb.Protocol(e.proto),
		Client:   netip.AddrPortFrom(unpack(e.ca, v6), e.cport),
		Virtual:  netip.AddrPortFrom(unpack(e.va, v6), e.vport),
		Dest: Dest{
			ID:      e.dest,
			Addr:    netip.AddrPortFrom(unpack(e.da, e.flags&fDestV6 != 0), e.dport),
			Forward: e.fwd,
		},
		State:    e.state,
		Class:    e.class(),
		Template: e.flags&fTemplate != 0,
		Timeout:  ticksToDuration(int64(e.timeout)),
		Expires:  ticksToDuration(int64(int32(e.expires - now))),
		Control:  e.controlRef(),
	}
	if c.Template {
		c.Children = int(e.link)
		c.Invalid = e.flags&fIndexed == 0
	}
	return c
}
