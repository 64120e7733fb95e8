package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// IPProtocol is the IP protocol number of VRRP (RFC 5798 section 5.1.1.4).
const IPProtocol = 112

// sum16 adds b to the one's-complement accumulator acc as big-endian 16-bit words, an odd
// trailing byte padded with zero (RFC 1071).
func sum16(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold reduces the accumulator to 16 bits and complements it.
func fold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// pseudoSum is the sum of the pseudo-header VRRPv3 covers (RFC 5798 section 5.2.8): for
// IPv4 the one of RFC 768/793 (src, dst, zero, protocol, length), for IPv6 the one of RFC
// 8200 section 8.1 (src, dst, 32-bit length, three zero bytes, next header). keepalived
// 2.2.7 builds the IPv4 one itself in vrrp_build_vrrp_v3 and vrrp_check_packet, with the
// IP header's destination (the group, or the unicast peer); for IPv6 the kernel computes
// it (IPV6_CHECKSUM at offset 6).
func pseudoSum(src, dst netip.Addr, length int) uint32 {
	var acc uint32
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		acc = sum16(acc, s[:])
		acc = sum16(acc, d[:])
		acc += IPProtocol
		acc += uint32(length)
		return acc
	}
	s, d := src.As16(), dst.As16()
	acc = sum16(acc, s[:])
	acc = sum16(acc, d[:])
	acc += uint32(length>>16) + uint32(length&0xffff)
	acc += IPProtocol
	return acc
}

// checksum returns the VRRP checksum of msg, whose checksum field (bytes 6 and 7) must be
// zero: VRRPv2 over the message alone (RFC 3768 section 5.3.8), VRRPv3 over the
// pseudo-header and the message.
func checksum(version int, msg []byte, src, dst netip.Addr) uint16 {
	var acc uint32
	if version == 3 {
		acc = pseudoSum(src, dst, len(msg))
	}
	return fold(sum16(acc, msg))
}
