package kernelctl

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
	"github.com/golvs/golvs/internal/lb"
)

// newKernel returns a Kernel on a new fake kernel, with the fake's request log empty.
func newKernel(t *testing.T, o Options) (*Kernel, *ipvsnltest.Kernel) {
	t.Helper()
	fk := ipvsnltest.New()
	c, err := fk.Client()
	if err != nil {
		t.Fatal(err)
	}
	o.Client = c
	k, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	fk.ResetLog()
	return k, fk
}

// command parses one ipvsadm command line (numeric, no name lookups).
func command(t *testing.T, line string) *ipvsadm.Command {
	t.Helper()
	cmd, err := ipvsadm.Parser{}.Parse(strings.Fields(line))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return cmd
}

// execLine runs one ipvsadm command line through Exec.
func execLine(t *testing.T, k *Kernel, line string) error {
	t.Helper()
	op, err := ctl.Op(command(t, line))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return k.Exec(op)
}

// TestExecOneCommandEach: every table-changing ipvsadm command is the one netlink command
// libipvs sends for it, with what ipvsadm puts in it.
func TestExecOneCommandEach(t *testing.T) {
	k, fk := newKernel(t, Options{})
	for _, tc := range []struct{ line, want string }{
		{"-A -t 10.9.0.1:80 -s rr -p 60 -M 255.255.255.0", "new-service tcp 10.9.0.1:80 sched rr flags 0x1 timeout 60 netmask 0xffffff00"},
		{"-A -u [fd00::9]:53 -s sh -b sh-port", "new-service udp [fd00::9]:53 sched sh flags 0x10 netmask 128"},
		{"-A -f 5 -s wlc", "new-service fwmark 5 sched wlc netmask 0xffffffff"},
		{"-E -t 10.9.0.1:80 -s wrr", "set-service tcp 10.9.0.1:80 sched wrr netmask 0xffffffff"},
		{"-a -t 10.9.0.1:80 -r 10.1.0.11:8080 -m -w 2 -x 10 -y 5", "new-dest tcp 10.9.0.1:80 dest 10.1.0.11:8080 masq weight 2 thresholds 10/5"},
		{"-a -t 10.9.0.1:80 -r 10.1.0.12 -g", "new-dest tcp 10.9.0.1:80 dest 10.1.0.12:80 route weight 1"},
		{"-a -f 5 -r 10.1.0.13 -i --tun-type gue --tun-port 6080", "new-dest fwmark 5 dest 10.1.0.13:0 tunnel weight 1 tun 1 port 6080 flags 0x0"},
		{"-e -t 10.9.0.1:80 -r 10.1.0.11:8080 -m -w 0", "set-dest tcp 10.9.0.1:80 dest 10.1.0.11:8080 masq weight 0"},
		{"-d -t 10.9.0.1:80 -r 10.1.0.12", "del-dest tcp 10.9.0.1:80 dest 10.1.0.12:80"},
		{"-Z -t 10.9.0.1:80", "zero tcp 10.9.0.1:80"},
		{"-Z", "zero"},
		{"--set 1000 0 400", "set-config timeouts 1000 0 400"},
		{"--start-daemon master --mcast-interface eth1 --syncid 3", "new-daemon master eth1 syncid 3"},
		{"--stop-daemon master", "del-daemon master"},
		{"-D -u [fd00::9]:53", "del-service udp [fd00::9]:53"},
		{"-C", "flush"},
	} {
		fk.ResetLog()
		if err := execLine(t, k, tc.line); err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := fk.Writes(); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s sent %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestExecRefusals: the kernel's refusal comes back with its errno, and
// ipvsadm.KernelError words it as ipvsadm 1.31 does (recorded in the IPVS VM).
func TestExecRefusals(t *testing.T) {
	k, fk := newKernel(t, Options{})
	for _, line := range []string{"-A -t 10.9.0.1:80 -s rr", "-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m"} {
		if err := execLine(t, k, line); err != nil {
			t.Fatal(err)
		}
	}
	nodev := func(c ipvsnl.Command) syscall.Errno {
		if c.Cmd == ipvsnl.CmdNewDaemon && c.Daemon.MCastIfn == "nosuch0" {
			return syscall.ENODEV
		}
		return 0
	}
	fk.FailWith(nodev)
	for _, tc := range []struct {
		line  string
		errno syscall.Errno
		msg   string
	}{
		{"-A -t 10.9.0.1:80 -s rr", syscall.EEXIST, "Service already exists"},
		{"-A -t 10.9.0.2:80 -s nosuch", syscall.ENOENT, "Scheduler or persistence engine not found"},
		{"-E -t 10.9.0.99:80 -s rr", syscall.ESRCH, "No such service"},
		{"-D -t 10.9.0.99:80", syscall.ESRCH, "No such service"},
		{"-a -t 10.9.0.99:80 -r 10.1.0.11:80 -m", syscall.ESRCH, "Service not defined"},
		{"-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m", syscall.EEXIST, "Destination already exists"},
		{"-a -t 10.9.0.1:80 -r 10.1.0.14:80 -m -x 10 -y 20", syscall.ERANGE, "Numerical result out of range"},
		{"-e -t 10.9.0.1:80 -r 10.1.0.99:80 -m", syscall.ENOENT, "No such destination"},
		{"-d -t 10.9.0.1:80 -r 10.1.0.99:80", syscall.ENOENT, "No such destination"},
		{"-Z -t 10.9.0.99:80", syscall.ESRCH, "No such service"},
		{"--stop-daemon master", syscall.ESRCH, "No daemon is running"},
		{"--start-daemon master --mcast-interface nosuch0", syscall.ENODEV, "No such device"},
	} {
		cmd := command(t, tc.line)
		op, _ := ctl.Op(cmd)
		err := k.Exec(op)
		if !errors.Is(err, tc.errno) {
			t.Errorf("%s: %v, want errno %v", tc.line, err, tc.errno)
			continue
		}
		if ke := ipvsadm.KernelError(cmd, err); ke.Msg != tc.msg || ke.Status != 255 || ke.Fatal {
			t.Errorf("%s: ipvsadm says %q status %d fatal %v, want %q 255", tc.line, ke.Msg, ke.Status, ke.Fatal, tc.msg)
		}
	}
	if err := k.Exec(director.Op{Kind: director.AddReal}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("incomplete operation: %v", err)
	}
	if err := k.Exec(director.Op{Kind: "bogus"}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("unknown operation: %v", err)
	}
}

// TestTableListsTheLiveTable: the listings show every service in the kernel, whoever added
// it, with the kernel's counters, exactly as ipvsadm prints them.
func TestTableListsTheLiveTable(t *testing.T) {
	k, fk := newKernel(t, Options{})
	// Another program (ipvsadm, keepalived) fills the table through a client of its own.
	other, err := fk.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	okey := ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoTCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(other.NewService(ipvsnl.Service{ServiceKey: okey, SchedName: "wrr", Flags: ipvsnl.FlagPersistent, Timeout: 300, Netmask: 0xffffff00}))
	for i, a := range []string{"10.1.0.11", "10.1.0.12"} {
		must(other.NewDest(okey, ipvsnl.Dest{Addr: netip.MustParseAddr(a), Port: 80, FwdMethod: ipvsnl.FwdMasq, Weight: int32(i + 1), UThreshold: 100, LThreshold: 10}))
	}
	must(execLine(t, k, "-A -f 7 -s rr"))
	must(execLine(t, k, "-a -f 7 -r 10.1.0.13:0 -g -w 3"))
	st := ipvsnl.Stats{Conns: 123456789012, InPkts: 20, OutPkts: 30, InBytes: 4000, OutBytes: 5000, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 400, OutBPS: 500}
	fk.SetCounters(okey, netip.AddrPort{}, st, 0, 0, 0)
	fk.SetCounters(okey, netip.MustParseAddrPort("10.1.0.11:80"), st, 4, 5, 6)
	must(execLine(t, k, "--set 1000 0 0"))
	must(execLine(t, k, "--start-daemon backup --mcast-interface eth1 --syncid 9"))

	fk.ResetLog()
	tab, err := k.Table(false)
	must(err)
	if len(tab.Services) != 2 || tab.Services[0].Flags != lb.Persistent || tab.Conns != nil {
		t.Fatalf("table %+v", tab)
	}
	for _, tc := range []struct{ line, want string }{
		{"-L -n", `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.9.0.1:80 wrr persistent 300 mask 255.255.255.0
  -> 10.1.0.11:80                 Masq    1      4          5         
  -> 10.1.0.12:80                 Masq    2      0          0         
FWM  7 rr
  -> 10.1.0.13:0                  Route   3      0          0         
`},
		{"-L -n --stats --exact -t 10.9.0.1:80", `Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.9.0.1:80                  123456789012       20       30     4000     5000
  -> 10.1.0.11:80                 123456789012       20       30     4000     5000
  -> 10.1.0.12:80                        0        0        0        0        0
`},
		{"-L -n --thresholds", `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  10.9.0.1:80 wrr persistent 300 mask 255.255.255.0
  -> 10.1.0.11:80                 100        10         4          5         
  -> 10.1.0.12:80                 100        10         0          0         
FWM  7 rr
  -> 10.1.0.13:0                  0          0          0          0         
`},
		{"-S -n", `-A -t 10.9.0.1:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -m -w 2
-A -f 7 -s rr
-a -f 7 -r 10.1.0.13:0 -g -w 3
`},
		{"-L --timeout", "Timeout (tcp tcpfin udp): 1000 120 300\n"},
		{"-L --daemon", "backup sync daemon (mcast=eth1, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"},
	} {
		var out bytes.Buffer
		if err := (ipvsadm.Printer{}).Print(&out, command(t, tc.line), tab); err != nil {
			t.Errorf("%s: %v", tc.line, err)
		}
		if out.String() != tc.want {
			t.Errorf("%s printed\n%s\nwant\n%s", tc.line, out.String(), tc.want)
		}
	}
	if got := fk.Writes(); len(got) != 0 {
		t.Errorf("listing sent table changes: %q", got)
	}
}

// TestTableConns: -c shows the namespace's /proc/net/ip_vs_conn; a file that cannot be
// read is a *ConnFileError.
func TestTableConns(t *testing.T) {
	k, _ := newKernel(t, Options{ConnFile: "testdata/ip_vs_conn.txt"})
	tab, err := k.Table(true)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (ipvsadm.Printer{}).Print(&out, command(t, "-L -n -c"), tab); err != nil {
		t.Fatal(err)
	}
	want := `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:53  ESTABLISHED 10.0.0.2:59796     10.9.0.1:80        10.1.0.11:80
TCP 05:53  NONE        10.0.0.2:0         10.9.0.1:80        10.1.0.11:80
UDP 04:59  UDP         [fd00::2]:35388    [fd00::9]:53       [fd01::11]:53
`
	if out.String() != want {
		t.Errorf("-L -n -c printed\n%s\nwant\n%s", out.String(), want)
	}
	k2, _ := newKernel(t, Options{ConnFile: "testdata/no-such-file"})
	_, err = k2.Table(true)
	var cf *ConnFileError
	if !errors.As(err, &cf) || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("missing connection table: %v", err)
	}
	if _, err := k2.Table(false); err != nil {
		t.Errorf("without -c the connection table is not read: %v", err)
	}
}

// TestOpenRefused: Open reads the IPVS version as ipvs_init does, and a refusal there is
// ipvsadm's "Can't initialize ipvs" with the errno's words.
func TestOpenRefused(t *testing.T) {
	fk := ipvsnltest.New()
	fk.FailWith(func(ipvsnl.Command) syscall.Errno { return syscall.EPERM })
	c, err := fk.Client()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Client: c})
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("Open = %v, want EPERM", err)
	}
	want := "Can't initialize ipvs: Permission denied (you must be root)\n" +
		"Are you sure that IP Virtual Server is built in the kernel or as module?"
	if e := ipvsadm.InitError(Errno(err)); e.Msg != want || e.Status != 2 {
		t.Errorf("InitError = %q %d", e.Msg, e.Status)
	}
}

func TestErrno(t *testing.T) {
	noIPVS := ipvsnl.ErrNoIPVS
	want := syscall.ENOPROTOOPT
	if os.Geteuid() != 0 {
		want = syscall.EPERM
	}
	for _, tc := range []struct {
		err  error
		want syscall.Errno
	}{
		{errors.Join(errors.New("x"), syscall.EPERM), syscall.EPERM},
		{noIPVS, want},
		{errors.New("other"), syscall.EINVAL},
	} {
		if got := Errno(tc.err); got != tc.want {
			t.Errorf("Errno(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
