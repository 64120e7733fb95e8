// Package vrrp runs lvsd's VRRP against keepalived 2.2.7 in network namespaces the tests
// create: a switch namespace with a bridge, two or three director namespaces (eth0 on the
// bridge, 10.99.0.N/24), a client namespace (10.99.0.10) and, for the proxy case, a real
// server (10.99.0.20). The VIP is 10.99.0.100/24. Each director runs a TCP server on port
// 7000 that answers its name, so the client sees who holds the VIP. The tests skip
// unless they run as root with keepalived installed; every process they start is killed
// and every namespace deleted when they end, and every wait is bounded.
package vrrp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nstest"
	"github.com/golvs/golvs/internal/nsutil"
	"github.com/golvs/golvs/internal/vip"
)

// build holds lvsd, built once for the package by the first test that needs it.
var build struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// lvsdBin builds lvsd (once) and returns its path.
func lvsdBin(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "golvs-vrrp"); build.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", build.dir+"/", "../../cmd/lvsd").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("building lvsd: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return filepath.Join(build.dir, "lvsd")
}

const (
	vipAddr  = "10.99.0.100"
	vipCIDR  = vipAddr + "/24"
	echoPort = 7000
)

var theVIP = config.VIP{Prefix: netip.MustParsePrefix(vipCIDR), Dev: "eth0"}

// node is a namespace on the bridge.
type node struct {
	t    *testing.T
	name string // d1, d2, d3, client, rs
	ns   *nstest.NS
	ip   netip.Addr
	mac  string
	port string // its bridge port in the switch namespace
	vips *vip.Manager
}

// topo is the lab of one test.
type topo struct {
	t      *testing.T
	lab    *nstest.Lab
	sw     *nstest.NS
	dirs   []*node
	client *node
	rs     *node
}

// newTopo builds the switch, n directors with their echo servers, and the client.
func newTopo(t *testing.T, n int) *topo {
	t.Helper()
	nstest.Require(t, "keepalived")
	lab := nstest.New(t, "vrrp")
	tp := &topo{t: t, lab: lab, sw: lab.NS()}
	tp.sw.Bridge("br0")
	for i := 1; i <= n; i++ {
		d := tp.attach(fmt.Sprintf("d%d", i), fmt.Sprintf("10.99.0.%d", i))
		d.echo()
		tp.dirs = append(tp.dirs, d)
	}
	tp.client = tp.attach("client", "10.99.0.10")
	return tp
}

// attach makes a namespace with eth0 on the bridge at addr/24.
func (tp *topo) attach(name, addr string) *node {
	tp.t.Helper()
	ns := tp.lab.NS()
	port := "p" + name
	nstest.Veth(ns, "eth0", tp.sw, port)
	tp.sw.IP("link", "set", port, "master", "br0")
	ns.IP("addr", "add", addr+"/24", "dev", "eth0")
	ns.WaitUp("eth0")
	tp.sw.WaitUp(port)
	vm, err := vip.NewManager(ns.Handle)
	if err != nil {
		tp.t.Fatal(err)
	}
	tp.t.Cleanup(func() { vm.Close() })
	return &node{t: tp.t, name: name, ns: ns, ip: netip.MustParseAddr(addr), mac: ns.Link("eth0").Address, port: port, vips: vm}
}

// echo serves the node's name on port 7000, on every address (so on the VIP once the
// node holds it).
func (n *node) echo() {
	n.t.Helper()
	var ln net.Listener
	err := nsutil.Run(n.ns.Handle, func() error {
		var err error
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", echoPort))
		return err
	})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, n.name)
			c.Close()
		}
	}()
}

// hasVIP reports whether the VIP is on the node's eth0.
func (n *node) hasVIP() bool {
	n.t.Helper()
	ok, err := n.vips.Has(theVIP)
	if err != nil {
		n.t.Fatal(err)
	}
	return ok
}

// unplug and plug take the node's cable out of the switch and back.
func (tp *topo) unplug(n *node) { tp.sw.IP("link", "set", n.port, "down") }

// holders lists the directors that have the VIP.
func (tp *topo) holders() []string {
	var out []string
	for _, d := range tp.dirs {
		if d.hasVIP() {
			out = append(out, d.name)
		}
	}
	return out
}

// waitHolder waits (bounded) until exactly want holds the VIP.
func (tp *topo) waitHolder(want *node, within time.Duration, why string, ds ...*daemon) {
	tp.t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := tp.holders()
		if len(h) == 1 && h[0] == want.name {
			return
		}
		if time.Now().After(deadline) {
			tp.t.Fatalf("%s: VIP on %v, want only %s after %v%s", why, h, want.name, within, logs(ds...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled waits (at most within) until one director alone has held the VIP for window,
// and returns it.
func (tp *topo) settled(within, window time.Duration, ds ...*daemon) *node {
	tp.t.Helper()
	deadline := time.Now().Add(within + window)
	var last string
	var since time.Time
	for {
		h := tp.holders()
		cur := strings.Join(h, ",")
		if cur != last {
			last, since = cur, time.Now()
		}
		if len(h) == 1 && time.Since(since) >= window {
			for _, d := range tp.dirs {
				if d.name == h[0] {
					return d
				}
			}
		}
		if time.Now().After(deadline) {
			tp.t.Fatalf("no single master for %v: VIP on %v%s", window, h, logs(ds...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stable checks that exactly want holds the VIP for the whole of d.
func (tp *topo) stable(want []string, d time.Duration, why string, ds ...*daemon) {
	tp.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if h := strings.Join(tp.holders(), ","); h != strings.Join(want, ",") {
			tp.t.Fatalf("%s: VIP on [%s], want [%s]%s", why, h, strings.Join(want, ","), logs(ds...))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ask connects from the client to the VIP's echo port and returns who answered ("" if
// nobody did within timeout).
func (tp *topo) ask(timeout time.Duration) string {
	var name string
	_ = nsutil.Run(tp.client.ns.Handle, func() error {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", vipAddr, echoPort), timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		name = strings.TrimSpace(line)
		return err
	})
	return name
}

// waitAnswer waits (bounded) until the client reaches want through the VIP.
func (tp *topo) waitAnswer(want *node, within time.Duration, ds ...*daemon) {
	tp.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := tp.ask(200 * time.Millisecond)
		if got == want.name {
			return
		}
		if time.Now().After(deadline) {
			tp.t.Fatalf("client reaches %q through the VIP, want %s%s", got, want.name, logs(ds...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// neighbour is the client's neighbour entry (MAC) for the VIP, "" if none.
func (tp *topo) neighbour() string {
	var out []struct {
		LLAddr string `json:"lladdr"`
	}
	tp.client.ns.JSON(&out, "neigh", "show", vipAddr, "dev", "eth0")
	if len(out) == 0 {
		return ""
	}
	return out[0].LLAddr
}

// waitNeighbour waits until the client's neighbour entry for the VIP is n's MAC.
func (tp *topo) waitNeighbour(n *node, within time.Duration) {
	tp.t.Helper()
	deadline := time.Now().Add(within)
	for tp.neighbour() != n.mac {
		if time.Now().After(deadline) {
			tp.t.Fatalf("client's neighbour entry for %s is %q, want %s's %s", vipAddr, tp.neighbour(), n.name, n.mac)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failoverTimes measures a takeover by want from t0: when the VIP appeared on it and when
// the client's traffic reached it.
type failoverTimes struct{ vip, traffic time.Duration }

// measure polls the VIP on want and the client's answers concurrently, from t0 (the
// moment the old master died) until both happened (bounded by within). Four clients
// dial with 20 ms timeouts, staggered, so the traffic figure is good to about 5 ms.
func (tp *topo) measure(t0 time.Time, want *node, within time.Duration, ds ...*daemon) failoverTimes {
	tp.t.Helper()
	var mu sync.Mutex
	var ft failoverTimes
	var wg sync.WaitGroup
	deadline := t0.Add(within)
	wg.Go(func() {
		for time.Now().Before(deadline) {
			if ok, _ := want.vips.Has(theVIP); ok {
				mu.Lock()
				ft.vip = time.Since(t0)
				mu.Unlock()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	done := make(chan struct{})
	var once sync.Once
	for i := range 4 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			for time.Now().Before(deadline) {
				select {
				case <-done:
					return
				default:
				}
				if tp.ask(20*time.Millisecond) == want.name {
					once.Do(func() {
						mu.Lock()
						ft.traffic = time.Since(t0)
						mu.Unlock()
						close(done)
					})
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if ft.vip == 0 || ft.traffic == 0 {
		tp.t.Fatalf("takeover by %s not complete after %v: VIP %v, traffic %v%s", want.name, within, ft.vip, ft.traffic, logs(ds...))
	}
	return ft
}

// daemon is lvsd or keepalived running in a director namespace.
type daemon struct {
	t      *testing.T
	kind   string // "lvsd" or "keepalived"
	node   *node
	conf   string
	dir    string
	proc   *nstest.Proc
	socket string
	runs   int
}

// start runs kind ("lvsd" or "keepalived") on n with the configuration text conf.
func (tp *topo) start(kind string, n *node, conf string) *daemon {
	tp.t.Helper()
	dir := tp.t.TempDir()
	d := &daemon{t: tp.t, kind: kind, node: n, dir: dir, conf: filepath.Join(dir, "keepalived.conf")}
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		tp.t.Fatal(err)
	}
	d.run()
	return d
}

// run starts the daemon's process (again).
func (d *daemon) run() {
	d.t.Helper()
	switch d.kind {
	case "lvsd":
		d.socket = filepath.Join(d.dir, "lvsd.sock")
		os.Remove(d.socket)
		d.proc = d.node.ns.Start(lvsdBin(d.t), "-f", d.conf, "--socket", d.socket, "--log-level", "debug")
		// Started: the API answers and every instance has left INIT (so leftover VIPs
		// are gone, as keepalived's are once it logs its first state).
		deadline := time.Now().Add(10 * time.Second)
		for !d.started() {
			if time.Now().After(deadline) {
				d.t.Fatalf("lvsd on %s did not start:\n%s", d.node.name, d.proc.Output())
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "keepalived":
		// --vrrp -n (no fork) -l (log to the console) -D (details), its pid files here,
		// new ones for each start: keepalived refuses to start while the process of a
		// pid file exists, and a killed VRRP child stays a zombie where nothing reaps
		// orphans (as in containers whose init does not).
		d.runs++
		pid := func(name string) string { return filepath.Join(d.dir, fmt.Sprintf("%s-%d.pid", name, d.runs)) }
		d.proc = d.node.ns.Start("keepalived", "-P", "-n", "-l", "-D", "-f", d.conf,
			"-p", pid("keepalived"), "-r", pid("vrrp"), "-c", pid("checkers"))
		if !d.proc.WaitOutput(" STATE", 10*time.Second) {
			d.t.Fatalf("keepalived on %s did not start:\n%s", d.node.name, d.proc.Output())
		}
	default:
		d.t.Fatalf("unknown daemon %q", d.kind)
	}
}

// started reports whether lvsd's API answers with every VRRP instance out of INIT.
func (d *daemon) started() bool {
	c, err := net.Dial("unix", d.socket)
	if err != nil {
		return false
	}
	c.Close()
	st := d.status()
	for _, in := range st.Instances {
		if in.State == "INIT" {
			return false
		}
	}
	return len(st.Instances) > 0
}

// kill ends the daemon with SIGKILL (its whole process group: keepalived's VRRP child
// would otherwise get SIGTERM from its dying parent and shut down cleanly).
func (d *daemon) kill() { d.proc.Stop() }

// term ends the daemon with SIGTERM (a clean stop) and waits for it (at most 10 s).
func (d *daemon) term() {
	d.t.Helper()
	if err := d.proc.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	if done, _ := d.proc.Wait(10 * time.Second); !done {
		d.t.Fatalf("%s on %s did not stop on SIGTERM:\n%s", d.kind, d.node.name, d.proc.Output())
	}
}

// vrrpStatus is lvsd's GET /v1/vrrp.
type vrrpStatus struct {
	Instances []struct {
		Name           string
		State          string
		Priority       int
		MasterAddr     string
		MasterPriority int
		Counters       struct {
			Received, Sent, BecomeMaster, ReleaseMaster uint64
			Ignored                                     map[string]uint64
		}
	}
}

// status reads lvsd's VRRP status.
func (d *daemon) status() vrrpStatus {
	d.t.Helper()
	var st vrrpStatus
	d.api("/v1/vrrp", &st)
	return st
}

// api GETs path from lvsd's socket and decodes the JSON into v.
func (d *daemon) api(path string, v any) {
	d.t.Helper()
	if d.kind != "lvsd" {
		d.t.Fatalf("%s has no API", d.kind)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
		}}}
	resp, err := c.Get("http://lvsd" + path)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// logs formats the output of daemons for a failure message.
func logs(ds ...*daemon) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "\n--- %s on %s:\n%s", d.kind, d.node.name, tail(d.proc.Output(), 60))
	}
	return b.String()
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// other returns the kind that is not k.
func other(k string) string {
	if k == "lvsd" {
		return "keepalived"
	}
	return "lvsd"
}
