package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"
)

// captured is one VRRP packet read from a pcap file: the IP payload and what the IP
// header said.
type captured struct {
	payload  []byte
	src, dst netip.Addr
	ttl      int
	at       time.Duration // since the first packet of the file
}

// readPcap reads the VRRP packets (IP protocol 112) of an Ethernet pcap file written by
// tcpdump. It handles what tcpdump writes on Linux (microsecond, little or big endian,
// link type 1) and IPv6 without extension headers; anything else fails the test.
func readPcap(t *testing.T, path string) []captured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := parsePcap(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pkts
}

func parsePcap(b []byte) ([]captured, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("short pcap header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a microsecond pcap file")
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("link type %d, want 1 (Ethernet)", lt)
	}
	var out []captured
	var first time.Duration
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, fmt.Errorf("short record header at %d", off)
		}
		at := time.Duration(bo.Uint32(b[off:]))*time.Second + time.Duration(bo.Uint32(b[off+4:]))*time.Microsecond
		if off == 24 {
			first = at
		}
		at -= first
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			return nil, fmt.Errorf("short record at %d", off)
		}
		frame := b[off : off+n]
		off += n
		if len(frame) < 14 {
			return nil, fmt.Errorf("short frame")
		}
		ip := frame[14:]
		switch binary.BigEndian.Uint16(frame[12:]) {
		case 0x0800:
			ihl := int(ip[0]&0x0f) * 4
			total := int(binary.BigEndian.Uint16(ip[2:]))
			if ip[9] != IPProtocol || total > len(ip) {
				continue
			}
			out = append(out, captured{
				payload: ip[ihl:total],
				src:     netip.AddrFrom4([4]byte(ip[12:16])),
				dst:     netip.AddrFrom4([4]byte(ip[16:20])),
				ttl:     int(ip[8]),
				at:      at,
			})
		case 0x86dd:
			plen := int(binary.BigEndian.Uint16(ip[4:]))
			if ip[6] != IPProtocol || 40+plen > len(ip) {
				continue
			}
			out = append(out, captured{
				payload: ip[40 : 40+plen],
				src:     netip.AddrFrom16([16]byte(ip[8:24])),
				dst:     netip.AddrFrom16([16]byte(ip[24:40])),
				ttl:     int(ip[7]),
				at:      at,
			})
		}
	}
	return out, nil
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
