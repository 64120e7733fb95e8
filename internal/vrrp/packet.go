package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// AuthType is a VRRPv2 authentication type (RFC 2338 section 5.3.6; RFC 3768 keeps the
// field and deprecates its use). VRRPv3 has no authentication.
type AuthType uint8

// Authentication types.
const (
	AuthNone AuthType = 0 // no authentication
	AuthPass AuthType = 1 // simple text password: 8 bytes, zero padded (keepalived PASS)
	AuthAH   AuthType = 2 // IPsec AH: decoded, not supported (keepalived AH)
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(t))
}

// Wire constants.
const (
	// TTL is the IPv4 TTL / IPv6 hop limit adverts carry and multicast receivers require
	// (RFC 5798 section 5.1.1.3; keepalived VRRP_IP_TTL).
	TTL = 255
	// PriorityOwner is the priority of the address owner; PriorityStop is sent by a master
	// that stops (RFC 5798 section 5.2.4).
	PriorityOwner = 255
	PriorityStop  = 0
	// MaxAddrs is the most addresses the 8-bit count field can carry.
	MaxAddrs = 255

	headerLen  = 8
	authLen    = 8 // VRRPv2 authentication data
	typeAdvert = 1
)

// Multicast groups of VRRP (RFC 5798 sections 5.1.1.2 and 5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// Advert is a VRRP advertisement, the only message VRRP has. The zero value is not
// valid: Version must be 2 or 3.
type Advert struct {
	// Version is 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
	Version int
	VRID    uint8
	// Priority: 1..254 for backups, 255 for the address owner, 0 for a master that stops.
	Priority uint8
	// Interval is the advertisement interval: VRRPv2 carries whole seconds (8 bits,
	// 0..255 s), VRRPv3 centiseconds (12 bits, 0..40.95 s).
	Interval time.Duration
	// Reserved is VRRPv3's 4-bit reserved field: zero when sending, ignored when
	// receiving; kept so that a parsed message re-encodes byte for byte.
	Reserved uint8
	// AuthType and AuthData are VRRPv2's authentication fields. For AuthPass, AuthData is
	// the password, zero padded; keepalived sends its 8 bytes whatever the type.
	AuthType AuthType
	AuthData [authLen]byte
	// Addrs are the virtual addresses, all of the family of the IP packet.
	Addrs []netip.Addr
	// Checksum is the checksum field as received (Parse); Marshal computes its own.
	Checksum uint16
}

// family returns the address family of src and dst (both unmapped), or an error when
// they are missing or differ.
func family(src, dst netip.Addr) (is4 bool, err error) {
	switch {
	case !src.IsValid() || !dst.IsValid():
		return false, fmt.Errorf("%w: source %v, destination %v: both are needed", ErrAddrFamily, src, dst)
	case src.Is4() != dst.Is4():
		return false, fmt.Errorf("%w: source %v and destination %v", ErrAddrFamily, src, dst)
	}
	return src.Is4(), nil
}

// msgLen is the length of a message of version v with n addresses of the family.
func msgLen(v int, is4 bool, n int) int {
	size := 16
	if is4 {
		size = 4
	}
	l := headerLen + n*size
	if v == 2 {
		l += authLen
	}
	return l
}

// Parse decodes the VRRP message b (the IP payload: no IPv4 header, no IPv6 header) that
// came from src to dst, and verifies its checksum the way keepalived 2.2.7's
// vrrp_check_packet does: VRRPv2 over the message, VRRPv3 over the pseudo-header with src
// and dst (pass the IP header's destination: the group, or the unicast address). The
// IPv6 checksum is the kernel's job in keepalived; Parse verifies it too, so a transport
// that does not set IPV6_CHECKSUM loses nothing.
//
// Parse checks only what the message says of itself: length, version (2 or 3, and 2 only
// over IPv4), type, VRRPv2 authentication type (0, 1, 2; AH is decoded, and refusing it is
// the instance's business), checksum. Everything that depends on configuration (VRID,
// version expected, TTL, interval, addresses, password) is checked by the Router for each
// instance (keepalived: vrrp_check_packet).
// Errors wrap ErrTruncated, ErrCountMismatch, ErrBadVersion, ErrBadType, ErrBadAuthType,
// ErrAddrFamily or ErrBadChecksum (as a *ChecksumError). The returned Advert does not
// alias b.
func Parse(b []byte, src, dst netip.Addr) (*Advert, error) {
	src, dst = src.Unmap(), dst.Unmap()
	is4, err := family(src, dst)
	if err != nil {
		return nil, err
	}
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes, the header needs %d", ErrTruncated, len(b), headerLen)
	}
	a := &Advert{Version: int(b[0] >> 4), VRID: b[1], Priority: b[2]}
	switch a.Version {
	case 2:
		if !is4 {
			return nil, fmt.Errorf("%w: VRRPv2 over IPv6", ErrBadVersion)
		}
	case 3:
	default:
		return nil, fmt.Errorf("%w: %d, want 2 or 3", ErrBadVersion, a.Version)
	}
	if t := b[0] & 0x0f; t != typeAdvert {
		return nil, fmt.Errorf("%w: %d, want 1 (advertisement)", ErrBadType, t)
	}
	count := int(b[3])
	want := msgLen(a.Version, is4, count)
	switch {
	case len(b) < want:
		return nil, fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrTruncated, len(b), count, want)
	case len(b) > want:
		return nil, fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrCountMismatch, len(b), count, want)
	}
	if a.Version == 2 {
		a.AuthType = AuthType(b[4])
		if a.AuthType > AuthAH {
			return nil, fmt.Errorf("%w: %d, want 0 (none), 1 (PASS) or 2 (AH)", ErrBadAuthType, b[4])
		}
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[want-authLen:])
	} else {
		f := binary.BigEndian.Uint16(b[4:6])
		a.Reserved = uint8(f >> 12)
		a.Interval = time.Duration(f&0x0fff) * 10 * time.Millisecond
	}
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	if count > 0 {
		a.Addrs = make([]netip.Addr, count)
	}
	for i := range a.Addrs {
		if is4 {
			off := headerLen + 4*i
			a.Addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			off := headerLen + 16*i
			a.Addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
	}
	var acc uint32
	if a.Version == 3 {
		acc = pseudoSum(src, dst, len(b))
	}
	acc = sum16(acc, b[:6])
	acc = sum16(acc, b[8:])
	if w := fold(acc); w != a.Checksum {
		return nil, &ChecksumError{Version: a.Version, Got: a.Checksum, Want: w}
	}
	return a, nil
}

// Marshal encodes a as sent from src to dst, with its checksum computed (a.Checksum is
// ignored). For VRRPv3, dst is the address the pseudo-header carries: the IP destination,
// except for keepalived's old unicast checksum (vrrp_csum_mcast), where it is the
// group. The result is the IP payload; the transport adds the IP header with TTL 255.
//
// Marshal refuses (ErrBadField, ErrBadVersion, ErrAddrFamily) what the wire cannot carry:
// a version other than 2 or 3, VRRPv2 over IPv6, more than 255 addresses, addresses of
// another family than src, a VRRPv2 interval that is not whole seconds up to 255 s, a
// VRRPv3 interval that is not whole centiseconds up to 40.95 s, an authentication type
// above 2, reserved bits beyond 4.
func Marshal(a *Advert, src, dst netip.Addr) ([]byte, error) {
	src, dst = src.Unmap(), dst.Unmap()
	is4, err := family(src, dst)
	if err != nil {
		return nil, err
	}
	switch a.Version {
	case 2:
		if !is4 {
			return nil, fmt.Errorf("%w: VRRPv2 over IPv6", ErrBadVersion)
		}
	case 3:
	default:
		return nil, fmt.Errorf("%w: %d, want 2 or 3", ErrBadVersion, a.Version)
	}
	if len(a.Addrs) > MaxAddrs {
		return nil, fmt.Errorf("%w: %d addresses, at most %d", ErrBadField, len(a.Addrs), MaxAddrs)
	}
	b := make([]byte, msgLen(a.Version, is4, len(a.Addrs)))
	b[0] = byte(a.Version)<<4 | typeAdvert
	b[1], b[2], b[3] = a.VRID, a.Priority, byte(len(a.Addrs))
	if a.Version == 2 {
		if a.Interval%time.Second != 0 || a.Interval < 0 || a.Interval > 255*time.Second {
			return nil, fmt.Errorf("%w: VRRPv2 interval %v is not whole seconds in 0..255 s", ErrBadField, a.Interval)
		}
		if a.AuthType > AuthAH {
			return nil, fmt.Errorf("%w: authentication type %d", ErrBadField, a.AuthType)
		}
		b[4], b[5] = byte(a.AuthType), byte(a.Interval/time.Second)
		copy(b[len(b)-authLen:], a.AuthData[:])
	} else {
		cs := a.Interval / (10 * time.Millisecond)
		if a.Interval%(10*time.Millisecond) != 0 || cs < 0 || cs > 0x0fff {
			return nil, fmt.Errorf("%w: VRRPv3 interval %v is not whole centiseconds in 0..40.95 s", ErrBadField, a.Interval)
		}
		if a.Reserved > 0x0f {
			return nil, fmt.Errorf("%w: reserved bits %#x", ErrBadField, a.Reserved)
		}
		binary.BigEndian.PutUint16(b[4:6], uint16(a.Reserved)<<12|uint16(cs))
	}
	for i, ip := range a.Addrs {
		if (is4 && !ip.Is4()) || (!is4 && !ip.Is6()) {
			return nil, fmt.Errorf("%w: virtual address %v in a message from %v", ErrAddrFamily, ip, src)
		}
		if is4 {
			v := ip.As4()
			copy(b[headerLen+4*i:], v[:])
		} else {
			v := ip.As16()
			copy(b[headerLen+16*i:], v[:])
		}
	}
	binary.BigEndian.PutUint16(b[6:8], checksum(a.Version, b, src, dst))
	return b, nil
}
