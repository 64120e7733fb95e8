package ipvsadm

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

func testParser() Parser { return Parser{Resolver: testResolver()} }

// vip1 is TCP 10.9.0.1:80 (vip-nat in testdata/hosts).
func vip1() lb.ServiceKey {
	return lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}
}

// rs11 is 10.1.0.11 (rs1).
func rs11() netip.Addr { return netip.MustParseAddr("10.1.0.11") }

// TestParse: argv in, the Command (checked by a function) or ipvsadm's message and status out.
func TestParse(t *testing.T) {
	type check func(*Command) bool
	svc := func(k lb.ServiceKey, sched string, flags lb.SvcFlags, timeout, mask uint32) check {
		return func(c *Command) bool {
			s := c.Service
			return c.HasService && s.ServiceKey == k && s.Scheduler == sched && s.Flags == flags && s.Timeout == timeout && s.Netmask == mask
		}
	}
	rl := func(k Kind, r lb.Real) check {
		return func(c *Command) bool { return c.Kind == k && c.Real == r }
	}
	list := func(o ListOptions) check {
		return func(c *Command) bool { return c.Kind == List && c.List == o }
	}
	tests := []struct {
		name    string
		args    string
		want    check
		wantErr string
		status  int
	}{
		// no arguments lists, with names
		{"no args", "", list(ListOptions{}), "", 0},
		// clustered and long forms
		{"-Ln", "-Ln", list(ListOptions{Numeric: true}), "", 0},
		{"-ln", "-ln", list(ListOptions{Numeric: true}), "", 0},
		{"-Sn", "-Sn", func(c *Command) bool { return c.Kind == Save && c.List.Numeric }, "", 0},
		{"long list", "--list --numeric --stats --exact", list(ListOptions{Numeric: true, Stats: true, Exact: true}), "", 0},
		{"exact as -X", "-L -nX --rate", list(ListOptions{Numeric: true, Exact: true, Rate: true}), "", 0},
		{"sort is a no-op", "-L --sort --sort", list(ListOptions{}), "", 0},
		{"nosort", "-L --nosort -n", list(ListOptions{NoSort: true, Numeric: true}), "", 0},
		{"syncid ignored by -L", "-L --syncid 7 --daemon", list(ListOptions{Daemon: true}), "", 0},
		{"-At cluster", "-At 10.9.0.1:80", svc(vip1(), "wlc", 0, 0, 0xffffffff), "", 0},
		{"-t glued", "-A -t10.9.0.1:80 -srr", svc(vip1(), "rr", 0, 0, 0xffffffff), "", 0},
		{"--opt=value", "-A --tcp-service=10.9.0.1:80 --scheduler=rr", svc(vip1(), "rr", 0, 0, 0xffffffff), "", 0},
		// -p forms
		{"-p 600", "-A -t 10.9.0.1:80 -s rr -p 600", svc(vip1(), "rr", lb.Persistent, 600, 0xffffffff), "", 0},
		{"-p600", "-A -t 10.9.0.1:80 -s rr -p600", svc(vip1(), "rr", lb.Persistent, 600, 0xffffffff), "", 0},
		{"-p=600", "-A -t 10.9.0.1:80 -s rr -p=600", svc(vip1(), "rr", lb.Persistent, 600, 0xffffffff), "", 0},
		{"--persistent=600", "-A -t 10.9.0.1:80 --persistent=600", svc(vip1(), "wlc", lb.Persistent, 600, 0xffffffff), "", 0},
		{"-p then option", "-A -t 10.9.0.1:80 -p -s rr", svc(vip1(), "rr", lb.Persistent, 360, 0xffffffff), "", 0},
		{"-p at end", "-A -t 10.9.0.1:80 -p", svc(vip1(), "wlc", lb.Persistent, 360, 0xffffffff), "", 0},
		{"-p -5", "-A -t 10.9.0.50:80 -s rr -p -5", nil, "-5: unknown option", 255},
		{"-p 0", "-A -t 10.9.0.50:80 -p 0", nil, "invalid timeout value `0' specified", 2},
		{"--persistent=", "-A -t 10.9.0.50:80 --persistent=", nil, "invalid timeout value `' specified", 2},
		{"-p too big", "-A -t 10.9.0.50:80 -p 2678401", nil, "invalid timeout value `2678401' specified", 2},
		// services
		{"udp ops", "-A -u 10.9.0.4:53 -s rr -o", svc(lb.ServiceKey{Protocol: lb.UDP, Addr: netip.MustParseAddr("10.9.0.4"), Port: 53}, "rr", lb.OnePacket, 0, 0xffffffff), "", 0},
		{"port name", "-A -t 10.9.0.1:http", svc(vip1(), "wlc", 0, 0, 0xffffffff), "", 0},
		{"host name", "-A -t vip-nat:80", svc(vip1(), "wlc", 0, 0, 0xffffffff), "", 0},
		{"sctp", "-A --sctp-service 10.9.0.8:3868 -s nq", svc(lb.ServiceKey{Protocol: lb.SCTP, Addr: netip.MustParseAddr("10.9.0.8"), Port: 3868}, "nq", 0, 0, 0xffffffff), "", 0},
		{"v6", "-A -t [fd00::9]:80 -s dh -p 60 -M 64", svc(lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}, "dh", lb.Persistent, 60, 64), "", 0},
		{"v6 mask before -t is lost", "-A -M 64 -t [fd00::9]:80 -p 60", svc(lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}, "wlc", lb.Persistent, 60, 128), "", 0},
		{"fwmark", "-A -f 1 -s wlc -p 600 -M 255.255.255.0", svc(lb.FWMarkKey(1, false), "wlc", lb.Persistent, 600, 0xffffff00), "", 0},
		{"fwmark v6", "-A -f 5 -6 -s rr", svc(lb.FWMarkKey(5, true), "rr", 0, 0, 128), "", 0},
		{"sh flags", "-A -t 10.9.0.1:80 -b sh-fallback,sh-port -s sh", svc(vip1(), "sh", lb.Sched1|lb.Sched2, 0, 0xffffffff), "", 0},
		{"inet_aton forms", "-A -t 012.9.1:80", svc(vip1(), "wlc", 0, 0, 0xffffffff), "", 0},
		{"pe", "-A -u 10.9.0.10:5060 -s rr -p 60 --pe sip", func(c *Command) bool { return c.Service.PE == "sip" }, "", 0},
		{"scheduler truncated", "-A -t 10.9.0.1:80 -s averyveryverylongschedulername", func(c *Command) bool { return c.Service.Scheduler == "averyveryverylo" }, "", 0},
		// reals
		{"real default route", "-a -t 10.9.0.1:80 -r 10.1.0.11", rl(AddServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Route, Weight: 1}), "", 0},
		{"real masq port", "-a -t 10.9.0.1:80 -r 10.1.0.11:8080 -m -w 3 -x 100 -y 50", rl(AddServer, lb.Real{Addr: rs11(), Port: 8080, Forward: lb.Masq, Weight: 3, UThreshold: 100, LThreshold: 50}), "", 0},
		{"route takes service port", "-a -t 10.9.0.1:80 -r 10.1.0.11:8080 -g", rl(AddServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Route, Weight: 1}), "", 0},
		{"-r before -t", "-a -r 10.1.0.11 -t 10.9.0.1:80 -m", rl(AddServer, lb.Real{Addr: rs11(), Port: 0, Forward: lb.Masq, Weight: 1}), "", 0},
		{"gue", "-a -t 10.9.0.1:80 -r 10.1.0.11 -i --tun-type gue --tun-port 6080 --tun-remcsum", rl(AddServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Tunnel, Weight: 1, TunType: lb.TunGUE, TunPort: 6080, TunFlags: lb.TunRemCsum}), "", 0},
		{"edit real defaults", "-e -t 10.9.0.1:80 -r 10.1.0.11:80", rl(EditServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Route, Weight: 1}), "", 0},
		{"weight INT_MAX", "-a -t 10.9.0.1:80 -r 10.1.0.11 -m -w 2147483647", rl(AddServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Masq, Weight: 2147483647}), "", 0},
		{"delete real", "-d -t 10.9.0.1:80 -r 10.1.0.11", rl(DeleteServer, lb.Real{Addr: rs11(), Port: 80, Forward: lb.Route, Weight: 1}), "", 0},
		// other commands
		{"set", "--set 10 20 30", func(c *Command) bool {
			return c.Kind == SetTimeout && c.Timeouts == lb.Timeouts{TCP: 10, TCPFin: 20, UDP: 30}
		}, "", 0},
		{"start daemon", "--start-daemon backup --syncid 7 --sync-maxlen 1000 --mcast-group 224.0.0.82 --mcast-port 8849 --mcast-ttl 2", func(c *Command) bool {
			return c.Kind == StartDaemon && c.Daemon == DaemonConfig{State: DaemonBackup, MCastIfn: "eth0", SyncID: 7, SyncMaxLen: 1000, MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2}
		}, "", 0},
		{"stop daemon", "--stop-daemon master", func(c *Command) bool { return c.Kind == StopDaemon && c.Daemon.State == DaemonMaster }, "", 0},
		{"zero all", "-Z", func(c *Command) bool { return c.Kind == Zero && !c.HasService }, "", 0},
		{"help", "-h --foo", func(c *Command) bool { return c.Kind == Help }, "", 0},
		{"version", "--version", func(c *Command) bool { return c.Kind == Version }, "", 0},
		{"flush", "-C", func(c *Command) bool { return c.Kind == Flush }, "", 0},
		{"restore", "-R", func(c *Command) bool { return c.Kind == Restore }, "", 0},
		{"!#:+", "-A -t 10.9.0.1:80 -s !#:+ rr", svc(vip1(), "rr", 0, 0, 0xffffffff), "", 0},

		// popt refusals (255)
		{"first option not a command", "-nL", nil, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		{"unknown first", "--foo", nil, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		{"no abbreviations", "-L --numer", nil, "--numer: unknown option", 255},
		{"unwanted argument", "-L --numeric=1", nil, "--numeric=1: option does not take an argument", 255},
		{"unwanted argument short", "-L -n=1", nil, "-n=1: option does not take an argument", 255},
		{"missing argument", "-A -t", nil, "-t: missing argument", 255},
		{"unknown short", "-A -t 10.9.0.50:80 -Q", nil, "-Q: unknown option", 255},
		{"only leftovers", "foo", nil, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		{"start-daemon no arg", "--start-daemon", nil, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255},
		// ipvsadm's refusals (2)
		{"second command", "-A -D -t 10.9.0.1:80", nil, "invalid option `-D'", 2},
		{"second command clustered", "-AD -t 10.9.0.1:80", nil, "invalid option `-AD'", 2},
		{"second command with argument", "-L --start-daemon master", nil, "invalid option `master'", 2},
		{"help not first", "-L -h", nil, "invalid option `-h'", 2},
		{"bad start-daemon", "--start-daemon foo", nil, "illegal start-daemon parameter specified", 2},
		{"bad stop-daemon", "--stop-daemon foo", nil, "illegal start_daemon specified", 2},
		{"bad address", "-A -t 10.9.0.300:80 -s rr", nil, "illegal virtual server address[:port] specified", 2},
		{"unresolvable host", "-A -t no-such-host.invalid:80", nil, "illegal virtual server address[:port] specified", 2},
		{"bad port", "-A -t 10.9.0.50:99999", nil, "illegal virtual server address[:port] specified", 2},
		{"no sctp port name", "-A --sctp-service 10.9.0.50:http", nil, "illegal virtual server address[:port] specified", 2},
		{"all digits", "-A -t 1234", nil, "illegal virtual server address[:port] specified", 2},
		{"bad v6", "-A -t [fd00::zz]:80", nil, "illegal virtual server address[:port] specified", 2},
		{"v6 zone", "-A -t [fe80::1%lo]:80", nil, "illegal virtual server address[:port] specified", 2},
		{"zero port", "-A -t 10.9.0.50:0 -s rr", nil, "Zero port specified for non-persistent service", 2},
		{"v4 in brackets has no port", "-A -t [10.9.0.52]:80", nil, "Zero port specified for non-persistent service", 2},
		{"bare v6 has no port", "-A -t fd00::54:80", nil, "Zero port specified for non-persistent service", 2},
		{"ops not udp", "-A -t 10.9.0.50:80 -o", nil, "One-Packet Scheduling is only for UDP virtual services", 2},
		{"bad real", "-a -t 10.9.0.1:80 -r 10.1.0.300 -m", nil, "illegal real server address[:port] specified", 2},
		{"real port name before service", "-a -r 10.1.0.12:http -t 10.9.0.1:80 -m", nil, "illegal real server address[:port] specified", 2},
		{"weight negative", "-a -t 10.9.0.1:80 -r 10.1.0.14:80 -m -w -1", nil, "illegal weight specified", 2},
		{"weight too big", "-a -t 10.9.0.1:80 -r 10.1.0.14:80 -m -w 2147483648", nil, "illegal weight specified", 2},
		{"upper negative", "-a -t 10.9.0.1:80 -r 10.1.0.14 -x -1", nil, "illegal u_threshold specified", 2},
		{"lower negative", "-a -t 10.9.0.1:80 -r 10.1.0.14 -y -3", nil, "illegal l_threshold specified", 2},
		{"fwmark zero", "-A -f 0 -s rr", nil, "invalid fwmark value `0' specified", 2},
		{"fwmark too big", "-A -f 4294967296", nil, "invalid fwmark value `4294967296' specified", 2},
		{"netmask", "-A -f 50 -p 60 -M foo", nil, "illegal virtual server persistent mask specified", 2},
		{"v6 netmask", "-A -t [fd00::50]:80 -p 60 -M 129", nil, "illegal ipv6 netmask specified", 2},
		{"-6 before -f", "-A -6 -f 5", nil, "-6 used before -f\n", 2},
		{"sched flag", "-A -t 10.9.0.50:80 -s sh -b foo", nil, "invalid scheduler flag `foo'", 2},
		{"sched flag for other scheduler", "-A -t 10.9.0.50:80 -b mh-port", nil, "incompatible scheduler flag `mh-port'", 2},
		{"tun type", "-a -t 10.9.0.3:80 -r 10.1.0.14:80 -i --tun-type foo", nil, "illegal tunnel type specified", 2},
		{"tun port", "-a -t 10.9.0.3:80 -r 10.1.0.14 -i --tun-type gue --tun-port 0", nil, "illegal tunnel port specified", 2},
		{"gue needs port", "-a -t 10.9.0.3:80 -r 10.1.0.14 -i --tun-type gue", nil, "You need to supply the 'tun-port' option for the 'gue' tunnel type", 2},
		{"gue one csum", "-a -t 10.9.0.3:80 -r 10.1.0.14 -i --tun-type gue --tun-port 1 --tun-nocsum --tun-csum", nil, "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type", 2},
		{"gre no remcsum", "-a -t 10.9.0.3:80 -r 10.1.0.14 -i --tun-type gre --tun-remcsum", nil, "Illegal 'tun-remcsum' option with the 'gre' tunnel type", 2},
		{"ipip no port", "-a -t 10.9.0.3:80 -r 10.1.0.14 -i --tun-port 5", nil, "Illegal 'tun-port' option with the 'ipip' tunnel type", 2},
		{"tunnel options need -i", "-a -t 10.9.0.1:80 -r 10.1.0.14:80 -m --tun-type gre", nil, "Tunnel options conflict with forward method", 2},
		{"mixed family", "-a -t 10.9.0.1:80 -r [fd01::14]:80 -m", nil, "Different address family is allowed only for tunneling servers", 2},
		{"no service", "-A -s rr", nil, "You need to supply the 'service-address' option for the 'add-service' command", 2},
		{"no real", "-a -t 10.9.0.1:80 -m", nil, "You need to supply the 'real-server' option for the 'add-server' command", 2},
		{"two services", "-A -t 10.9.0.50:80 -u 10.9.0.50:80", nil, "multiple 'service-address' options specified", 2},
		{"two methods", "-a -t 10.9.0.1:80 -r 10.1.0.14:80 -m -g", nil, "multiple 'forwarding-method' options specified", 2},
		{"option not for list", "-L -n -w 3", nil, "Illegal 'weight' option with the 'list' command", 2},
		{"option not for delete", "-D -t 10.9.0.1:80 -s rr", nil, "Illegal 'scheduler' option with the 'delete-service' command", 2},
		{"option not for save", "-S -n --nosort", nil, "Illegal 'nosort' option with the 'save' command", 2},
		{"list exclusive", "-L -c -t 10.9.0.1:80", nil, "The option 'service-address' conflicts with the 'connection' option in the 'list' command", 2},
		{"list conflicts", "-L --timeout --stats", nil, "options conflicts in the list command", 2},
		{"set needs 3", "--set 10 20", nil, "--set option requires 3 timeout values", 2},
		{"set numbers", "--set a b c", nil, "invalid timeout value `a' specified", 2},
		{"unexpected argument", "-L -n foo", nil, "unexpected argument foo", 2},
		{"rest after --", "-L -- -n", nil, "unexpected argument -n", 2},
		{"mcast group", "--start-daemon master --mcast-group 10.0.0.1", nil, "invalid IPv4 mcast-group `10.0.0.1'", 2},
		{"mcast group v6", "--start-daemon master --mcast-group fe80::1", nil, "invalid IPv6 mcast-group `fe80::1'", 2},
		{"mcast port", "--start-daemon master --mcast-port 0", nil, "illegal mcast-port specified", 2},
		{"mcast ttl", "--start-daemon master --mcast-ttl 256", nil, "illegal mcast-ttl specified", 2},
		{"sync maxlen", "--start-daemon master --sync-maxlen 65508", nil, "illegal sync-maxlen specified", 2},
		{"syncid", "--start-daemon master --syncid 256", nil, "illegal syncid specified", 2},
		{"stop daemon option", "--stop-daemon master --mcast-interface lo", nil, "Illegal 'mcast-interface' option with the 'stop-daemon' command", 2},
	}
	p := testParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := strings.Fields(tt.args)
			cmd, err := p.Parse(args)
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Parse(%q) = %+v, %v; want error %q", tt.args, cmd, err, tt.wantErr)
				}
				if e.Msg != tt.wantErr || e.Status != tt.status || cmd != nil {
					t.Fatalf("Parse(%q) error %q status %d; want %q status %d", tt.args, e.Msg, e.Status, tt.wantErr, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !tt.want(cmd) {
				t.Fatalf("Parse(%q) = %+v", tt.args, cmd)
			}
		})
	}
}

// TestOptionTables checks the transcribed tables have one rule per option.
func TestOptionTables(t *testing.T) {
	for k := AddService; k <= Zero; k++ {
		if got := len(commandOptions(k)); got != int(numOptBits) {
			t.Errorf("%s: %d rules, want %d", k, got, numOptBits)
		}
	}
	seen := map[string]bool{}
	for _, o := range optionTable() {
		key := o.long + "/" + string(o.short)
		if seen[key] {
			t.Errorf("option %s twice", key)
		}
		seen[key] = true
	}
}

func TestInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"10.9.0.1": "10.9.0.1", "012.9.0.1": "10.9.0.1", "0x0a.9.0.1": "10.9.0.1", "10.9.1": "10.9.0.1",
		"10.589825": "10.9.0.1", "167837953": "10.1.1.1", "10.9.0.1 ": "10.9.0.1", "10.9.0.1\tx": "10.9.0.1",
		"10.9.0.256": "", "10.9.0.": "", "1..2": "", "08.1.1.1": "", "0x": "", "": "", " 10.9.0.1": "", "4294967296": "",
		"0xffffffff": "255.255.255.255",
	} {
		a, ok := inetAton(in)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("inetAton(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStringToNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"80", 80, true}, {"+80", 80, true}, {" 80", 80, true}, {"-0", 0, true}, {"80 ", 0, false}, {"0x10", 0, false}, {"", 0, false}, {"65536", 0, false}, {"99999999999999999999", 0, false}} {
		got, ok := stringToNumber(tt.in, 0, 65535)
		if got != tt.want || ok != tt.ok {
			t.Errorf("stringToNumber(%q) = %d, %v", tt.in, got, ok)
		}
	}
}
