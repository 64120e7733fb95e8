package ipvsadm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

func TestLargeNums(t *testing.T) {
	for _, tt := range []struct {
		v            uint64
		scaled, full string
	}{
		{0, "        0", "        0"},
		{99999999, " 99999999", " 99999999"},
		{100000000, "  100000K", " 100000000"},
		{999999999, "  999999K", " 999999999"},
		{1000000000, "    1000M", " 1000000000"},
		{99999999999, "   99999M", " 99999999999"},
		{100000000000, "     100G", " 100000000000"},
		{100000000000000, "     100T", " 100000000000000"},
	} {
		for _, exact := range []bool{false, true} {
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			largeNums(w, exact, tt.v)
			w.Flush()
			want := map[bool]string{false: tt.scaled, true: tt.full}[exact]
			if b.String() != want {
				t.Errorf("largeNums(%d, exact=%v) = %q, want %q", tt.v, exact, b.String(), want)
			}
		}
	}
}

func TestInetNtop(t *testing.T) {
	for _, s := range []string{"fd00::9", "::", "::1", "1::", "fe80::1:0:0:1", "1:0:0:2::3", "::ffff:10.9.0.55", "1:2:3:4:5:6:7:8", "10.9.0.1"} {
		if got := inetNtop(netip.MustParseAddr(s)); got != s {
			t.Errorf("inetNtop(%s) = %s", s, got)
		}
	}
	// glibc prints IPv4-compatible addresses with a dotted quad; netip does not.
	if got := inetNtop(netip.MustParseAddr("::a09:1")); got != "::10.9.0.1" {
		t.Errorf("inetNtop(::a09:1) = %s", got)
	}
}

// TestSortWraps: libipvs subtracts addresses as 32-bit ints, so 10.0.0.1 sorts after
// 200.0.0.1 (10-200 wraps to a positive int), and fwmark 0xffffffff before mark 1.
func TestSortWraps(t *testing.T) {
	tab := &Table{}
	for _, a := range []string{"10.0.0.1", "200.0.0.1", "100.0.0.1"} {
		tab.Services = append(tab.Services, ServiceView{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr(a), Port: 80}, Scheduler: "rr", Netmask: defaultNetmask})
	}
	for _, m := range []uint32{1, 0xffffffff} {
		tab.Services = append(tab.Services, ServiceView{ServiceKey: lb.FWMarkKey(m, false), Scheduler: "rr", Netmask: defaultNetmask})
	}
	var b bytes.Buffer
	if err := (Printer{}).Print(&b, &Command{Kind: Save, List: ListOptions{Numeric: true}}, tab); err != nil {
		t.Fatal(err)
	}
	want := "-A -f -1 -s rr\n-A -t 100.0.0.1:80 -s rr\n-A -t 200.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-A -f 1 -s rr\n"
	if b.String() != want {
		t.Errorf("save:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestListDetails covers what the recordings lack: IPv6 fwmark, scheduler flags of other
// schedulers, v6 masks, Local reals, truncated names, PE columns of -c, daemons without
// optional fields.
func TestListDetails(t *testing.T) {
	long := "a-very-long-host-name-for-the-vip.example"
	res := StaticResolver{
		Hosts:    []HostEntry{{long, netip.MustParseAddr("10.9.0.1")}, {"a-very-long-real-server-name.example", netip.MustParseAddr("10.1.0.11")}},
		Services: []ServiceEntry{{"http", 80, "tcp"}, {"sip", 5060, "udp"}},
	}
	tab := &Table{Services: []ServiceView{
		{ServiceKey: lb.FWMarkKey(3, true), Scheduler: "wrr", Flags: lb.Persistent | lb.Sched3, Timeout: 60, Netmask: 64,
			Reals: []RealView{{Real: lb.Real{Addr: netip.MustParseAddr("fd01::1"), Forward: lb.Local, Weight: 1}}}},
		{ServiceKey: vip1(), Scheduler: "rr", Flags: lb.Sched1, Netmask: defaultNetmask,
			Reals: []RealView{{Real: lb.Real{Addr: rs11(), Port: 80, Forward: lb.Masq, Weight: 1}, ActiveConn: 123456}}},
	}}
	var b bytes.Buffer
	p := Printer{Resolver: res}
	if err := p.Print(&b, &Command{Kind: List}, tab); err != nil {
		t.Fatal(err)
	}
	want := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  a-very-long-host-name-for-th rr (flag-1)
  -> a-very-long-real-server-name Masq    1      123456     0         
FWM  3 IPv6 wrr (flag-3) persistent 60 mask 64
  -> [fd01::1]:0                  Local   1      0          0         
`
	if b.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := p.Print(&b, &Command{Kind: Save}, tab); err != nil {
		t.Fatal(err)
	}
	want = "-A -t " + long + ":http -s rr -b flag-1\n-a -t " + long + ":http -r a-very-long-real-server-name.example:http -m -w 1\n" +
		"-A -f 3 -6 -s wrr -p 60 -M 64 -b flag-3\n-a -f 3 -6 -r [fd01::1]:0 -g -w 1\n"
	if b.String() != want {
		t.Errorf("save:\n%s\nwant:\n%s", b.String(), want)
	}

	tab = &Table{
		Conns: []ConnView{{Protocol: lb.UDP, Client: netip.MustParseAddrPort("10.0.0.2:5060"), Virtual: netip.MustParseAddrPort("10.9.0.10:5060"),
			Dest: netip.MustParseAddrPort("10.1.0.11:5060"), State: "UDP", Expires: 6005, PEName: "sip", PEData: "abc@x"}},
		Daemons: []DaemonView{{State: DaemonBackup, MCastIfn: "eth0", SyncID: 0}},
	}
	b.Reset()
	p = Printer{Resolver: StaticResolver{Services: res.Services}}
	if err := p.Print(&b, &Command{Kind: List, List: ListOptions{Connections: true, PersistentConn: true}}, tab); err != nil {
		t.Fatal(err)
	}
	want = "IPVS connection entries\npro expire state       source             virtual            destination        pe name          pe_data\n" +
		"UDP 100:05 UDP         10.0.0.2:sip       10.9.0.10:sip      10.1.0.11:sip    sip                abc@x\n"
	if b.String() != want {
		t.Errorf("conns:\n%q\nwant:\n%q", b.String(), want)
	}
	b.Reset()
	if err := p.Print(&b, &Command{Kind: List, List: ListOptions{Daemon: true}}, tab); err != nil {
		t.Fatal(err)
	}
	if want := "backup sync daemon (mcast=eth0, syncid=0)\n"; b.String() != want {
		t.Errorf("daemons: %q, want %q", b.String(), want)
	}
}

func TestPrintErrors(t *testing.T) {
	var b bytes.Buffer
	err := (Printer{}).Print(&b, &Command{Kind: List, HasService: true, Service: lb.Service{ServiceKey: vip1()}}, &Table{})
	var e *Error
	if !errors.As(err, &e) || e.Msg != "No such service" || e.Status != 1 {
		t.Errorf("missing service: %v", err)
	}
	if err := (Printer{}).Print(&b, &Command{Kind: Flush}, &Table{}); err == nil {
		t.Error("Print of -C: no error")
	}
	b.Reset()
	(Printer{Prog: "lvsadm"}).Print(&b, &Command{Kind: Help}, nil)
	if !strings.Contains(b.String(), "  lvsadm -A|E virtual-service") || !strings.HasPrefix(b.String(), versionLine) {
		t.Errorf("help with another program name:\n%s", b.String())
	}
}

func TestKernelError(t *testing.T) {
	wrap := func(e error) error { return fmt.Errorf("engine: %w", e) }
	for _, tt := range []struct {
		kind   Kind
		err    error
		msg    string
		status int
	}{
		{AddService, lb.ErrServiceExists, "Service already exists", 255},
		{AddService, lb.ErrNoScheduler, "Scheduler or persistence engine not found", 255},
		{EditService, lb.ErrNoScheduler, "Scheduler or persistence engine not found", 255},
		{EditService, lb.ErrNoService, "No such service", 255},
		{DeleteService, lb.ErrNoService, "No such service", 255},
		{Zero, lb.ErrNoService, "No such service", 255},
		{AddServer, lb.ErrNoService, "Service not defined", 255},
		{EditServer, lb.ErrNoService, "Service not defined", 255},
		{DeleteServer, lb.ErrNoService, "Service not defined", 255},
		{AddServer, lb.ErrDestExists, "Destination already exists", 255},
		{EditServer, lb.ErrNoDest, "No such destination", 255},
		{DeleteServer, lb.ErrNoDest, "No such destination", 255},
		{AddServer, lb.ErrRange, "Numerical result out of range", 255},
		{StartDaemon, lb.ErrServiceExists, "Daemon has already run", 255},
		{StartDaemon, lb.ErrInvalid, "Invalid operation.  Possibly wrong module version, address not unicast, ...", 255},
		{StopDaemon, lb.ErrNoService, "No daemon is running", 255},
		{List, lb.ErrNoService, "No such service", 1},
		{AddService, lb.ErrProtocol, "Protocol not supported", 255},
		{AddService, lb.ErrZeroPort, "Zero port specified for non-persistent service", 2},
		{AddServer, lb.ErrMixedFamily, "Different address family is allowed only for tunneling servers", 2},
		{AddServer, lb.ErrTunnelOptions, "Tunnel options conflict with forward method", 2},
		{AddService, errors.New("engine is gone"), "engine: engine is gone", 255},
	} {
		e := KernelError(&Command{Kind: tt.kind}, wrap(tt.err))
		if e.Msg != tt.msg || e.Status != tt.status {
			t.Errorf("KernelError(%s, %v) = %q %d, want %q %d", tt.kind, tt.err, e.Msg, e.Status, tt.msg, tt.status)
		}
	}
}

// TestTableJSON: a Table survives encoding/json unchanged (what lvsd's API will send).
func TestTableJSON(t *testing.T) {
	s := newSim(testResolver())
	buildRecordedState(t, s)
	s.run("--start-daemon master --mcast-interface brc", "")
	b, err := json.Marshal(&s.t)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s.t) {
		t.Errorf("JSON round trip changed the table:\n%s", b)
	}
}
