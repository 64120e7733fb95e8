package sched

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The kernel hash functions the hashing schedulers (dh, sh, mh, lblc, lblcr) depend on,
// written from the kernel's definitions so that the same input lands in the same bucket.
// Checked against: include/linux/hash.h (hash_32, GOLDEN_RATIO_32 since Linux 4.7),
// lib/siphash.c (SipHash-2-4, and hsiphash, which on 64-bit kernels is SipHash-1-3 returning
// the low 32 bits), and lib/test_siphash.c for test vectors (see khash_test.go).

// goldenRatio32 is the kernel's GOLDEN_RATIO_32 (include/linux/hash.h).
const goldenRatio32 = 0x61C88647

// hash32 is the kernel's hash_32(val, bits): the top bits of val*GOLDEN_RATIO_32. x86 has no
// arch-specific __hash_32, so this generic form is what a Debian amd64 kernel runs.
// bits must be in 1..32.
func hash32(val uint32, bits uint) uint32 {
	return (val * goldenRatio32) >> (32 - bits)
}

// foldAddr returns what the IPVS hashing schedulers feed their hash with for an address:
// ntohl(addr->ip) for an IPv4 service, and ntohl(ip6[0]^ip6[1]^ip6[2]^ip6[3]) for an IPv6
// one (ip_vs_dh_hashkey, ip_vs_sh_hashkey, ip_vs_mh_hashkey, ip_vs_lblc(r)_hashkey). The
// XOR of the four big-endian words read as big-endian equals the XOR of the words read as
// big-endian, so byte order needs no more care than that. The kernel folds according to the
// service's family; an IPv4 address in an IPv6 service (a mixed-family real) sits in the
// first word of a zeroed nf_inet_addr, so it folds to itself, as here.
func foldAddr(is6 bool, a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	w0 := binary.BigEndian.Uint32(b[0:4])
	if !is6 {
		return w0 // addr->ip of a 16-byte address: its first word
	}
	return w0 ^ binary.BigEndian.Uint32(b[4:8]) ^ binary.BigEndian.Uint32(b[8:12]) ^
		binary.BigEndian.Uint32(b[12:16])
}

// sipKey is a siphash_key_t, and on 64-bit kernels also an hsiphash_key_t: two 64-bit words.
type sipKey [2]uint64

// sipState is SipHash's four-word state.
type sipState struct{ v0, v1, v2, v3 uint64 }

// newSip is the kernel's PREAMBLE: the "somepseudorandomlygeneratedbytes" constants xored
// with the key.
func newSip(k sipKey) sipState {
	return sipState{
		v0: 0x736f6d6570736575 ^ k[0],
		v1: 0x646f72616e646f6d ^ k[1],
		v2: 0x6c7967656e657261 ^ k[0],
		v3: 0x7465646279746573 ^ k[1],
	}
}

// round is one SIPROUND.
func (s *sipState) round() {
	s.v0 += s.v1
	s.v1 = bits.RotateLeft64(s.v1, 13)
	s.v1 ^= s.v0
	s.v0 = bits.RotateLeft64(s.v0, 32)
	s.v2 += s.v3
	s.v3 = bits.RotateLeft64(s.v3, 16)
	s.v3 ^= s.v2
	s.v0 += s.v3
	s.v3 = bits.RotateLeft64(s.v3, 21)
	s.v3 ^= s.v0
	s.v2 += s.v1
	s.v1 = bits.RotateLeft64(s.v1, 17)
	s.v1 ^= s.v2
	s.v2 = bits.RotateLeft64(s.v2, 32)
}

// compress absorbs one 64-bit message word with c rounds.
func (s *sipState) compress(m uint64, c int) {
	s.v3 ^= m
	for range c {
		s.round()
	}
	s.v0 ^= m
}

// finish absorbs the last word b (length in the top byte, the tail bytes below) with c
// rounds, then runs d finalization rounds.
func (s *sipState) finish(b uint64, c, d int) uint64 {
	s.compress(b, c)
	s.v2 ^= 0xff
	for range d {
		s.round()
	}
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3
}

// sip runs SipHash-c-d over data with key k, reading words little-endian as the kernel does.
func sip(data []byte, k sipKey, c, d int) uint64 {
	s := newSip(k)
	n := len(data)
	for len(data) >= 8 {
		s.compress(binary.LittleEndian.Uint64(data), c)
		data = data[8:]
	}
	b := uint64(n) << 56
	for i, x := range data {
		b |= uint64(x) << (8 * i)
	}
	return s.finish(b, c, d)
}

// siphash is the kernel's siphash(): SipHash-2-4.
func siphash(data []byte, k sipKey) uint64 { return sip(data, k, 2, 4) }

// hsiphash is the kernel's hsiphash() on a 64-bit kernel: SipHash-1-3 with the result
// truncated to 32 bits (lib/siphash.c: "on 64-bit, we make HalfSipHash1-3 actually be
// SipHash1-3"). 32-bit kernels run real HalfSipHash instead; GoLVS follows amd64.
func hsiphash(data []byte, k sipKey) uint32 { return uint32(sip(data, k, 1, 3)) }

// hsiphash32 is hsiphash over the four little-endian bytes of v, as ip_vs_mh_hashkey calls
// it (hsiphash(&v, sizeof(v), key) on a little-endian CPU), without a byte slice.
func hsiphash32(v uint32, k sipKey) uint32 {
	s := newSip(k)
	return uint32(s.finish(4<<56|uint64(v), 1, 3))
}
