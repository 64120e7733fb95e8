package ipvs

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/enginetest"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
	"github.com/golvs/golvs/internal/lb"
)

// The tests of this file need the real kernel's IPVS and root; they skip without them.
// Each engine works in a network namespace of its own, so the host's table is never
// touched. testdata/vm.sh runs them in the ipvs-vm.

// kernelNetNS returns a new network namespace for a test, or skips the test when it may
// not create one.
func kernelNetNS(t *testing.T) *os.File {
	t.Helper()
	ns, err := ipvsnltest.NewNetNS()
	if err != nil {
		t.Skipf("no network namespace for the test (needs root): %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// newKernelEngine returns an engine on the real kernel, in a new network namespace (or
// in ns when given), or skips the test when the kernel's IPVS cannot be used.
func newKernelEngine(t *testing.T, o Options, ns ...*os.File) *Engine {
	t.Helper()
	if len(ns) == 0 {
		ns = append(ns, kernelNetNS(t))
	}
	o.NetNSFD = int(ns[0].Fd())
	e, err := New(o)
	if errors.Is(err, ipvsnl.ErrNoIPVS) || errors.Is(err, syscall.EPERM) {
		t.Skipf("kernel IPVS not usable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// ipvsadmIn runs the real ipvsadm in e's namespace (a child forked from a thread in the
// namespace is in it), or skips the test when ipvsadm is not installed.
func ipvsadmIn(t *testing.T, e *Engine, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("ipvsadm")
	if err != nil {
		t.Skip("ipvsadm is not installed")
	}
	var out []byte
	err = e.c.InNetNS(func() (err error) {
		out, err = exec.Command(path, args...).CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ipvsadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// modelSave is what ipvsadm -S -n must print for st, by GoLVS's own ipvsadm printer.
func modelSave(t *testing.T, st *lb.State) string {
	t.Helper()
	cmd, err := ipvsadm.Parse([]string{"-S", "-n"})
	if err != nil {
		t.Fatal(err)
	}
	tab := &ipvsadm.Table{Timeouts: st.Timeouts}
	for _, s := range st.Services {
		tab.Services = append(tab.Services, ipvsadm.ViewOfService(s))
	}
	var b bytes.Buffer
	if err := (ipvsadm.Printer{}).Print(&b, cmd, tab); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestKernelConformance(t *testing.T) {
	newKernelEngine(t, Options{}) // skips here without IPVS
	enginetest.Run(t, enginetest.Harness{
		New:      func(t *testing.T) engine.Engine { return newKernelEngine(t, Options{}) },
		Forwards: []lb.Forward{lb.Masq, lb.Route, lb.Tunnel},
		FWMark:   true,
		VIP:      func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 9, 0, byte(1 + i)}) },
		Real:     func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, 0, byte(11 + i)}) },
	})
}

// TestKernelSaveMatchesRecording applies the state of the ipvsadm recording
// (testdata/save-n.out: what ipvsadm -S -n printed in the ipvs-vm after the commands of
// testdata/kernel/ipvsadm/setup.txt) and checks that ipvsadm -S -n prints it again, byte
// for byte.
func TestKernelSaveMatchesRecording(t *testing.T) {
	e := newKernelEngine(t, Options{})
	want, err := os.ReadFile("testdata/save-n.out")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(rules(t, string(want))); err != nil {
		t.Fatal(err)
	}
	if got := ipvsadmIn(t, e, "-S", "-n"); got != string(want) {
		t.Errorf("ipvsadm -S -n after Apply:\n%s\nwant (recorded):\n%s", got, want)
	}
}

// TestKernelSequence applies applySteps to the real kernel; after each, the real
// ipvsadm -S -n must print what GoLVS's printer prints for the state.
func TestKernelSequence(t *testing.T) {
	e := newKernelEngine(t, Options{})
	for _, s := range applySteps {
		st := stepState(t, s)
		if err := e.Apply(st); err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		if got, want := shape(t, e), kernelShape(st); !slices.Equal(got, want) {
			t.Fatalf("%s: engine reports\n%q\nwant\n%q", s.name, got, want)
		}
		if got, want := ipvsadmIn(t, e, "-S", "-n"), modelSave(t, st); got != want {
			t.Fatalf("%s: ipvsadm -S -n:\n%s\nwant:\n%s", s.name, got, want)
		}
		to := ipvsadmIn(t, e, "-L", "--timeout")
		if wantTCP := st.Timeouts.TCP; wantTCP != 0 && !strings.Contains(to, " "+itoa(uint16(wantTCP))+" ") {
			t.Errorf("%s: %s", s.name, to)
		}
	}
}

// TestKernelRefusesMissingModule: a scheduler the kernel has no module for (twos, not
// built in Debian 12) is refused before anything changes.
func TestKernelRefusesMissingModule(t *testing.T) {
	e := newKernelEngine(t, Options{})
	if err := e.Apply(rules(t, "-A -t 10.9.0.1:80 -s rr")); err != nil {
		t.Fatal(err)
	}
	st := rules(t, "-A -t 10.9.0.2:80 -s rr")
	st.Services[0].Scheduler = "twos"
	err := e.Apply(st)
	if e.hasModule("ip_vs_twos") {
		t.Skipf("this kernel has ip_vs_twos (Apply: %v)", err)
	}
	if !errors.Is(err, engine.ErrNotSupported) || !errors.Is(err, lb.ErrNoScheduler) {
		t.Errorf("Apply with twos: %v", err)
	}
	if got := shape(t, e); !slices.Equal(got, []string{"-t 10.9.0.1:80:"}) {
		t.Errorf("the refused Apply changed the table: %q", got)
	}
}

// TestKernelForeignServices: a service installed by someone else stays; with OwnTable the
// first Apply removes it.
func TestKernelForeignServices(t *testing.T) {
	for _, own := range []bool{false, true} {
		ns := kernelNetNS(t)
		other, err := ipvsnl.Open(ipvsnl.Options{NetNSFD: int(ns.Fd())})
		if err != nil {
			t.Skipf("kernel IPVS not usable: %v", err)
		}
		defer other.Close()
		foreign := ipvsnl.Service{ServiceKey: ipvsnl.ServiceKey{Protocol: ipvsnl.ProtoTCP, Addr: netip.MustParseAddr("10.9.0.7"), Port: 80},
			SchedName: "rr", Netmask: 0xffffffff}
		if err := other.NewService(foreign); err != nil {
			t.Fatal(err)
		}
		e := newKernelEngine(t, Options{OwnTable: own}, ns)
		if err := e.Apply(rules(t, "-A -t 10.9.0.1:80 -s rr")); err != nil {
			t.Fatal(err)
		}
		want := "-A -t 10.9.0.1:80 -s rr\n-A -t 10.9.0.7:80 -s rr\n"
		if own {
			want = "-A -t 10.9.0.1:80 -s rr\n"
		}
		if got := ipvsadmIn(t, e, "-S", "-n"); got != want {
			t.Errorf("OwnTable %v: table\n%s\nwant\n%s", own, got, want)
		}
		e.Close()
		if svcs, err := other.Services(); err != nil || len(svcs) != 1-btoi(own) {
			t.Errorf("OwnTable %v: after Close the kernel has %+v, %v", own, svcs, err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestKernelSyncer(t *testing.T) {
	e := newKernelEngine(t, Options{})
	if err := e.StartDaemon(engine.SyncDaemon{MCastIfn: "lo", SyncID: 5}); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(engine.SyncDaemon{Backup: true, MCastIfn: "lo", SyncID: 7, SyncMaxLen: 1000,
		MCastGroup: netip.MustParseAddr("224.0.0.82"), MCastPort: 8849, MCastTTL: 2}); err != nil {
		t.Fatal(err)
	}
	if err := e.StartDaemon(engine.SyncDaemon{MCastIfn: "lo", SyncID: 6}); !errors.Is(err, lb.ErrServiceExists) {
		t.Errorf("second master: %v", err)
	}
	ds, err := e.Daemons()
	if err != nil || len(ds) != 2 || ds[0].Backup || !ds[1].Backup || ds[1].MCastPort != 8849 || ds[0].MCastGroup != netip.MustParseAddr("224.0.0.81") {
		t.Errorf("Daemons = %+v, %v", ds, err)
	}
	t.Logf("daemons: %+v", ds)
	t.Logf("ipvsadm -L --daemon:\n%s", ipvsadmIn(t, e, "-L", "--daemon"))
	if err := e.StopDaemon(false); err != nil {
		t.Fatal(err)
	}
	if err := e.StopDaemon(false); !errors.Is(err, lb.ErrNoService) {
		t.Errorf("stopping a stopped master: %v", err)
	}
}

// TestKernelConns makes connections through a local service (client, director and real
// server are the namespace itself: IPVS schedules locally made connections in its
// LOCAL_OUT hook) and reads them back with Conns, persistence templates included.
func TestKernelConns(t *testing.T) {
	e := newKernelEngine(t, Options{})
	var l net.Listener
	if err := e.c.InNetNS(func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:18080"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	st := rules(t, "-A -t 127.0.0.1:18080 -s rr -p 300\n-a -t 127.0.0.1:18080 -r 127.0.0.1:18080 -g -w 1")
	st.Services[0].Reals[0].Forward = lb.Local
	if err := e.Apply(st); err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if err := e.c.InNetNS(func() (err error) { c, err = net.DialTimeout("tcp", "127.0.0.1:18080", 5*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	time.Sleep(200 * time.Millisecond)
	conns, err := e.Conns()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("conns: %+v", conns)
	t.Logf("ipvsadm -L -n -c:\n%s", ipvsadmIn(t, e, "-L", "-n", "-c"))
	var conn, tmpl bool
	for _, x := range conns {
		if x.Real == netip.MustParseAddrPort("127.0.0.1:18080") && x.Virtual == x.Real {
			if x.Template {
				tmpl = x.Client == netip.MustParseAddrPort("127.0.0.1:0") && x.State != ""
			} else {
				conn = x.Client.Addr() == netip.MustParseAddr("127.0.0.1") && x.State == "ESTABLISHED" && x.Expires > 0
			}
		}
	}
	if !conn || !tmpl {
		t.Errorf("want an ESTABLISHED connection and its template; got %+v", conns)
	}
	// The kernel counts the connection and the template against the real; it keeps no
	// traffic counters for connections to a Local real (ipvsadm --stats shows 0 too).
	cs, err := e.Counters()
	if err != nil || len(cs) != 1 || len(cs[0].Reals) != 1 || cs[0].Reals[0].Active != 1 || cs[0].Reals[0].Persist != 1 {
		t.Errorf("Counters after one connection: %+v, %v", cs, err)
	}
}
