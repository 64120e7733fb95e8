package ipvsnl_test

import (
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
)

func fakeClient(t *testing.T) (*ipvsnl.Client, *ipvsnltest.Kernel) {
	t.Helper()
	k := ipvsnltest.New()
	c, err := k.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

var (
	web  = ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}
	dns6 = ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoUDP, Addr: netip.MustParseAddr("fd00::53"), Port: 53}
	mark = ipvsnl.ServiceKey{AF: ipvsnl.AFInet, FWMark: 1}
	rs1  = netip.MustParseAddr("10.1.0.11")
	rs2  = netip.MustParseAddr("10.1.0.12")
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRoundTrip writes a table through the client and reads it back.
func TestRoundTrip(t *testing.T) {
	c, _ := fakeClient(t)
	svcs := []ipvsnl.Service{
		{ServiceKey: web, SchedName: "wrr", Netmask: 0xffffffff},
		{ServiceKey: dns6, SchedName: "sh", Flags: ipvsnl.FlagSched1 | ipvsnl.FlagSched2 | ipvsnl.FlagOnePacket, Netmask: 128},
		{ServiceKey: mark, SchedName: "wlc", Flags: ipvsnl.FlagPersistent, Timeout: 600, Netmask: 0xffffff00, PEName: "sip"},
	}
	for _, s := range svcs {
		must(t, c.NewService(s))
	}
	dests := []ipvsnl.Dest{
		{Addr: rs1, Port: 8080, FwdMethod: ipvsnl.FwdMasq, Weight: 1, UThreshold: 10, LThreshold: 5},
		{Addr: rs2, Port: 80, FwdMethod: ipvsnl.FwdTunnel, Weight: 2, TunType: ipvsnl.TunGUE, TunPort: 6080, TunFlags: ipvsnl.TunFlagCsum},
	}
	for _, d := range dests {
		must(t, c.NewDest(web, d))
	}
	must(t, c.NewDest(dns6, ipvsnl.Dest{Addr: rs1, Port: 53, FwdMethod: ipvsnl.FwdTunnel, Weight: 1}))

	got, err := c.Services()
	must(t, err)
	for i := range svcs {
		svcs[i].AF = svcs[i].Family()
		svcs[i].Flags |= ipvsnl.FlagHashed
	}
	svcs[2].Protocol = 0
	if !reflect.DeepEqual(got, svcs) {
		t.Errorf("Services:\n got  %+v\n want %+v", got, svcs)
	}
	one, err := c.Service(dns6)
	must(t, err)
	if !reflect.DeepEqual(one, svcs[1]) {
		t.Errorf("Service(%s) = %+v, want %+v", dns6, one, svcs[1])
	}
	gotDests, err := c.Dests(web)
	must(t, err)
	want := []ipvsnl.Dest{dests[1], dests[0]} // newest first
	for i := range want {
		want[i].AF = ipvsnl.AFInet
	}
	if !reflect.DeepEqual(gotDests, want) {
		t.Errorf("Dests:\n got  %+v\n want %+v", gotDests, want)
	}
	mixed, err := c.Dests(dns6)
	must(t, err)
	if len(mixed) != 1 || mixed[0].AF != ipvsnl.AFInet || mixed[0].Addr != rs1 {
		t.Errorf("mixed-family destination: %+v", mixed)
	}
	none, err := c.Dests(ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoTCP, Addr: rs1, Port: 1})
	if err != nil || len(none) != 0 {
		t.Errorf("Dests of a missing service = %v, %v; want none, no error (as the kernel)", none, err)
	}

	must(t, c.SetTimeouts(ipvsnl.Timeouts{TCP: 1000, UDP: 60}))
	to, err := c.Timeouts()
	must(t, err)
	if to != (ipvsnl.Timeouts{TCP: 1000, TCPFin: 120, UDP: 60}) {
		t.Errorf("Timeouts after SetTimeouts(1000 0 60) = %+v", to)
	}
	info, err := c.Info()
	must(t, err)
	if info.VersionString() != "1.2.1" || info.ConnTabSize != 4096 {
		t.Errorf("Info = %+v (%s)", info, info.VersionString())
	}
	must(t, c.Flush())
	if got, _ := c.Services(); len(got) != 0 {
		t.Errorf("after Flush: %+v", got)
	}
}

func TestDaemons(t *testing.T) {
	c, _ := fakeClient(t)
	must(t, c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateBackup, MCastIfn: "brc", SyncID: 7, MCastPort: 8849}))
	must(t, c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateMaster, MCastIfn: "eth0", SyncID: 5}))
	ds, err := c.Daemons()
	must(t, err)
	if len(ds) != 2 || ds[0].State != ipvsnl.StateMaster || ds[1].State != ipvsnl.StateBackup ||
		ds[0].MCastGroup != netip.MustParseAddr("224.0.0.81") || ds[1].MCastPort != 8849 {
		t.Errorf("Daemons = %+v", ds)
	}
	must(t, c.DelDaemon(ipvsnl.StateMaster))
	if ds, _ := c.Daemons(); len(ds) != 1 || ds[0].String() != "backup brc syncid 7" {
		t.Errorf("after stopping the master: %+v", ds)
	}
}

type errorCase struct {
	name  string
	call  func(c *ipvsnl.Client) error
	errno syscall.Errno
	text  string
}

// errorCases are kernel refusals with their errno and text, each run on the table
// setupErrorTable builds (by the fake kernel here, by the real one in kernel_linux_test.go).
var errorCases = []errorCase{
	{"service exists", func(c *ipvsnl.Client) error {
		return c.NewService(ipvsnl.Service{ServiceKey: web, SchedName: "rr"})
	}, unix.EEXIST, "ipvs: new service tcp 10.9.0.1:80: file exists"},
	{"unknown scheduler", func(c *ipvsnl.Client) error {
		return c.NewService(ipvsnl.Service{ServiceKey: dns6, SchedName: "twos", Netmask: 128})
	}, unix.ENOENT, "ipvs: new service udp [fd00::53]:53: no such file or directory"},
	{"unknown persistence engine", func(c *ipvsnl.Client) error {
		return c.NewService(ipvsnl.Service{ServiceKey: dns6, SchedName: "rr", Netmask: 128, PEName: "nope"})
	}, unix.ENOENT, "ipvs: new service udp [fd00::53]:53: no such file or directory"},
	{"ipv6 prefix length 0", func(c *ipvsnl.Client) error {
		return c.NewService(ipvsnl.Service{ServiceKey: dns6, SchedName: "rr"})
	}, unix.EINVAL, "ipvs: new service udp [fd00::53]:53: invalid argument"},
	{"edit missing service", func(c *ipvsnl.Client) error {
		return c.SetService(ipvsnl.Service{ServiceKey: mark, SchedName: "rr"})
	}, unix.ESRCH, "ipvs: set service fwmark 1: no such process"},
	{"delete missing service", func(c *ipvsnl.Client) error { return c.DelService(dns6) },
		unix.ESRCH, "ipvs: delete service udp [fd00::53]:53: no such process"},
	{"get missing service", func(c *ipvsnl.Client) error { _, err := c.Service(mark); return err },
		unix.ESRCH, "ipvs: get service fwmark 1: no such process"},
	{"dest to missing service", func(c *ipvsnl.Client) error {
		return c.NewDest(mark, ipvsnl.Dest{Addr: rs1, Weight: 1})
	}, unix.ESRCH, "ipvs: new dest 10.1.0.11:0 of fwmark 1: no such process"},
	{"dest exists", func(c *ipvsnl.Client) error {
		return c.NewDest(web, ipvsnl.Dest{Addr: rs1, Port: 80, Weight: 1})
	}, unix.EEXIST, "ipvs: new dest 10.1.0.11:80 of tcp 10.9.0.1:80: file exists"},
	{"edit missing dest", func(c *ipvsnl.Client) error {
		return c.SetDest(web, ipvsnl.Dest{Addr: rs2, Port: 80, Weight: 1})
	}, unix.ENOENT, "ipvs: set dest 10.1.0.12:80 of tcp 10.9.0.1:80: no such file or directory"},
	{"delete missing dest", func(c *ipvsnl.Client) error { return c.DelDest(web, ipvsnl.Dest{Addr: rs2, Port: 80}) },
		unix.ENOENT, "ipvs: delete dest 10.1.0.12:80 of tcp 10.9.0.1:80: no such file or directory"},
	{"negative weight", func(c *ipvsnl.Client) error {
		return c.NewDest(web, ipvsnl.Dest{Addr: rs2, Port: 80, Weight: -1})
	}, unix.ERANGE, "ipvs: new dest 10.1.0.12:80 of tcp 10.9.0.1:80: numerical result out of range"},
	{"lower threshold above upper", func(c *ipvsnl.Client) error {
		return c.SetDest(web, ipvsnl.Dest{Addr: rs1, Port: 80, Weight: 1, UThreshold: 10, LThreshold: 20})
	}, unix.ERANGE, "ipvs: set dest 10.1.0.11:80 of tcp 10.9.0.1:80: numerical result out of range"},
	{"gue without port", func(c *ipvsnl.Client) error {
		return c.NewDest(web, ipvsnl.Dest{Addr: rs2, Port: 80, FwdMethod: ipvsnl.FwdTunnel, TunType: ipvsnl.TunGUE})
	}, unix.EINVAL, "ipvs: new dest 10.1.0.12:80 of tcp 10.9.0.1:80: invalid argument"},
	{"mixed family masq", func(c *ipvsnl.Client) error {
		return c.NewDest(web, ipvsnl.Dest{Addr: netip.MustParseAddr("fd01::1"), Port: 80, Weight: 1})
	}, unix.EINVAL, "ipvs: new dest [fd01::1]:80 of tcp 10.9.0.1:80: invalid argument"},
	{"zero missing service", func(c *ipvsnl.Client) error { k := dns6; return c.Zero(&k) },
		unix.ESRCH, "ipvs: zero udp [fd00::53]:53: no such process"},
	{"daemon runs", func(c *ipvsnl.Client) error {
		return c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateMaster, MCastIfn: "lo", SyncID: 2})
	}, unix.EEXIST, "ipvs: new daemon master lo syncid 2: file exists"},
	{"no backup daemon", func(c *ipvsnl.Client) error { return c.DelDaemon(ipvsnl.StateBackup) },
		unix.ESRCH, "ipvs: delete daemon backup: no such process"},
}

// setupErrorTable builds the table the error cases run on: a service with one
// destination, and a master sync daemon.
func setupErrorTable(t *testing.T, c *ipvsnl.Client) {
	t.Helper()
	must(t, c.NewService(ipvsnl.Service{ServiceKey: web, SchedName: "rr", Netmask: 0xffffffff}))
	must(t, c.NewDest(web, ipvsnl.Dest{Addr: rs1, Port: 80, Weight: 1}))
	must(t, c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateMaster, MCastIfn: "lo", SyncID: 1}))
}

func checkError(t *testing.T, tc errorCase, err error) {
	t.Helper()
	if !errors.Is(err, tc.errno) {
		t.Errorf("error %v does not wrap %v", err, tc.errno)
	}
	if err == nil || err.Error() != tc.text {
		t.Errorf("error text %q, want %q", err, tc.text)
	}
}

// TestErrors checks the text of kernel refusals and that their errno stays visible.
func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeClient(t)
			setupErrorTable(t, c)
			checkError(t, tc, tc.call(c))
		})
	}
}

// TestNoIPVS: a kernel without the IPVS family gives ErrNoIPVS, telling what to do.
func TestNoIPVS(t *testing.T) {
	conn := genltest.Dial(func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if nreq.Header.Type == 0 {
			return nil, io.EOF
		}
		return nil, genltest.Error(int(unix.ENOENT)) // nlctrl: no such family
	})
	_, err := ipvsnl.FromConn(conn)
	if !errors.Is(err, ipvsnl.ErrNoIPVS) {
		t.Fatalf("FromConn without IPVS: %v, want ErrNoIPVS", err)
	}
	if !strings.Contains(err.Error(), "modprobe ip_vs") || !strings.Contains(err.Error(), "has no IPVS") {
		t.Errorf("error %q does not say what to do", err)
	}
}

// TestZeroAndCounters: counters the kernel reports reach the caller; Zero clears them.
func TestZeroAndCounters(t *testing.T) {
	c, k := fakeClient(t)
	must(t, c.NewService(ipvsnl.Service{ServiceKey: web, SchedName: "rr", Netmask: 0xffffffff}))
	must(t, c.NewDest(web, ipvsnl.Dest{Addr: rs1, Port: 80, Weight: 1}))
	st := ipvsnl.Stats{Conns: 1 << 33, InPkts: 5, OutBytes: 1 << 40, CPS: 3}
	if !k.SetCounters(web, netip.AddrPortFrom(rs1, 80), st, 1, 2, 3) || !k.SetCounters(web, netip.AddrPort{}, st, 0, 0, 0) {
		t.Fatal("SetCounters")
	}
	ds, err := c.Dests(web)
	must(t, err)
	if ds[0].Stats != st || ds[0].ActiveConns != 1 || ds[0].InactConns != 2 || ds[0].PersistConns != 3 {
		t.Errorf("dest counters %+v", ds[0])
	}
	must(t, c.Zero(nil))
	s, err := c.Service(web)
	must(t, err)
	ds, _ = c.Dests(web)
	if s.Stats != (ipvsnl.Stats{}) || ds[0].Stats != (ipvsnl.Stats{}) || ds[0].ActiveConns != 1 {
		t.Errorf("after Zero: service %+v dest %+v (connection counts are not counters)", s.Stats, ds[0])
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		c    ipvsnl.Command
		want string
	}{
		{ipvsnl.Command{Cmd: ipvsnl.CmdNewService, Service: &ipvsnl.Service{ServiceKey: web, SchedName: "rr", Netmask: 0xffffffff}},
			"new-service tcp 10.9.0.1:80 sched rr netmask 0xffffffff"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdSetService, Service: &ipvsnl.Service{ServiceKey: dns6, SchedName: "sh", Flags: 0x19, Timeout: 60, Netmask: 64, PEName: "sip"}},
			"set-service udp [fd00::53]:53 sched sh flags 0x19 timeout 60 netmask 64 pe sip"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdDelService, Service: &ipvsnl.Service{ServiceKey: mark, SchedName: "x"}}, "del-service fwmark 1"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdNewDest, Service: &ipvsnl.Service{ServiceKey: web},
			Dest: &ipvsnl.Dest{Addr: rs1, Port: 80, FwdMethod: ipvsnl.FwdTunnel, Weight: 2, TunType: 1, TunPort: 6080, TunFlags: 1}},
			"new-dest tcp 10.9.0.1:80 dest 10.1.0.11:80 tunnel weight 2 tun 1 port 6080 flags 0x1"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdSetDest, Service: &ipvsnl.Service{ServiceKey: web},
			Dest: &ipvsnl.Dest{Addr: rs1, Port: 80, FwdMethod: ipvsnl.FwdRoute, UThreshold: 9, LThreshold: 3}},
			"set-dest tcp 10.9.0.1:80 dest 10.1.0.11:80 route weight 0 thresholds 9/3"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdDelDest, Service: &ipvsnl.Service{ServiceKey: web}, Dest: &ipvsnl.Dest{Addr: rs1, Port: 80, Weight: 4}},
			"del-dest tcp 10.9.0.1:80 dest 10.1.0.11:80"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdSetConfig, Timeouts: &ipvsnl.Timeouts{900, 120, 300}}, "set-config timeouts 900 120 300"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdNewDaemon, Daemon: &ipvsnl.Daemon{State: 1, MCastIfn: "eth0", SyncID: 5}}, "new-daemon master eth0 syncid 5"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdDelDaemon, Daemon: &ipvsnl.Daemon{State: 2}}, "del-daemon backup"},
		{ipvsnl.Command{Cmd: ipvsnl.CmdZero}, "zero"},
		{ipvsnl.Command{Cmd: 99}, "cmd(99)"},
	}
	for _, tc := range tests {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
