package ipvsnl

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// recorder is a fake kernel that records each request's netlink flags and generic
// netlink bytes and answers gets with canned replies.
type recorder struct {
	flags netlink.HeaderFlags
	data  []byte
}

func (r *recorder) serve(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if nreq.Header.Type == 0 {
		return nil, io.EOF
	}
	r.flags, r.data = nreq.Header.Flags, bytes.Clone(nreq.Data)
	var reply *Command
	switch Cmd(greq.Header.Command) {
	case CmdGetInfo:
		reply = &Command{Cmd: CmdSetInfo, Info: &Info{Version: 0x010201, ConnTabSize: 4096}}
	case CmdGetConfig:
		reply = &Command{Cmd: CmdSetConfig, Timeouts: &Timeouts{900, 120, 300}}
	case CmdGetService:
		if nreq.Header.Flags&netlink.Dump == 0 {
			reply = &Command{Cmd: CmdNewService, Service: &Service{ServiceKey: tcp4, SchedName: "rr"}, Reply: true}
		}
	}
	if reply == nil {
		return nil, io.EOF
	}
	m, err := reply.Encode()
	return []genetlink.Message{m}, err
}

func recordingClient(t *testing.T) (*Client, *recorder) {
	t.Helper()
	r := &recorder{}
	fam := genetlink.Family{ID: 0x2a, Version: FamilyVersion, Name: FamilyName}
	c, err := FromConn(genltest.Dial(genltest.ServeFamily(fam, r.serve)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, r
}

var (
	tcp4 = ServiceKey{Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	udp6 = ServiceKey{Protocol: ProtoUDP, Addr: netip.MustParseAddr("fd00::1"), Port: 53}
	fwm4 = ServiceKey{AF: AFInet, FWMark: 5}
	fwm6 = ServiceKey{AF: AFInet6, FWMark: 0x1234}
)

// requestCases are one call of every operation, with every attribute ipvsadm 1.31 sends.
var requestCases = []struct {
	name string
	call func(c *Client) error
}{
	{"get-info", func(c *Client) error { _, err := c.Info(); return err }},
	{"dump-services", func(c *Client) error { _, err := c.Services(); return err }},
	{"get-service tcp4", func(c *Client) error { _, err := c.Service(tcp4); return err }},
	{"new-service tcp4 rr", func(c *Client) error {
		return c.NewService(Service{ServiceKey: tcp4, SchedName: "rr", Netmask: 0xffffffff})
	}},
	{"new-service udp6 sh persistent 600 /64 one-packet sh-fallback pe sip", func(c *Client) error {
		return c.NewService(Service{ServiceKey: udp6, SchedName: "sh", PEName: "sip",
			Flags: FlagPersistent | FlagOnePacket | FlagSched1, Timeout: 600, Netmask: 64})
	}},
	{"new-service sctp4 wlc sched flags 2 3", func(c *Client) error {
		k := ServiceKey{Protocol: ProtoSCTP, Addr: netip.MustParseAddr("192.168.1.2"), Port: 3868}
		return c.NewService(Service{ServiceKey: k, SchedName: "wlc", Flags: FlagSched2 | FlagSched3, Netmask: 0xffffffff})
	}},
	{"new-service fwmark4 persistent mask 255.255.255.0", func(c *Client) error {
		return c.NewService(Service{ServiceKey: fwm4, SchedName: "wlc", Flags: FlagPersistent, Timeout: 360, Netmask: 0xffffff00})
	}},
	{"new-service fwmark6 mh", func(c *Client) error {
		return c.NewService(Service{ServiceKey: fwm6, SchedName: "mh", Netmask: 128})
	}},
	{"set-service tcp4 wrr persistent only", func(c *Client) error {
		return c.SetService(Service{ServiceKey: tcp4, SchedName: "wrr", Flags: FlagPersistent, FlagsMask: FlagPersistent, Timeout: 300, Netmask: 0xffffffff})
	}},
	{"del-service fwmark4", func(c *Client) error { return c.DelService(fwm4) }},
	{"dump-dests tcp4", func(c *Client) error { _, err := c.Dests(tcp4); return err }},
	{"new-dest tcp4 masq thresholds", func(c *Client) error {
		return c.NewDest(tcp4, Dest{Addr: netip.MustParseAddr("10.1.0.11"), Port: 8080, FwdMethod: FwdMasq, Weight: 3, UThreshold: 100, LThreshold: 50})
	}},
	{"new-dest tcp4 gue tunnel csum", func(c *Client) error {
		return c.NewDest(tcp4, Dest{Addr: netip.MustParseAddr("10.1.0.12"), Port: 80, FwdMethod: FwdTunnel, Weight: 1,
			TunType: TunGUE, TunPort: 6080, TunFlags: TunFlagCsum})
	}},
	{"new-dest udp6 ipv4 tunnel (mixed family)", func(c *Client) error {
		return c.NewDest(udp6, Dest{Addr: netip.MustParseAddr("10.1.0.13"), Port: 53, FwdMethod: FwdTunnel, Weight: 2, TunType: TunGRE, TunFlags: TunFlagRemCsum})
	}},
	{"new-dest fwmark6 route", func(c *Client) error {
		return c.NewDest(fwm6, Dest{Addr: netip.MustParseAddr("fd01::11"), FwdMethod: FwdRoute, Weight: 1})
	}},
	{"set-dest tcp4 route weight 0", func(c *Client) error {
		return c.SetDest(tcp4, Dest{Addr: netip.MustParseAddr("10.1.0.11"), Port: 8080, FwdMethod: FwdRoute})
	}},
	{"del-dest tcp4", func(c *Client) error {
		return c.DelDest(tcp4, Dest{Addr: netip.MustParseAddr("10.1.0.11"), Port: 8080, Weight: 9})
	}},
	{"flush", func(c *Client) error { return c.Flush() }},
	{"zero all", func(c *Client) error { return c.Zero(nil) }},
	{"zero udp6", func(c *Client) error { k := udp6; return c.Zero(&k) }},
	{"get-config", func(c *Client) error { _, err := c.Timeouts(); return err }},
	{"set-config 1000 0 60", func(c *Client) error { return c.SetTimeouts(Timeouts{TCP: 1000, UDP: 60}) }},
	{"dump-daemons", func(c *Client) error { _, err := c.Daemons(); return err }},
	{"new-daemon master minimal", func(c *Client) error {
		return c.NewDaemon(Daemon{State: StateMaster, MCastIfn: "eth0", SyncID: 5})
	}},
	{"new-daemon backup all options ipv4 group", func(c *Client) error {
		return c.NewDaemon(Daemon{State: StateBackup, MCastIfn: "brc", SyncID: 7, SyncMaxLen: 1000,
			MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2})
	}},
	{"new-daemon master ipv6 group", func(c *Client) error {
		return c.NewDaemon(Daemon{State: StateMaster, MCastIfn: "eth1", SyncID: 255, MCastGroup: netip.MustParseAddr("ff02::1:2")})
	}},
	{"del-daemon backup", func(c *Client) error { return c.DelDaemon(StateBackup) }},
}

// TestGoldenRequests checks the bytes of every request against testdata/requests.golden.
func TestGoldenRequests(t *testing.T) {
	c, r := recordingClient(t)
	var out strings.Builder
	out.WriteString("# Requests of the ipvsnl client: netlink flags, then the generic netlink header and\n" +
		"# attributes in hex (host byte order is little-endian here).\n" +
		"# Regenerate: go test ./internal/ipvsnl -run TestGoldenRequests -update\n")
	for _, tc := range requestCases {
		r.data = nil
		if err := tc.call(c); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		fmt.Fprintf(&out, "\n== %s\nflags %s\n%s", tc.name, flagNames(r.flags), hexDump(r.data))
	}
	compareGolden(t, "testdata/requests.golden", out.String())
}

// flagNames spells the netlink header flags a request carries.
func flagNames(f netlink.HeaderFlags) string {
	var names []string
	for _, n := range []struct {
		f    netlink.HeaderFlags
		name string
	}{{netlink.Request, "request"}, {netlink.Acknowledge, "ack"}, {netlink.Dump, "dump"}} {
		if f&n.f == n.f {
			names, f = append(names, n.name), f&^n.f
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", uint16(f)))
	}
	return strings.Join(names, "|")
}

func hexDump(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&s, "%04x ", i)
		for j := i; j < i+16 && j < len(b); j++ {
			fmt.Fprintf(&s, " %02x", b[j])
		}
		s.WriteByte('\n')
	}
	return s.String()
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got  %q\n want %q\n(run with -update after checking)", path, i+1, g, w)
			}
		}
	}
}
