package conntrack

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// Key identifies a connection entry, or a template: the protocol, the client's address and
// port, and the virtual address and port the client sent to. Client and Virtual must be of the
// same family; IPv4-mapped IPv6 addresses count as IPv4.
type Key struct {
	Protocol lb.Protocol
	Client   netip.AddrPort
	Virtual  netip.AddrPort
}

// ftpPort is the kernel's FTPPORT: persistent services on it get templates with port 0 so
// that the data connections follow the control one.
const ftpPort = 21

// TemplateKey returns the key of the persistence template that a connection of protocol
// proto from client to dst (the address and port the client sent to) uses in persistent
// service s, as ip_vs_sched_persist (net/netfilter/ipvs/ip_vs_core.c) builds it:
//
//   - the client address is masked with s.Netmask (an IPv4 mask, or an IPv6 prefix length),
//     and the client port is 0;
//   - when dst's port is the service's port, the template has that port (0 for FTP, port 21);
//   - otherwise (fwmark services, port-0 services) the port is 0, and a fwmark service's
//     template has protocol 0 ("IP") and the mark as its virtual address (0.0.0.1 for mark 1;
//     for IPv6 the mark fills the first 4 bytes).
func TemplateKey(s *lb.Service, proto lb.Protocol, client netip.Addr, dst netip.AddrPort) Key {
	client = client.Unmap().WithZone("")
	var snet netip.Addr
	if client.Is4() {
		a := client.As4()
		binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])&s.Netmask)
		snet = netip.AddrFrom4(a)
	} else {
		bits := int(s.Netmask)
		if bits > 128 {
			bits = 128
		}
		p, err := client.Prefix(bits)
		if err == nil {
			snet = p.Addr()
		}
	}
	vaddr, vport := dst.Addr().Unmap(), uint16(0)
	switch {
	case dst.Port() == s.Port:
		if s.Port != ftpPort {
			vport = dst.Port()
		}
	case s.IsFWMark():
		proto = 0
		var m [16]byte
		binary.BigEndian.PutUint32(m[:4], s.FWMark)
		if vaddr.Is4() {
			vaddr = netip.AddrFrom4([4]byte(m[:4]))
		} else {
			vaddr = netip.AddrFrom16(m)
		}
	}
	return Key{Protocol: proto, Client: netip.AddrPortFrom(snet, 0), Virtual: netip.AddrPortFrom(vaddr, vport)}
}

// rawKey is a Key in the form entries store it. kind holds the fTemplate and fV6 flag bits.
type rawKey struct {
	ca, va       [2]uint64
	cport, vport uint16
	proto        uint8
	kind         uint8
}

// raw converts k; it fails when an address is invalid or the families differ.
func (k Key) raw(template bool) (rawKey, bool) {
	c, v := k.Client.Addr().Unmap(), k.Virtual.Addr().Unmap()
	if !c.IsValid() || !v.IsValid() || c.Is4() != v.Is4() {
		return rawKey{}, false
	}
	r := rawKey{ca: pack(c), va: pack(v), cport: k.Client.Port(), vport: k.Virtual.Port(), proto: uint8(k.Protocol)}
	if template {
		r.kind |= fTemplate
	}
	if c.Is6() {
		r.kind |= fV6
	}
	return r, true
}

// pack stores an address as two big-endian words of its 16-byte form.
func pack(a netip.Addr) [2]uint64 {
	b := a.As16()
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// unpack is the inverse of pack; v6 selects the family.
func unpack(w [2]uint64, v6 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], w[0])
	binary.BigEndian.PutUint64(b[8:], w[1])
	a := netip.AddrFrom16(b)
	if !v6 {
		return a.Unmap()
	}
	return a
}

// Mixing constants (from wyhash).
const (
	hashP0 = 0xa0761d6478bd642f
	hashP1 = 0xe7037ed1a0b428db
	hashP2 = 0x8ebc6af09c88c6e3
	hashP3 = 0x589965cc75374cc3
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashRaw hashes a key with seed. Its top bits choose the shard, bits 32..39 are the index
// fragment and the low bits the index position.
func hashRaw(seed uint64, k *rawKey) uint64 {
	h := mum(k.ca[0]^seed^hashP0, k.ca[1]^hashP1)
	h = mum(h^k.va[0]^hashP2, k.va[1]^seed^hashP3)
	w := uint64(k.cport) | uint64(k.vport)<<16 | uint64(k.proto)<<32 | uint64(k.kind)<<40
	return mum(h^w^hashP1, seed^hashP0)
}
