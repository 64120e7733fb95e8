package ipvsnl

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// The replies below are built attribute by attribute, in the order and encodings of
// ip_vs_genl_fill_service, ip_vs_genl_fill_dest, ip_vs_genl_fill_daemon and
// ip_vs_genl_get_cmd (net/netfilter/ipvs/ip_vs_ctl.c), without the package's encoder.

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }
func n16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func n32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func nested(typ uint16, attrs ...netlink.Attribute) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: nltest.MustMarshalAttributes(attrs)}
}

func attr(typ uint16, b []byte) netlink.Attribute { return netlink.Attribute{Type: typ, Data: b} }

func inet(s string) []byte {
	a := netip.MustParseAddr(s)
	b := make([]byte, 16)
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
	} else {
		v := a.As16()
		copy(b, v[:])
	}
	return b
}

// stats32 is IPVS_*_ATTR_STATS: u32 counters but u64 bytes, then u32 rates.
func stats32(typ uint16, base uint32) netlink.Attribute {
	return nested(typ,
		attr(1, u32(base+1)), attr(2, u32(base+2)), attr(3, u32(base+3)),
		attr(4, u64(uint64(base)+4)), attr(5, u64(uint64(base)+5)),
		attr(6, u32(base+6)), attr(7, u32(base+7)), attr(8, u32(base+8)),
		attr(9, u32(base+9)), attr(10, u32(base+10)))
}

// stats64 is IPVS_*_ATTR_STATS64, with a pad attribute in front as
// nla_put_u64_64bit adds on architectures that need alignment.
func stats64(typ uint16, base uint64) netlink.Attribute {
	attrs := []netlink.Attribute{attr(11, nil)}
	for i := uint16(1); i <= 10; i++ {
		attrs = append(attrs, attr(i, u64(base+uint64(i))))
	}
	return nested(typ, attrs...)
}

func wantStats(base uint64, from32 bool) Stats {
	return Stats{Conns: base + 1, InPkts: base + 2, OutPkts: base + 3, InBytes: base + 4, OutBytes: base + 5,
		CPS: base + 6, InPPS: base + 7, OutPPS: base + 8, InBPS: base + 9, OutBPS: base + 10, From32: from32}
}

func msg(cmd Cmd, attrs ...netlink.Attribute) genetlink.Message {
	return genetlink.Message{Header: genetlink.Header{Command: uint8(cmd), Version: 1}, Data: nltest.MustMarshalAttributes(attrs)}
}

func TestDecodeReplies(t *testing.T) {
	svc4 := []netlink.Attribute{attr(1, u16(AFInet)), attr(2, u16(ProtoTCP)), attr(3, inet("10.9.0.1")), attr(4, n16(80)),
		attr(6, []byte("wlc\x00")), attr(7, append(u32(FlagPersistent|FlagHashed), u32(^uint32(0))...)),
		attr(8, u32(300)), attr(9, n32(0xffffff00))}
	tests := []struct {
		name string
		m    genetlink.Message
		want Command
	}{
		{"service with 32- and 64-bit stats: 64 wins", msg(CmdNewService, nested(1, append(svc4, stats32(10, 1000), stats64(12, 1<<40))...)),
			Command{Cmd: CmdNewService, Service: &Service{
				ServiceKey: ServiceKey{AF: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80},
				SchedName:  "wlc", Flags: FlagPersistent | FlagHashed, Timeout: 300, Netmask: 0xffffff00, Stats: wantStats(1<<40, false)}}},
		{"service of a kernel before 4.1: 32-bit stats only", msg(CmdNewService, nested(1, append(svc4, stats32(10, 1000))...)),
			Command{Cmd: CmdNewService, Service: &Service{
				ServiceKey: ServiceKey{AF: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80},
				SchedName:  "wlc", Flags: FlagPersistent | FlagHashed, Timeout: 300, Netmask: 0xffffff00, Stats: wantStats(1000, true)}}},
		{"64-bit stats before 32-bit ones", msg(CmdNewService, nested(1, append(svc4, stats64(12, 7), stats32(10, 1000))...)),
			Command{Cmd: CmdNewService, Service: &Service{
				ServiceKey: ServiceKey{AF: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80},
				SchedName:  "wlc", Flags: FlagPersistent | FlagHashed, Timeout: 300, Netmask: 0xffffff00, Stats: wantStats(7, false)}}},
		{"ipv6 service with pe and prefix length in host order", msg(CmdNewService, nested(1,
			attr(1, u16(AFInet6)), attr(2, u16(ProtoUDP)), attr(3, inet("fd00::9")), attr(4, n16(5060)),
			attr(6, []byte("rr\x00")), attr(11, []byte("sip\x00")), attr(7, append(u32(3), u32(^uint32(0))...)),
			attr(8, u32(60)), attr(9, u32(64)))),
			Command{Cmd: CmdNewService, Service: &Service{
				ServiceKey: ServiceKey{AF: AFInet6, Protocol: ProtoUDP, Addr: netip.MustParseAddr("fd00::9"), Port: 5060},
				SchedName:  "rr", PEName: "sip", Flags: 3, Timeout: 60, Netmask: 64}}},
		{"fwmark service, flags with a partial mask", msg(CmdNewService, nested(1,
			attr(1, u16(AFInet6)), attr(5, u32(77)), attr(6, []byte("none\x00")),
			attr(7, append(u32(FlagOnePacket), u32(FlagOnePacket)...)), attr(8, u32(0)), attr(9, u32(128)))),
			Command{Cmd: CmdNewService, Service: &Service{ServiceKey: ServiceKey{AF: AFInet6, FWMark: 77},
				SchedName: "none", Flags: FlagOnePacket, FlagsMask: FlagOnePacket, Netmask: 128}}},
		{"ipv4 tunnel destination of an ipv6 service", msg(CmdNewDest,
			nested(1, attr(1, u16(AFInet6)), attr(2, u16(ProtoTCP)), attr(3, inet("fd00::9")), attr(4, n16(80))),
			nested(2, attr(1, inet("10.1.0.11")), attr(2, n16(80)), attr(3, u32(FwdTunnel|0x100)), attr(4, u32(2)),
				attr(13, []byte{TunGUE}), attr(14, n16(6080)), attr(15, u16(TunFlagRemCsum)),
				attr(5, u32(100)), attr(6, u32(50)), attr(7, u32(3)), attr(8, u32(4)), attr(9, u32(5)),
				attr(11, u16(AFInet)), stats32(10, 0), stats64(12, 100))),
			Command{Cmd: CmdNewDest,
				Service: &Service{ServiceKey: ServiceKey{AF: AFInet6, Protocol: ProtoTCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}},
				Dest: &Dest{AF: AFInet, Addr: netip.MustParseAddr("10.1.0.11"), Port: 80, FwdMethod: FwdTunnel, Weight: 2,
					UThreshold: 100, LThreshold: 50, TunType: TunGUE, TunPort: 6080, TunFlags: TunFlagRemCsum,
					ActiveConns: 3, InactConns: 4, PersistConns: 5, Stats: wantStats(100, false)}}},
		{"destination of a kernel before 3.18: no family, the service's", msg(CmdNewDest,
			nested(1, attr(1, u16(AFInet6)), attr(5, u32(1))),
			nested(2, attr(1, inet("fd01::11")), attr(2, n16(0)), attr(3, u32(FwdRoute)), attr(4, u32(0xffffffff)),
				attr(5, u32(0)), attr(6, u32(0)), attr(7, u32(0)), attr(8, u32(0)), attr(9, u32(0)))),
			Command{Cmd: CmdNewDest, Service: &Service{ServiceKey: ServiceKey{AF: AFInet6, FWMark: 1}},
				Dest: &Dest{AF: AFInet6, Addr: netip.MustParseAddr("fd01::11"), FwdMethod: FwdRoute, Weight: -1}}},
		{"daemon with an ipv6 group", msg(CmdNewDaemon, nested(3,
			attr(1, u32(StateBackup)), attr(2, []byte("brc\x00")), attr(3, u32(7)), attr(4, u16(1024)),
			attr(7, u16(8849)), attr(8, []byte{2}), attr(6, inet("ff02::1:2")))),
			Command{Cmd: CmdNewDaemon, Daemon: &Daemon{State: StateBackup, MCastIfn: "brc", SyncID: 7, SyncMaxLen: 1024,
				MCastGroup: netip.MustParseAddr("ff02::1:2"), MCastPort: 8849, MCastTTL: 2}}},
		{"daemon with an ipv4 group", msg(CmdNewDaemon, nested(3,
			attr(1, u32(StateMaster)), attr(2, []byte("brc\x00")), attr(3, u32(5)), attr(4, u16(1472)),
			attr(7, u16(8848)), attr(8, []byte{1}), attr(5, inet("224.0.0.81")[:4]))),
			Command{Cmd: CmdNewDaemon, Daemon: &Daemon{State: StateMaster, MCastIfn: "brc", SyncID: 5, SyncMaxLen: 1472,
				MCastGroup: netip.MustParseAddr("224.0.0.81"), MCastPort: 8848, MCastTTL: 1}}},
		{"info", msg(CmdSetInfo, attr(1, u32(0x010201)), attr(2, u32(4096))),
			Command{Cmd: CmdSetInfo, Info: &Info{Version: 0x010201, ConnTabSize: 4096}}},
		{"timeouts", msg(CmdSetConfig, attr(4, u32(900)), attr(5, u32(120)), attr(6, u32(300))),
			Command{Cmd: CmdSetConfig, Timeouts: &Timeouts{900, 120, 300}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCommand(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %s\n%+v %+v\nwant %s\n%+v %+v", got.String(), got.Service, got.Dest, tc.want.String(), tc.want.Service, tc.want.Dest)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		m    genetlink.Message
		want string
	}{
		{"service without family", msg(CmdNewService, nested(1, attr(5, u32(1)))), "service without address family"},
		{"short flags", msg(CmdNewService, nested(1, attr(1, u16(AFInet)), attr(7, u32(1)))), "service flags in 4 bytes"},
		{"short port", msg(CmdNewService, nested(1, attr(1, u16(AFInet)), attr(4, []byte{80}))), "16-bit value in 1 bytes"},
		{"short address", msg(CmdNewService, nested(1, attr(1, u16(AFInet6)), attr(3, inet("10.0.0.1")[:4]))), "address of family 10 in 4 bytes"},
		{"bad netmask", msg(CmdNewService, nested(1, attr(1, u16(AFInet)), attr(9, u16(1)))), "service netmask in 2 bytes"},
		{"truncated attributes", genetlink.Message{Header: genetlink.Header{Command: 1}, Data: []byte{8, 0, 1}}, "decode new-service"},
	}
	for _, tc := range tests {
		if _, err := DecodeCommand(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestEncodeDecode checks that what the encoder writes as a kernel reply decodes to the
// same command (the fake kernel relies on it).
func TestEncodeDecode(t *testing.T) {
	cmds := []Command{
		{Cmd: CmdNewService, Reply: true, Service: &Service{ServiceKey: udp6, SchedName: "sh", PEName: "sip",
			Flags: 0x1f, Timeout: 9, Netmask: 48, Stats: wantStats(1<<33, false)}},
		{Cmd: CmdNewService, Reply: true, Service: &Service{ServiceKey: fwm4, SchedName: "rr", Netmask: 0xff00ff00, Stats: wantStats(9, true)}},
		{Cmd: CmdNewDest, Reply: true, Service: &Service{ServiceKey: tcp4},
			Dest: &Dest{AF: AFInet6, Addr: netip.MustParseAddr("fd00::2"), Port: 1, FwdMethod: FwdTunnel, Weight: 1 << 20,
				UThreshold: 3, LThreshold: 2, TunType: TunGRE, TunFlags: TunFlagCsum, ActiveConns: 1, InactConns: 2, PersistConns: 3,
				Stats: wantStats(5, false)}},
		{Cmd: CmdNewDaemon, Reply: true, Daemon: &Daemon{State: StateMaster, MCastIfn: "x", SyncID: 1, SyncMaxLen: 2,
			MCastGroup: netip.MustParseAddr("239.1.1.1"), MCastPort: 3, MCastTTL: 4}},
	}
	for _, c := range cmds {
		m, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCommand(m)
		if err != nil {
			t.Fatal(err)
		}
		got.Reply = true
		if got.Service != nil && c.Service != nil && c.Service.Family() != 0 {
			got.Service.AF = c.Service.AF // the key may leave AF to the address
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %s:\n got  %+v %+v\n want %+v %+v", c.String(), got.Service, got.Dest, c.Service, c.Dest)
		}
	}
}

// TestDecodeCaptured decodes the replies the real kernel (Linux 6.1, Debian 12) sent for
// the table of capture_linux_test.go (testdata/kernel/*.hex, recorded with
// testdata/kernel/capture.sh) and compares them with testdata/kernel/decoded.golden;
// ipvsadm.txt is what ipvsadm 1.31 listed of the same table.
func TestDecodeCaptured(t *testing.T) {
	files, err := filepath.Glob("testdata/kernel/*.hex")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured replies: %v", err)
	}
	var out strings.Builder
	out.WriteString("# Kernel replies of testdata/kernel/*.hex as the decoder reads them.\n" +
		"# Regenerate: go test ./internal/ipvsnl -run TestDecodeCaptured -update\n")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "\n== %s\n", filepath.Base(f))
		for _, line := range strings.Fields(string(b)) {
			if !strings.Contains(line, ":") {
				continue
			}
			cmd, data, ok := strings.Cut(line, ":")
			n, err := strconv.Atoi(cmd)
			raw, herr := hex.DecodeString(data)
			if !ok || err != nil || herr != nil {
				t.Fatalf("%s: bad line %q", f, line)
			}
			c, err := DecodeCommand(genetlink.Message{Header: genetlink.Header{Command: uint8(n), Version: 1}, Data: raw})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out.WriteString(c.String())
			if c.Service != nil {
				fmt.Fprintf(&out, " | af %d stats %+v", c.Service.AF, c.Service.Stats)
			}
			if c.Dest != nil {
				fmt.Fprintf(&out, " | dest af %d conns %d/%d/%d stats %+v", c.Dest.AF,
					c.Dest.ActiveConns, c.Dest.InactConns, c.Dest.PersistConns, c.Dest.Stats)
			}
			if c.Daemon != nil {
				fmt.Fprintf(&out, " | maxlen %d group %s port %d ttl %d", c.Daemon.SyncMaxLen, c.Daemon.MCastGroup, c.Daemon.MCastPort, c.Daemon.MCastTTL)
			}
			out.WriteByte('\n')
		}
	}
	compareGolden(t, "testdata/kernel/decoded.golden", out.String())
}
