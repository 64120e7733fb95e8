package ipvsnl_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
)

// kernelClient returns a client of the real kernel's IPVS in a new network namespace, or
// skips the test when the kernel has no IPVS or the test may not create namespaces.
func kernelClient(t *testing.T) *ipvsnl.Client {
	t.Helper()
	ns, err := ipvsnltest.NewNetNS()
	if err != nil {
		t.Skipf("no network namespace for the test (needs root): %v", err)
	}
	defer ns.Close() // the client keeps its own handle
	c, err := ipvsnl.Open(ipvsnl.Options{NetNSFD: int(ns.Fd())})
	if errors.Is(err, ipvsnl.ErrNoIPVS) {
		t.Skipf("kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestKernelNoIPVSOrInfo(t *testing.T) {
	c, err := ipvsnl.Open(ipvsnl.Options{})
	if errors.Is(err, ipvsnl.ErrNoIPVS) {
		if !strings.Contains(err.Error(), "modprobe ip_vs") {
			t.Errorf("error without advice: %v", err)
		}
		t.Skipf("kernel without IPVS (as expected on such a host): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info()
	if errors.Is(err, unix.EPERM) {
		t.Skipf("not allowed: %v", err)
	}
	if err != nil || info.Version == 0 || info.ConnTabSize == 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	t.Logf("IPVS %s (size=%d)", info.VersionString(), info.ConnTabSize)
}

// TestKernelRoundTrip writes a table of every kind of service and destination into the
// real kernel and reads it back.
func TestKernelRoundTrip(t *testing.T) {
	c := kernelClient(t)
	svcs := []ipvsnl.Service{
		{ServiceKey: web, SchedName: "wrr", Netmask: 0xffffffff},
		{ServiceKey: dns6, SchedName: "sh", Flags: ipvsnl.FlagSched1 | ipvsnl.FlagSched2 | ipvsnl.FlagOnePacket, Netmask: 128},
		{ServiceKey: mark, SchedName: "wlc", Flags: ipvsnl.FlagPersistent, Timeout: 600, Netmask: 0xffffff00},
		{ServiceKey: ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoSCTP, Addr: netip.MustParseAddr("10.9.0.8"), Port: 3868}, SchedName: "nq", Netmask: 0xffffffff},
		{ServiceKey: ipvsnl.ServiceKey{AF: ipvsnl.AFInet6, FWMark: 9}, SchedName: "mh", Flags: ipvsnl.FlagPersistent | ipvsnl.FlagSched1, Timeout: 60, Netmask: 48},
		{ServiceKey: ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoUDP, Addr: netip.MustParseAddr("10.9.0.10"), Port: 5060}, SchedName: "rr",
			Flags: ipvsnl.FlagPersistent, Timeout: 60, Netmask: 0xffffffff, PEName: "sip"},
	}
	for _, s := range svcs {
		must(t, c.NewService(s))
	}
	dests := []ipvsnl.Dest{
		{Addr: rs1, Port: 8080, FwdMethod: ipvsnl.FwdMasq, Weight: 1, UThreshold: 10, LThreshold: 5},
		{Addr: rs2, Port: 80, FwdMethod: ipvsnl.FwdTunnel, Weight: 2, TunType: ipvsnl.TunGUE, TunPort: 6080, TunFlags: ipvsnl.TunFlagCsum},
		{Addr: netip.MustParseAddr("10.1.0.13"), Port: 80, FwdMethod: ipvsnl.FwdTunnel, Weight: 3, TunType: ipvsnl.TunGRE, TunFlags: ipvsnl.TunFlagRemCsum},
		{Addr: netip.MustParseAddr("10.1.0.14"), Port: 80, FwdMethod: ipvsnl.FwdRoute, Weight: 0},
		{Addr: netip.MustParseAddr("10.1.0.15"), Port: 80, FwdMethod: ipvsnl.FwdLocal, Weight: 1},
	}
	for _, d := range dests {
		must(t, c.NewDest(web, d))
	}
	must(t, c.NewDest(dns6, ipvsnl.Dest{Addr: rs1, Port: 53, FwdMethod: ipvsnl.FwdTunnel, Weight: 1}))
	must(t, c.NewDest(dns6, ipvsnl.Dest{Addr: netip.MustParseAddr("fd01::11"), Port: 53, FwdMethod: ipvsnl.FwdMasq, Weight: 1}))

	got, err := c.Services()
	must(t, err)
	for i := range svcs {
		svcs[i].AF = svcs[i].Family()
		svcs[i].Flags |= ipvsnl.FlagHashed
	}
	byKey := func(a, b ipvsnl.Service) int { return strings.Compare(a.ServiceKey.String(), b.ServiceKey.String()) }
	slices.SortFunc(got, byKey)
	slices.SortFunc(svcs, byKey)
	if len(got) != len(svcs) {
		t.Fatalf("Services: %d, want %d: %+v", len(got), len(svcs), got)
	}
	for i := range got {
		got[i].Stats = ipvsnl.Stats{}
		if got[i] != svcs[i] {
			t.Errorf("service %d:\n got  %+v\n want %+v", i, got[i], svcs[i])
		}
	}
	gotDests, err := c.Dests(web)
	must(t, err)
	if len(gotDests) != len(dests) {
		t.Fatalf("Dests: %+v", gotDests)
	}
	for i, d := range dests {
		g := gotDests[len(dests)-1-i] // the kernel keeps them newest first
		g.Stats = ipvsnl.Stats{}
		d.AF = ipvsnl.AFInet
		if g != d {
			t.Errorf("dest %d:\n got  %+v\n want %+v", i, g, d)
		}
	}
	mixed, err := c.Dests(dns6)
	must(t, err)
	if len(mixed) != 2 || mixed[1].AF != ipvsnl.AFInet || mixed[1].Addr != rs1 || mixed[0].AF != ipvsnl.AFInet6 {
		t.Errorf("destinations of an IPv6 service, one IPv4 tunnel: %+v", mixed)
	}

	// Edits: flags under a mask, PE removed, destination changed in place.
	sip := ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoUDP, Addr: netip.MustParseAddr("10.9.0.10"), Port: 5060}
	must(t, c.SetService(ipvsnl.Service{ServiceKey: sip, SchedName: "wrr", Flags: ipvsnl.FlagOnePacket,
		FlagsMask: ipvsnl.FlagOnePacket, Timeout: 30, Netmask: 0xffff0000}))
	s, err := c.Service(sip)
	must(t, err)
	if want := ipvsnl.FlagPersistent | ipvsnl.FlagHashed | ipvsnl.FlagOnePacket; s.SchedName != "wrr" || s.Flags != want ||
		s.Timeout != 30 || s.Netmask != 0xffff0000 || s.PEName != "" {
		t.Errorf("after SetService with mask: %+v", s)
	}
	must(t, c.SetDest(web, ipvsnl.Dest{Addr: rs1, Port: 8080, FwdMethod: ipvsnl.FwdRoute, Weight: 7}))
	must(t, c.DelDest(web, ipvsnl.Dest{Addr: rs2, Port: 80}))
	gotDests, _ = c.Dests(web)
	if len(gotDests) != 4 || gotDests[3].FwdMethod != ipvsnl.FwdRoute || gotDests[3].Weight != 7 {
		t.Errorf("after SetDest/DelDest: %+v", gotDests)
	}
	must(t, c.DelService(mark))
	must(t, c.Zero(nil))
	k := web
	must(t, c.Zero(&k))

	must(t, c.SetTimeouts(ipvsnl.Timeouts{TCP: 1000, UDP: 60}))
	to, err := c.Timeouts()
	must(t, err)
	if to != (ipvsnl.Timeouts{TCP: 1000, TCPFin: 120, UDP: 60}) {
		t.Errorf("Timeouts after SetTimeouts(1000 0 60) = %+v", to)
	}
	must(t, c.Flush())
	if got, _ := c.Services(); len(got) != 0 {
		t.Errorf("after Flush: %+v", got)
	}
}

// TestKernelErrors runs the error table against the real kernel: same errnos, same text.
func TestKernelErrors(t *testing.T) {
	kernelClient(t) // skips here without IPVS
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			c := kernelClient(t)
			setupErrorTable(t, c)
			checkError(t, tc, tc.call(c))
		})
	}
}

func TestKernelDaemons(t *testing.T) {
	c := kernelClient(t)
	must(t, c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateBackup, MCastIfn: "lo", SyncID: 7, MCastPort: 8849}))
	must(t, c.NewDaemon(ipvsnl.Daemon{State: ipvsnl.StateMaster, MCastIfn: "lo", SyncID: 5}))
	ds, err := c.Daemons()
	must(t, err)
	if len(ds) != 2 || ds[0].State != ipvsnl.StateMaster || ds[1].State != ipvsnl.StateBackup || ds[1].MCastPort != 8849 {
		t.Errorf("Daemons = %+v", ds)
	}
	t.Logf("kernel daemons: %+v", ds)
	must(t, c.DelDaemon(ipvsnl.StateMaster))
	must(t, c.DelDaemon(ipvsnl.StateBackup))
	if err := c.DelDaemon(ipvsnl.StateBackup); !errors.Is(err, unix.ESRCH) {
		t.Errorf("stopping a stopped daemon: %v, want ESRCH", err)
	}
}
