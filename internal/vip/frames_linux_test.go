package vip

import (
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

// TestFrameBytes pins the frames for a fixed MAC (the ICMPv6 checksums were computed
// independently). TestFramesMatchKeepalived checks the same builders against what
// keepalived 2.2.7 really sends.
func TestFrameBytes(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	garp, err := garpFrame(mac, netip.MustParseAddr("192.0.2.100"))
	if err != nil {
		t.Fatal(err)
	}
	wantGARP := "ffffffffffff" + "020000000001" + "0806" + // Ethernet: broadcast, ARP
		"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
		"020000000001" + "c0000264" + // sender: our MAC, the VIP
		"ffffffffffff" + "c0000264" // target: broadcast MAC, the VIP
	if got := hex.EncodeToString(garp); got != wantGARP {
		t.Errorf("GARP\n got %s\nwant %s", got, wantGARP)
	}

	for _, router := range []bool{false, true} {
		na, err := naFrame(mac, netip.MustParseAddr("2001:db8::100"), router)
		if err != nil {
			t.Fatal(err)
		}
		flags, sum := "20", "f72c" // override only
		if router {
			flags, sum = "a0", "772c" // router and override
		}
		wantNA := "333300000001" + "020000000001" + "86dd" + // Ethernet: all-nodes, IPv6
			"60000000" + "0020" + "3a" + "ff" + // 32 bytes of ICMPv6, hop limit 255
			"20010db8000000000000000000000100" + "ff020000000000000000000000000001" +
			"88" + "00" + sum + flags + "000000" + // NA, checksum, R/S/O flags
			"20010db8000000000000000000000100" + // target
			"02" + "01" + "020000000001" // target link-layer address option
		if got := hex.EncodeToString(na); got != wantNA {
			t.Errorf("NA (router %v)\n got %s\nwant %s", router, got, wantNA)
		}
	}
}
