package ipvs

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
)

// runIn runs a command in the namespace of client c, or skips the test when the program
// is not installed.
func runIn(t *testing.T, c *ipvsnl.Client, prog string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s is not installed", prog)
	}
	var out []byte
	err = c.InNetNS(func() (err error) {
		out, err = exec.Command(path, args...).CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
}

// TestKernelTraffic sends a NAT connection through the kernel and compares the engine's
// counters with what ipvsadm --stats --exact prints: the director's namespace (the
// engine's, also the client's) reaches a real server namespace over a veth pair:
//
//	[engine ns] 10.7.0.1 va ---- vb 10.7.0.2 [real ns], listening on :8080
//	VIP 10.9.9.9:80 routed via va, one masq real 10.7.0.2:8080
func TestKernelTraffic(t *testing.T) {
	e := newKernelEngine(t, Options{})
	realNS := kernelNetNS(t)
	rc, err := ipvsnl.Open(ipvsnl.Options{NetNSFD: int(realNS.Fd())})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	runIn(t, e.c, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	runIn(t, e.c, "ip", "link", "set", "vb", "netns", "/proc/"+strconv.Itoa(os.Getpid())+"/fd/"+strconv.Itoa(int(realNS.Fd())))
	runIn(t, e.c, "ip", "addr", "add", "10.7.0.1/24", "dev", "va")
	runIn(t, e.c, "ip", "link", "set", "va", "up")
	runIn(t, e.c, "ip", "route", "add", "10.9.9.0/24", "dev", "va")
	runIn(t, rc, "ip", "addr", "add", "10.7.0.2/24", "dev", "vb")
	runIn(t, rc, "ip", "link", "set", "vb", "up")

	var l net.Listener
	if err := rc.InNetNS(func() (err error) { l, err = net.Listen("tcp", "10.7.0.2:8080"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	if err := e.Apply(rules(t, "-A -t 10.9.9.9:80 -s rr\n-a -t 10.9.9.9:80 -r 10.7.0.2:8080 -m -w 1")); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	var c net.Conn
	if err := e.c.InNetNS(func() (err error) { c, err = net.DialTimeout("tcp", "10.9.9.9:80", 5*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go c.Write(make([]byte, n))
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatalf("echo through the VIP: %v", err)
	}
	c.Close()
	// The kernel sums its per-CPU counters into what it reports in the estimator's tick,
	// every 2 s (ip_vs_est.c): wait for the connection to show, then for the next tick.
	var cs []engine.ServiceCounters
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cs, err = e.Counters()
		if err != nil || len(cs) != 1 || len(cs[0].Reals) != 1 {
			t.Fatalf("Counters: %+v, %v", cs, err)
		}
		if cs[0].Stats.Conns != 0 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if cs, err = e.Counters(); err != nil {
		t.Fatal(err)
	}
	s := cs[0].Stats
	if s.Conns != 1 || s.InPkts == 0 || s.OutPkts == 0 || s.InBytes < n || s.OutBytes < n {
		t.Errorf("service counters after one %d-byte echo: %+v", n, s)
	}
	if r := cs[0].Reals[0]; r.Stats != s {
		t.Errorf("the only real counts %+v, the service %+v", r.Stats, s)
	}
	out := ipvsadmIn(t, e, "-L", "-n", "--stats", "--exact")
	t.Logf("ipvsadm -L -n --stats --exact:\n%s", out)
	want := []uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes}
	sc := bufio.NewScanner(strings.NewReader(out))
	found := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 7 || !strings.Contains(f[1], "10.") {
			continue
		}
		found++
		for i, w := range want {
			if got, _ := strconv.ParseUint(f[2+i], 10, 64); got != w {
				t.Errorf("ipvsadm %q column %d = %d, engine says %d", sc.Text(), i, got, w)
			}
		}
	}
	if found != 2 {
		t.Errorf("ipvsadm listed %d service and real lines, want 2", found)
	}
	if err := e.Zero(nil); err != nil {
		t.Fatal(err)
	}
	if cs, _ := e.Counters(); cs[0].Stats.Conns != 0 || cs[0].Reals[0].Stats.InBytes != 0 {
		t.Errorf("after Zero: %+v", cs)
	}
}
