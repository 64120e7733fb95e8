package vrrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// goldenPcap holds the adverts keepalived 2.2.7 (Debian 1:2.2.7-1+b2) sent with
// testdata/keepalived-2.2.7.conf, captured on the peer end of a veth pair: each instance
// becoming master, its adverts, and the priority 0 adverts of its shutdown.
const goldenPcap = "testdata/keepalived-2.2.7.pcap"

var (
	kaSrc4 = netip.MustParseAddr("10.0.0.1")
	kaSrc6 = netip.MustParseAddr("fe80::ecb1:37ff:fe94:e702")
	kaPeer = netip.MustParseAddr("10.0.0.2")
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func pass(s string) (b [8]byte) {
	copy(b[:], s)
	return b
}

// kaAdverts are the adverts the instances of keepalived-2.2.7.conf send as master, built
// from the configuration (not from the capture), with the destination they go to.
var kaAdverts = map[uint8]struct {
	adv      Advert
	src, dst netip.Addr
}{
	51: {Advert{Version: 2, VRID: 51, Priority: 150, Interval: time.Second, AuthType: AuthPass,
		AuthData: pass("secret12"), Addrs: addrs("10.0.0.100", "10.0.0.101")}, kaSrc4, GroupIPv4},
	53: {Advert{Version: 3, VRID: 53, Priority: 200, Interval: 500 * time.Millisecond,
		Addrs: addrs("10.0.0.103", "10.0.0.104", "10.0.0.105")}, kaSrc4, GroupIPv4},
	54: {Advert{Version: 3, VRID: 54, Priority: 120, Interval: time.Second,
		Addrs: addrs("fe80::54", "fd00::54")}, kaSrc6, GroupIPv6},
	55: {Advert{Version: 3, VRID: 55, Priority: 130, Interval: time.Second,
		Addrs: addrs("10.0.0.106")}, kaSrc4, kaPeer},
}

// TestGoldenKeepalived decodes every advert keepalived sent and re-encodes it byte for
// byte, and checks that adverts built from the configuration are keepalived's bytes.
func TestGoldenKeepalived(t *testing.T) {
	pkts := readPcap(t, goldenPcap)
	if len(pkts) < 10 {
		t.Fatalf("%d packets in %s, want at least 10", len(pkts), goldenPcap)
	}
	seen := map[uint8]bool{}
	stops := 0
	for i, p := range pkts {
		a, err := Parse(p.payload, p.src, p.dst)
		if err != nil {
			t.Fatalf("packet %d: Parse: %v", i, err)
		}
		if p.ttl != TTL {
			t.Errorf("packet %d: TTL %d, want %d", i, p.ttl, TTL)
		}
		out, err := Marshal(a, p.src, p.dst)
		if err != nil {
			t.Fatalf("packet %d: Marshal: %v", i, err)
		}
		if !bytes.Equal(out, p.payload) {
			t.Errorf("packet %d: re-encoded\n%x\nwant\n%x", i, out, p.payload)
		}
		want, ok := kaAdverts[a.VRID]
		if !ok {
			t.Fatalf("packet %d: unexpected VRID %d", i, a.VRID)
		}
		if p.src != want.src || p.dst != want.dst {
			t.Errorf("packet %d (VRID %d): %v > %v, want %v > %v", i, a.VRID, p.src, p.dst, want.src, want.dst)
		}
		w := want.adv
		if a.Priority == PriorityStop {
			stops++
			w.Priority = PriorityStop
		}
		built, err := Marshal(&w, want.src, want.dst)
		if err != nil {
			t.Fatalf("VRID %d: Marshal: %v", a.VRID, err)
		}
		if !bytes.Equal(built, p.payload) {
			t.Errorf("VRID %d priority %d: built\n%x\nkeepalived sent\n%x", a.VRID, w.Priority, built, p.payload)
		}
		seen[a.VRID] = true
	}
	for vrid := range kaAdverts {
		if !seen[vrid] {
			t.Errorf("no advert of VRID %d in the capture", vrid)
		}
	}
	if stops != len(kaAdverts) {
		t.Errorf("%d priority 0 adverts, want one per instance (%d)", stops, len(kaAdverts))
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// v2Pass is keepalived's VRID 51 advert (PASS "secret12", 10.0.0.100 and .101).
var v2Pass = mustHex("213396020101c581 0a000064 0a000065 7365637265743132")

func TestParseErrors(t *testing.T) {
	v3 := func(mod func(b []byte)) []byte {
		a := kaAdverts[53]
		b, _ := Marshal(&a.adv, a.src, a.dst)
		mod(b)
		return b
	}
	src6, dst6 := kaSrc6, GroupIPv6
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     error
		text     string
	}{
		{"empty", nil, kaSrc4, GroupIPv4, ErrTruncated, "vrrp: truncated message: 0 bytes, the header needs 8"},
		{"short header", v2Pass[:7], kaSrc4, GroupIPv4, ErrTruncated, "7 bytes, the header needs 8"},
		{"version 1", append([]byte{0x11}, v2Pass[1:]...), kaSrc4, GroupIPv4, ErrBadVersion, "vrrp: bad version: 1, want 2 or 3"},
		{"version 4", append([]byte{0x41}, v2Pass[1:]...), kaSrc4, GroupIPv4, ErrBadVersion, "4, want 2 or 3"},
		{"v2 over IPv6", v2Pass, src6, dst6, ErrBadVersion, "VRRPv2 over IPv6"},
		{"type 2", append([]byte{0x22}, v2Pass[1:]...), kaSrc4, GroupIPv4, ErrBadType, "vrrp: bad type: 2, want 1 (advertisement)"},
		{"no auth data", v2Pass[:16], kaSrc4, GroupIPv4, ErrTruncated, "16 bytes, 2 addresses need 24"},
		{"count too high", func() []byte { b := bytes.Clone(v2Pass); b[3] = 3; return b }(), kaSrc4, GroupIPv4, ErrTruncated, "24 bytes, 3 addresses need 28"},
		{"count too low", func() []byte { b := bytes.Clone(v2Pass); b[3] = 1; return b }(), kaSrc4, GroupIPv4, ErrCountMismatch, "vrrp: address count does not match message length: 24 bytes, 1 addresses need 20"},
		{"trailing byte", append(bytes.Clone(v2Pass), 0), kaSrc4, GroupIPv4, ErrCountMismatch, "25 bytes, 2 addresses need 24"},
		{"auth type 3", func() []byte { b := bytes.Clone(v2Pass); b[4] = 3; return b }(), kaSrc4, GroupIPv4, ErrBadAuthType, "vrrp: bad authentication type: 3, want 0 (none), 1 (PASS) or 2 (AH)"},
		{"v2 checksum", func() []byte { b := bytes.Clone(v2Pass); b[2] = 100; return b }(), kaSrc4, GroupIPv4, ErrBadChecksum, "vrrp: bad VRRPv2 checksum: got 0xc581, want 0xf781"},
		{"v3 checksum with other source", v3(func([]byte) {}), kaPeer, GroupIPv4, ErrBadChecksum, "bad VRRPv3 checksum: got 0xfcc4, want 0xfcc3"},
		{"v3 checksum with unicast destination", v3(func([]byte) {}), kaSrc4, kaPeer, ErrBadChecksum, "bad VRRPv3 checksum"},
		{"v3 IPv4 addresses in IPv6", v3(func([]byte) {}), src6, dst6, ErrTruncated, "20 bytes, 3 addresses need 56"},
		{"no source", v2Pass, netip.Addr{}, GroupIPv4, ErrAddrFamily, "vrrp: address family mismatch: source invalid IP, destination 224.0.0.18: both are needed"},
		{"mixed families", v2Pass, kaSrc4, GroupIPv6, ErrAddrFamily, "source 10.0.0.1 and destination ff02::12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.b, tt.src, tt.dst)
			if err == nil {
				t.Fatalf("Parse = %+v, want error", a)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q is not %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want it to contain %q", err, tt.text)
			}
		})
	}
}

func TestChecksumErrorFields(t *testing.T) {
	b := bytes.Clone(v2Pass)
	b[6], b[7] = 0, 0
	_, err := Parse(b, kaSrc4, GroupIPv4)
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ChecksumError", err)
	}
	if ce.Got != 0 || ce.Want != 0xc581 || ce.Version != 2 {
		t.Errorf("ChecksumError = %+v, want Got 0, Want 0xc581, Version 2", ce)
	}
}

func TestParseFields(t *testing.T) {
	a, err := Parse(v2Pass, kaSrc4, GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	want := kaAdverts[51].adv
	want.Checksum = 0xc581
	if a.Version != 2 || a.VRID != 51 || a.Priority != 150 || a.Interval != time.Second ||
		a.AuthType != AuthPass || a.AuthData != want.AuthData || a.Checksum != want.Checksum ||
		len(a.Addrs) != 2 || a.Addrs[0] != want.Addrs[0] || a.Addrs[1] != want.Addrs[1] {
		t.Errorf("Parse = %+v, want %+v", a, want)
	}
	// VRRPv3 keeps the reserved bits, and the checksum covers them.
	v3 := kaAdverts[53]
	v3.adv.Reserved = 0xa
	b, err := Marshal(&v3.adv, v3.src, v3.dst)
	if err != nil {
		t.Fatal(err)
	}
	if b[4]>>4 != 0xa {
		t.Errorf("reserved bits %#x, want 0xa", b[4]>>4)
	}
	got, err := Parse(b, v3.src, v3.dst)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reserved != 0xa || got.Interval != 500*time.Millisecond {
		t.Errorf("Parse = reserved %#x interval %v, want 0xa 500ms", got.Reserved, got.Interval)
	}
	// An AH advert decodes; refusing it is the instance's business.
	ah := Advert{Version: 2, VRID: 1, Priority: 100, Interval: time.Second, AuthType: AuthAH, Addrs: addrs("10.0.0.9")}
	b, err = Marshal(&ah, kaSrc4, GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Parse(b, kaSrc4, GroupIPv4); err != nil || got.AuthType != AuthAH {
		t.Errorf("Parse(AH) = %+v, %v; want AuthType AH", got, err)
	}
	// No addresses: Addrs stays nil.
	none := Advert{Version: 3, VRID: 9, Priority: 1, Interval: 10 * time.Millisecond}
	b, _ = Marshal(&none, kaSrc4, GroupIPv4)
	if got, err := Parse(b, kaSrc4, GroupIPv4); err != nil || got.Addrs != nil {
		t.Errorf("Parse(no addresses) = %+v, %v", got, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})
	}
	tests := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		want     error
		text     string
	}{
		{"version 0", Advert{}, kaSrc4, GroupIPv4, ErrBadVersion, "vrrp: bad version: 0, want 2 or 3"},
		{"v2 over IPv6", Advert{Version: 2}, kaSrc6, GroupIPv6, ErrBadVersion, "VRRPv2 over IPv6"},
		{"v2 sub-second", Advert{Version: 2, Interval: 1500 * time.Millisecond}, kaSrc4, GroupIPv4, ErrBadField, "VRRPv2 interval 1.5s is not whole seconds in 0..255 s"},
		{"v2 too slow", Advert{Version: 2, Interval: 256 * time.Second}, kaSrc4, GroupIPv4, ErrBadField, "VRRPv2 interval 4m16s"},
		{"v2 auth 3", Advert{Version: 2, AuthType: 3}, kaSrc4, GroupIPv4, ErrBadField, "authentication type 3"},
		{"v3 milliseconds", Advert{Version: 3, Interval: 15 * time.Millisecond}, kaSrc4, GroupIPv4, ErrBadField, "VRRPv3 interval 15ms is not whole centiseconds in 0..40.95 s"},
		{"v3 too slow", Advert{Version: 3, Interval: 41 * time.Second}, kaSrc4, GroupIPv4, ErrBadField, "VRRPv3 interval 41s"},
		{"v3 reserved", Advert{Version: 3, Reserved: 16}, kaSrc4, GroupIPv4, ErrBadField, "reserved bits 0x10"},
		{"256 addresses", Advert{Version: 3, Addrs: many}, kaSrc4, GroupIPv4, ErrBadField, "256 addresses, at most 255"},
		{"IPv6 VIP in IPv4", Advert{Version: 3, Addrs: addrs("fd00::1")}, kaSrc4, GroupIPv4, ErrAddrFamily, "virtual address fd00::1 in a message from 10.0.0.1"},
		{"IPv4 VIP in IPv6", Advert{Version: 3, Addrs: addrs("10.0.0.1")}, kaSrc6, GroupIPv6, ErrAddrFamily, "virtual address 10.0.0.1"},
		{"no destination", Advert{Version: 3}, kaSrc4, netip.Addr{}, ErrAddrFamily, "both are needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(&tt.a, tt.src, tt.dst)
			if err == nil {
				t.Fatalf("Marshal = %x, want error", b)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q is not %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want it to contain %q", err, tt.text)
			}
		})
	}
}

// TestV3UnicastChecksum: keepalived 2.2.7 puts the unicast peer in the VRRPv3/IPv4
// pseudo-header; keepalived 1.3.6 and older put the group there (old_unicast_checksum).
func TestV3UnicastChecksum(t *testing.T) {
	u := kaAdverts[55]
	now, err := Marshal(&u.adv, u.src, u.dst)
	if err != nil {
		t.Fatal(err)
	}
	old, err := Marshal(&u.adv, u.src, GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(now, old) {
		t.Fatal("unicast and group pseudo-headers give one checksum")
	}
	if _, err := Parse(old, u.src, u.dst); !errors.Is(err, ErrBadChecksum) {
		t.Errorf("old-style checksum verified against the unicast destination: %v", err)
	}
	if _, err := Parse(old, u.src, GroupIPv4); err != nil {
		t.Errorf("old-style checksum does not verify against the group: %v", err)
	}
}

func TestAuthTypeString(t *testing.T) {
	for typ, want := range map[AuthType]string{AuthNone: "none", AuthPass: "PASS", AuthAH: "AH", 7: "auth(7)"} {
		if got := typ.String(); got != want {
			t.Errorf("AuthType(%d).String() = %q, want %q", typ, got, want)
		}
	}
}
