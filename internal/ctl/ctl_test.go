package ctl

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/lb"
)

func parser() ipvsadm.Parser { return ipvsadm.Parser{Resolver: ipvsadm.StaticResolver{}} }

func TestRestoreState(t *testing.T) {
	cat := lb.Catalog{Scheduler: func(n string) bool { return n == "rr" || n == "wlc" }}
	good := "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 3\n--set 10 0 0\n"
	st, err := RestoreState(parser(), strings.NewReader(good), cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || st.Services[0].Reals[0].Weight != 3 || st.Timeouts.TCP != 10 || st.Timeouts.UDP != 300 {
		t.Fatalf("restored %+v", st)
	}
	tests := []struct{ in, want string }{
		{"-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.2:80 -s nosuch\n", "line 2: Scheduler or persistence engine not found"},
		{"-A -t 10.9.0.1:80 -s rr\n\n-a -t 10.9.0.9:80 -r 10.1.0.11:80 -m\n", "line 3: Service not defined"},
		{"-A -t 10.9.0.300:80 -s rr\n", "line 1: illegal virtual server address[:port] specified"},
		{"-A -t 10.9.0.1:80\n-L -n\n", "line 2: list cannot be part of a table change"},
	}
	for _, tt := range tests {
		_, err := RestoreState(parser(), strings.NewReader(tt.in), cat)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestOpOfEveryChange(t *testing.T) {
	for _, args := range [][]string{
		{"-A", "-t", "10.9.0.1:80"}, {"-E", "-t", "10.9.0.1:80", "-s", "rr"}, {"-D", "-t", "10.9.0.1:80"},
		{"-C"}, {"-a", "-t", "10.9.0.1:80", "-r", "10.1.0.1:80", "-m"}, {"-e", "-t", "10.9.0.1:80", "-r", "10.1.0.1:80", "-m"},
		{"-d", "-t", "10.9.0.1:80", "-r", "10.1.0.1:80"}, {"--set", "1", "2", "3"}, {"-Z"}, {"-Z", "-t", "10.9.0.1:80"},
		{"--start-daemon", "master"}, {"--stop-daemon", "backup"},
	} {
		cmd, err := parser().Parse(args)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if _, err := Op(cmd); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	cmd, _ := parser().Parse([]string{"-Z"})
	if op, _ := Op(cmd); op.Key != nil {
		t.Error("-Z without a service names one")
	}
}

func TestTableListsLikeIpvsadm(t *testing.T) {
	k := lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	st.AddService(&lb.Service{ServiceKey: k, Scheduler: "wlc", Reals: []lb.Real{
		{Addr: netip.MustParseAddr("10.1.0.12"), Port: 80, Forward: lb.Masq, Weight: 2},
		{Addr: netip.MustParseAddr("10.1.0.11"), Port: 80, Forward: lb.Masq, Weight: 1},
	}}, lb.Catalog{})
	snap := &api.Snapshot{State: st, Counters: []engine.ServiceCounters{{Key: k, Reals: []engine.RealCounters{
		{Addr: netip.MustParseAddr("10.1.0.11"), Port: 80, Active: 1, Inactive: 4},
		{Addr: netip.MustParseAddr("10.1.0.12"), Port: 80, Inactive: 2},
	}}}, Conns: []engine.Conn{{Protocol: lb.TCP, Client: netip.MustParseAddrPort("10.0.0.2:40000"),
		Virtual: netip.MustParseAddrPort("10.9.0.1:80"), Real: netip.MustParseAddrPort("10.1.0.11:80"),
		State: "ESTABLISHED", Expires: 899 * time.Second}}}
	var out bytes.Buffer
	cmd, _ := parser().Parse([]string{"-L", "-n"})
	if err := (ipvsadm.Printer{}).Print(&out, cmd, Table(snap)); err != nil {
		t.Fatal(err)
	}
	want := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.9.0.1:80 wlc
  -> 10.1.0.11:80                 Masq    1      1          4         
  -> 10.1.0.12:80                 Masq    2      0          2         
`
	if out.String() != want {
		t.Fatalf("listing:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	cmd, _ = parser().Parse([]string{"-L", "-n", "-c"})
	(ipvsadm.Printer{}).Print(&out, cmd, Table(snap))
	if !strings.Contains(out.String(), "TCP 14:59  ESTABLISHED 10.0.0.2:40000     10.9.0.1:80        10.1.0.11:80") {
		t.Fatalf("connection listing:\n%s", out.String())
	}
}
