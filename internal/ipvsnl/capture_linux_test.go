package ipvsnl

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
)

// TestCaptureKernelReplies records the real kernel's replies for the decoding tests
// (testdata/kernel/*.hex, checked by TestDecodeCaptured). It runs only when
// IPVSNL_CAPTURE names an output folder and IPVSNL_CAPTURE_NETNS a network namespace
// (/run/netns/NAME) to build the table in; the table is left there so that the caller can
// list it with ipvsadm. testdata/kernel/capture.sh runs it in the ipvs-vm.
func TestCaptureKernelReplies(t *testing.T) {
	dir, nsPath := os.Getenv("IPVSNL_CAPTURE"), os.Getenv("IPVSNL_CAPTURE_NETNS")
	if dir == "" || nsPath == "" {
		t.Skip("IPVSNL_CAPTURE and IPVSNL_CAPTURE_NETNS not set")
	}
	c, err := Open(Options{NetNS: nsPath})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range captureTable {
		if err := c.NewService(s.svc); err != nil {
			t.Fatal(err)
		}
		for _, d := range s.dests {
			if err := c.NewDest(s.svc.ServiceKey, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.NewDaemon(Daemon{State: StateMaster, MCastIfn: "lo", SyncID: 5}); err != nil {
		t.Fatal(err)
	}
	if err := c.NewDaemon(Daemon{State: StateBackup, MCastIfn: "lo", SyncID: 7, SyncMaxLen: 1000,
		MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTimeouts(Timeouts{TCP: 1000, TCPFin: 100, UDP: 200}); err != nil {
		t.Fatal(err)
	}
	raw := func(name string, req Command, flags netlink.HeaderFlags) {
		m, err := req.Encode()
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := c.conn.Execute(m, c.family, flags)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b strings.Builder
		for _, m := range msgs {
			fmt.Fprintf(&b, "%d:%s\n", m.Header.Command, hex.EncodeToString(m.Data))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".hex"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw("info", Command{Cmd: CmdGetInfo}, flagsGet)
	raw("config", Command{Cmd: CmdGetConfig}, flagsGet)
	raw("services", Command{Cmd: CmdGetService}, flagsDump)
	raw("daemons", Command{Cmd: CmdGetDaemon}, flagsDump)
	for i, s := range captureTable {
		raw(fmt.Sprintf("dests-%d", i), Command{Cmd: CmdGetDest, Service: &s.svc}, flagsDump)
	}
}

// captureTable is the table TestCaptureKernelReplies builds: every kind of service and
// destination.
var captureTable = []struct {
	svc   Service
	dests []Dest
}{
	{Service{ServiceKey: ServiceKey{Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}, SchedName: "wlc", Netmask: 0xffffffff},
		[]Dest{
			{Addr: netip.MustParseAddr("10.1.0.11"), Port: 80, FwdMethod: FwdMasq, Weight: 1},
			{Addr: netip.MustParseAddr("10.1.0.13"), Port: 80, FwdMethod: FwdMasq, Weight: 3, UThreshold: 100, LThreshold: 50},
		}},
	{Service{ServiceKey: ServiceKey{Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.9.0.3"), Port: 80}, SchedName: "sh",
		Flags: FlagSched1 | FlagSched2, Netmask: 0xffffffff},
		[]Dest{
			{Addr: netip.MustParseAddr("10.1.0.11"), Port: 80, FwdMethod: FwdTunnel, Weight: 1},
			{Addr: netip.MustParseAddr("10.1.0.12"), Port: 80, FwdMethod: FwdTunnel, Weight: 1, TunType: TunGUE, TunPort: 6080},
			{Addr: netip.MustParseAddr("10.1.0.13"), Port: 80, FwdMethod: FwdTunnel, Weight: 1, TunType: TunGRE, TunFlags: TunFlagCsum},
		}},
	{Service{ServiceKey: ServiceKey{Protocol: ProtoUDP, Addr: netip.MustParseAddr("10.9.0.10"), Port: 5060}, SchedName: "rr",
		Flags: FlagPersistent, Timeout: 60, Netmask: 0xffffffff, PEName: "sip"},
		[]Dest{{Addr: netip.MustParseAddr("10.1.0.11"), Port: 5060, FwdMethod: FwdRoute, Weight: 0}}},
	{Service{ServiceKey: ServiceKey{AF: AFInet, FWMark: 1}, SchedName: "wlc", Flags: FlagPersistent, Timeout: 600, Netmask: 0xffffff00},
		[]Dest{{Addr: netip.MustParseAddr("10.1.0.12"), FwdMethod: FwdRoute, Weight: 2}}},
	{Service{ServiceKey: ServiceKey{Protocol: ProtoTCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}, SchedName: "dh",
		Flags: FlagOnePacket, Netmask: 64},
		[]Dest{{Addr: netip.MustParseAddr("fd01::11"), Port: 8080, FwdMethod: FwdMasq, Weight: 2}}},
	{Service{ServiceKey: ServiceKey{Protocol: ProtoSCTP, Addr: netip.MustParseAddr("10.9.0.8"), Port: 3868}, SchedName: "nq", Netmask: 0xffffffff}, nil},
}
