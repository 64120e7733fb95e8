// Package nstest builds throw-away network labs for privileged tests: network namespaces,
// veth pairs and bridges made with iproute2, and background processes run inside them,
// all removed when the test ends.
//
// Every name it creates carries the test binary's process id (golvs-TAG-PID-N), so
// packages tested in parallel never collide, and every interface is created inside a
// namespace of the lab, never in the host's namespace. Tests call New, which skips the
// test unless it runs as root with the ip command available.
package nstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// cmdTimeout bounds every iproute2 command a lab runs.
const cmdTimeout = 20 * time.Second

// Require skips t unless the test runs as root and every named tool is in PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s in PATH", tool)
		}
	}
}

// Lab hands out namespaces for one test.
type Lab struct {
	t   testing.TB
	tag string

	mu sync.Mutex
	n  int // last number tried in a namespace name; guarded by mu
}

// New returns a lab whose namespaces are named golvs-TAG-PID-N. It skips t unless root
// and iproute2 are available.
func New(t testing.TB, tag string) *Lab {
	t.Helper()
	Require(t, "ip")
	return &Lab{t: t, tag: tag}
}

// NS is a network namespace made by a Lab.
type NS struct {
	t testing.TB
	// Name is the namespace's name under /run/netns.
	Name string
	// Handle is an open handle on the namespace, closed when the test ends.
	Handle netns.NsHandle
}

// NS creates a namespace with its loopback interface up and IPv6 duplicate address
// detection off (so link-local addresses are usable at once), and deletes it when the
// test ends, after the processes and handles registered later are gone.
func (l *Lab) NS() *NS {
	l.t.Helper()
	name := l.add()
	l.t.Cleanup(func() {
		if out, err := command("ip", "netns", "del", name); err != nil {
			l.t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		l.t.Fatalf("open namespace %s: %v", name, err)
	}
	l.t.Cleanup(func() { _ = h.Close() })
	ns := &NS{t: l.t, Name: name, Handle: h}
	ns.IP("link", "set", "lo", "up")
	ns.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	ns.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	return ns
}

// add creates a namespace with the next free name. Several labs in one process (tests,
// subtests) share the name space, so a name that exists already is skipped; "ip netns
// add" refuses existing names, which makes this safe without shared state.
func (l *Lab) add() string {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for tries := 0; tries < 1000; tries++ {
		l.n++
		name := fmt.Sprintf("golvs-%s-%d-%d", l.tag, os.Getpid(), l.n)
		if _, err := os.Stat("/run/netns/" + name); err == nil {
			continue
		}
		out, err := command("ip", "netns", "add", name)
		if err == nil {
			return name
		}
		if !strings.Contains(out, "exists") {
			l.t.Fatalf("ip netns add %s: %v: %s", name, err, out)
		}
	}
	l.t.Fatalf("no free namespace name for golvs-%s-%d-N", l.tag, os.Getpid())
	return ""
}

// IP runs "ip -n NAME ARGS..." and returns its standard output; it fails the test on error.
func (n *NS) IP(args ...string) string {
	n.t.Helper()
	return run(n.t, "ip", append([]string{"-n", n.Name}, args...)...)
}

// JSON runs "ip -n NAME -j ARGS..." and decodes its output into v.
func (n *NS) JSON(v any, args ...string) {
	n.t.Helper()
	out := n.IP(append([]string{"-j"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("ip -n %s -j %s: decode %q: %v", n.Name, strings.Join(args, " "), out, err)
	}
}

// Exec runs a command inside the namespace and returns its combined output.
func (n *NS) Exec(args ...string) (string, error) {
	return command("ip", append([]string{"netns", "exec", n.Name}, args...)...)
}

// Sysctl sets a sysctl inside the namespace (net.* keys are per namespace).
func (n *NS) Sysctl(key, value string) {
	n.t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if out, err := n.Exec("sh", "-c", fmt.Sprintf("echo %s > %s", value, path)); err != nil {
		n.t.Fatalf("sysctl %s=%s in %s: %v: %s", key, value, n.Name, err, out)
	}
}

// Link describes an interface as "ip -j link" reports it.
type Link struct {
	Index     int      `json:"ifindex"`
	Name      string   `json:"ifname"`
	Address   string   `json:"address"`
	Flags     []string `json:"flags"`
	OperState string   `json:"operstate"`
}

// Link returns the interface called name.
func (n *NS) Link(name string) Link {
	n.t.Helper()
	var links []Link
	n.JSON(&links, "link", "show", "dev", name)
	if len(links) != 1 {
		n.t.Fatalf("ip -n %s link show dev %s: %d links", n.Name, name, len(links))
	}
	return links[0]
}

// Veth creates a veth pair, aName in a and bName in b, and sets both ends up. The pair
// disappears with its namespaces.
func Veth(a *NS, aName string, b *NS, bName string) {
	a.t.Helper()
	a.IP("link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.IP("link", "set", aName, "up")
	b.IP("link", "set", bName, "up")
}

// WaitUp waits (at most 5 s) until the interface's operational state is UP and, if it
// is a bridge port, until the port forwards; it fails the test otherwise. A bridge and
// its ports take a moment after creation before frames pass.
func (n *NS) WaitUp(name string) {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var links []struct {
			OperState string `json:"operstate"`
			LinkInfo  struct {
				SlaveKind string `json:"info_slave_kind"`
				SlaveData struct {
					State string `json:"state"`
				} `json:"info_slave_data"`
			} `json:"linkinfo"`
		}
		n.JSON(&links, "-d", "link", "show", "dev", name)
		if len(links) == 1 && links[0].OperState == "UP" &&
			(links[0].LinkInfo.SlaveKind != "bridge" || links[0].LinkInfo.SlaveData.State == "forwarding") {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s in %s not up after 5 s: %+v", name, n.Name, links)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Bridge creates a bridge called name in n and sets it up.
func (n *NS) Bridge(name string) {
	n.t.Helper()
	n.IP("link", "add", name, "type", "bridge")
	n.IP("link", "set", name, "up")
}

// Proc is a background process started in a namespace.
type Proc struct {
	cmd    *exec.Cmd
	done   chan struct{}
	out    *syncBuffer
	waitMu sync.Mutex
	err    error
}

// Start runs a command inside the namespace in the background, in its own process
// group. It is killed (the whole group) when the test ends, if it has not exited.
// Output (stdout and stderr together) is available from Output.
func (n *NS) Start(args ...string) *Proc {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{cmd: cmd, done: make(chan struct{}), out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start %s in %s: %v", strings.Join(args, " "), n.Name, err)
	}
	go func() {
		err := cmd.Wait()
		p.waitMu.Lock()
		p.err = err
		p.waitMu.Unlock()
		close(p.done)
	}()
	n.t.Cleanup(p.Stop)
	return p
}

// Stop kills the process group and waits for the process to exit.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Signal sends sig to the process (not its group: a daemon that forwards signals to its
// children, as keepalived does, shuts them down itself). It does nothing once the process
// has exited.
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	return p.cmd.Process.Signal(sig)
}

// Wait waits up to d for the process to exit and reports whether it did, with its error.
func (p *Proc) Wait(d time.Duration) (bool, error) {
	select {
	case <-p.done:
		p.waitMu.Lock()
		defer p.waitMu.Unlock()
		return true, p.err
	case <-time.After(d):
		return false, nil
	}
}

// Output is what the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitOutput waits up to d for the output to contain s and reports whether it did.
func (p *Proc) WaitOutput(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.Output(), s) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.Output(), s)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := command(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return out
}
