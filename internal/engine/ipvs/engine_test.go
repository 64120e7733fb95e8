package ipvs

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/enginetest"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// TestConformance runs the engine conformance suite on the fake kernel.
func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New:      func(t *testing.T) engine.Engine { e, _ := newFakeEngine(t, Options{}); return e },
		Forwards: []lb.Forward{lb.Masq, lb.Route, lb.Tunnel},
		FWMark:   true,
		VIP:      func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 9, 0, byte(1 + i)}) },
		Real:     func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, 0, byte(11 + i)}) },
	})
}

// TestNewWithoutIPVS: on a kernel without IPVS (this project's build host) New fails at
// once, saying what to do.
func TestNewWithoutIPVS(t *testing.T) {
	e, err := New(Options{})
	if err == nil {
		e.Close()
		t.Skip("this kernel has IPVS")
	}
	if !errors.Is(err, ipvsnl.ErrNoIPVS) {
		t.Skipf("New: %v (not the missing-IPVS case)", err)
	}
	if !strings.Contains(err.Error(), "modprobe ip_vs") || !strings.HasPrefix(err.Error(), "ipvs engine: ") {
		t.Errorf("New = %q", err)
	}
}

func TestCounters(t *testing.T) {
	e, k := newFakeEngine(t, Options{})
	st := rules(t, `
-A -t 10.9.0.1:80 -s rr
-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -m -w 1
-A -f 3 -s rr`)
	if err := e.Apply(st); err != nil {
		t.Fatal(err)
	}
	key := KernelKey(st.Services[0].ServiceKey)
	big := ipvsnl.Stats{Conns: 1 << 33, InPkts: 10, OutPkts: 20, InBytes: 1 << 41, OutBytes: 40, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5}
	k.SetCounters(key, netip.AddrPort{}, big, 0, 0, 0)
	k.SetCounters(key, netip.MustParseAddrPort("10.1.0.11:80"), big, 3, 4, 1<<31)
	cs, err := e.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Key != st.Services[0].ServiceKey || cs[1].Key != lb.FWMarkKey(3, false) {
		t.Fatalf("Counters services: %+v", cs)
	}
	wantStats := lb.Stats{Conns: 1 << 33, InPkts: 10, OutPkts: 20, InBytes: 1 << 41, OutBytes: 40}
	wantRates := lb.Rates{CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5}
	if cs[0].Stats != wantStats || cs[0].Rates != wantRates {
		t.Errorf("service counters %+v %+v", cs[0].Stats, cs[0].Rates)
	}
	r := cs[0].Reals
	if len(r) != 2 || r[0].Addr != netip.MustParseAddr("10.1.0.12") || r[1].Active != 3 || r[1].Inactive != 4 ||
		r[1].Persist != 1<<31-1 || r[1].Stats != wantStats || r[1].Rates != wantRates {
		t.Errorf("real counters (newest first): %+v", r)
	}
	k.ResetLog()
	k0 := st.Services[0].ServiceKey
	if err := e.Zero(&k0); err != nil {
		t.Fatal(err)
	}
	if err := e.Zero(nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"zero tcp 10.9.0.1:80", "zero tcp 10.9.0.1:80", "zero fwmark 3"}
	if got := k.Writes(); !slices.Equal(got, want) {
		t.Errorf("Zero sent %v, want %v", got, want)
	}
	missing := lb.ServiceKey{Protocol: lb.UDP, Addr: netip.MustParseAddr("10.9.0.9"), Port: 53}
	if err := e.Zero(&missing); !errors.Is(err, lb.ErrNoService) {
		t.Errorf("Zero of a service the engine does not have: %v", err)
	}
}

func TestZeroOwnTable(t *testing.T) {
	e, k := newFakeEngine(t, Options{OwnTable: true})
	if err := e.Apply(rules(t, "-A -t 10.9.0.1:80 -s rr")); err != nil {
		t.Fatal(err)
	}
	k.ResetLog()
	if err := e.Zero(nil); err != nil || !slices.Equal(k.Writes(), []string{"zero"}) {
		t.Errorf("Zero(nil) with OwnTable: %v, sent %v", err, k.Writes())
	}
}

func TestSyncer(t *testing.T) {
	e, k := newFakeEngine(t, Options{})
	d := engine.SyncDaemon{MCastIfn: "eth0", SyncID: 5}
	if err := e.StartDaemon(d); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(engine.SyncDaemon{Backup: true, MCastIfn: "eth1", SyncID: 7, SyncMaxLen: 1000,
		MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2}); err != nil {
		t.Fatal(err)
	}
	err := e.StartDaemon(d)
	if !errors.Is(err, lb.ErrServiceExists) || err.Error() != "ipvs engine: ipvs: new daemon master eth0 syncid 5: file exists (Service already exists)" {
		t.Errorf("second master: %v", err)
	}
	ds, err := e.Daemons()
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.SyncDaemon{
		{MCastIfn: "eth0", SyncID: 5, SyncMaxLen: 1472, MCastGroup: netip.MustParseAddr("224.0.0.81"), MCastPort: 8848, MCastTTL: 1},
		{Backup: true, MCastIfn: "eth1", SyncID: 7, SyncMaxLen: 1000, MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2},
	}
	if !slices.Equal(ds, want) {
		t.Errorf("Daemons = %+v\nwant %+v", ds, want)
	}
	if err := e.StopDaemon(true); err != nil {
		t.Fatal(err)
	}
	if err := e.StopDaemon(true); !errors.Is(err, lb.ErrNoService) {
		t.Errorf("stopping a stopped daemon: %v", err)
	}
	k.ResetLog()
	e.Close()
	if got := k.Writes(); !slices.Equal(got, []string{"del-daemon master"}) {
		t.Errorf("Close sent %v, want the master it started stopped", got)
	}
}

func TestCloseKeepsOrRemoves(t *testing.T) {
	for _, keep := range []bool{false, true} {
		e, k := newFakeEngine(t, Options{KeepOnClose: keep})
		if err := e.Apply(rules(t, "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -s rr")); err != nil {
			t.Fatal(err)
		}
		k.ResetLog()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		var want []string
		if !keep {
			want = []string{"del-service tcp 10.9.0.1:80", "del-service tcp 10.9.0.2:80"}
		}
		if got := k.Writes(); !slices.Equal(got, want) {
			t.Errorf("KeepOnClose %v: Close sent %v, want %v", keep, got, want)
		}
		if err := e.Apply(&lb.State{}); err == nil {
			t.Error("Apply after Close succeeded")
		}
	}
}

func TestConns(t *testing.T) {
	e, _ := newFakeEngine(t, Options{ConnFile: "testdata/ip_vs_conn-6.txt"})
	cs, err := e.Conns()
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	want := []engine.Conn{
		{Protocol: lb.TCP, Client: ap("[fd00::2]:35388"), Virtual: ap("[fd00::9]:80"), Real: ap("[fd01::11]:8080"), State: "ESTABLISHED", Expires: 899 * time.Second},
		{Protocol: lb.TCP, Client: ap("[fd00::2]:35390"), Virtual: ap("[fd00::9]:80"), Real: ap("10.1.0.11:80"), State: "SYN_RECV", Expires: 59 * time.Second},
		{Protocol: lb.UDP, Client: ap("10.0.0.2:5060"), Virtual: ap("10.9.0.10:5060"), Real: ap("10.1.0.11:5060"), State: "UDP", Expires: 179 * time.Second, PE: "sip", PEData: "1-2@10.0.0.2"},
		{Protocol: lb.UDP, Client: ap("10.0.0.2:0"), Virtual: ap("10.9.0.10:5060"), Real: ap("10.1.0.11:5060"), State: "NONE", Expires: 59 * time.Second, Template: true, PE: "sip", PEData: "1-2@10.0.0.2"},
		{Protocol: 0, Client: ap("[fd00::]:0"), Virtual: ap("[::2]:0"), Real: ap("[fd01::11]:0"), State: "ASSURED", Expires: 593 * time.Second, Template: true},
	}
	if !slices.Equal(cs, want) {
		t.Errorf("Conns =\n%+v\nwant\n%+v", cs, want)
	}
}

// TestParseRecordedConns parses the file the real kernel wrote in the ipvs-vm
// (testdata/kernel/ipvsadm/proc-ip_vs_conn.out, copied here).
func TestParseRecordedConns(t *testing.T) {
	b, err := os.ReadFile("testdata/ip_vs_conn-4.txt")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseConns(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 25 {
		t.Fatalf("%d entries, want 25", len(cs))
	}
	var templates []string
	for _, c := range cs {
		if c.Template {
			templates = append(templates, c.Protocol.String()+" "+c.Client.String()+" "+c.Virtual.String()+" "+c.Real.String()+" "+c.State)
		}
	}
	want := []string{
		"TCP 10.0.0.2:0 10.9.0.6:0 10.1.0.13:0 ASSURED",
		"TCP 10.0.0.2:0 10.9.0.5:443 10.1.0.12:80 ASSURED",
		"FWM 10.0.0.0:0 0.0.0.1:0 10.1.0.12:0 ASSURED",
	}
	if !slices.Equal(templates, want) {
		t.Errorf("templates %q, want %q", templates, want)
	}
	if c := cs[1]; c.State != "ESTABLISHED" || c.Client != netip.MustParseAddrPort("10.0.0.2:60634") || c.Expires != 893*time.Second {
		t.Errorf("second entry %+v", c)
	}
}

func TestParseConnErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"XYZ 0A000002 0000 0A090006 0000 0A01000D 0000 NONE 1", `protocol "XYZ"`},
		{"TCP 0A0002 0000 0A090006 0000 0A01000D 0000 NONE 1", `address "0A0002"`},
		{"TCP 0A000002 1FFFF 0A090006 0000 0A01000D 0000 NONE 1", `port "1FFFF"`},
		{"TCP 0A000002 0000 0A090006 0000 0A01000D 0000 NONE", "8 fields"},
		{"TCP 0A000002 0000 0A090006 0000 0A01000D 0000 NONE -1", `expires "-1"`},
	} {
		if _, err := ParseConns([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestModuleSet(t *testing.T) {
	has := moduleSet([]string{
		"kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\nkernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz\n",
		"kernel/net/netfilter/ipvs/ip_vs_wlc.ko\nkernel/net/netfilter/ipvs/ip_vs_pe_sip.ko.zst\n",
	}, func(m string) bool { return m == "ip_vs_mh" })
	for m, want := range map[string]bool{"ip_vs_rr": true, "ip_vs": true, "ip_vs_wlc": true, "ip_vs_pe_sip": true,
		"ip_vs_mh": true, "ip_vs_twos": false, "nf_conntrack": false} {
		if has(m) != want {
			t.Errorf("has(%q) = %v, want %v", m, !want, want)
		}
	}
}

// TestRecordingCopy: testdata/save-n.out is a copy of the project's recording of ipvsadm
// -S -n (the privileged test applies it); it must not drift from the original.
func TestRecordingCopy(t *testing.T) {
	orig, err := os.ReadFile("../../../testdata/kernel/ipvsadm/save-n.out")
	if err != nil {
		t.Skipf("original recording not here: %v", err)
	}
	cp, err := os.ReadFile("testdata/save-n.out")
	if err != nil || !bytes.Equal(orig, cp) {
		t.Errorf("testdata/save-n.out differs from testdata/kernel/ipvsadm/save-n.out (%v)", err)
	}
}
