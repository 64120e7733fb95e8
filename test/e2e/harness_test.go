// Package e2e runs lvsd and lvsadm as binaries, the way operators do, against real TCP
// backends on loopback: 127.1.0.0/16 holds VIPs, 127.2.0.0/16 real servers and
// 127.3.0.0/16 client source addresses (all of 127.0.0.0/8 is local on Linux, no setup and
// no privileges needed). Every server and client is started by the test and bounded.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bin holds the binaries built once for the whole package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "golvs-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "../../cmd/lvsd", "../../cmd/lvsadm").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building lvsd and lvsadm: %v\n%s", err, out)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// director is one running lvsd.
type director struct {
	t      *testing.T
	socket string
	cmd    *exec.Cmd
	log    *bytes.Buffer
}

// startLvsd runs lvsd with extra flags; its socket is in a test temp dir and it saves no
// state unless the flags say where.
func startLvsd(t *testing.T, flags ...string) *director {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "lvsd.sock")
	args := append([]string{"--socket", socket}, flags...)
	if !strings.Contains(strings.Join(flags, " "), "--state") {
		args = append(args, "--no-state")
	}
	d := &director{t: t, socket: socket, log: &bytes.Buffer{}}
	d.cmd = exec.Command(filepath.Join(bin, "lvsd"), args...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("lvsd did not open its socket; log:\n%s", d.log)
	return nil
}

// stop ends lvsd with SIGTERM and waits for it.
func (d *director) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
		d.t.Errorf("lvsd did not stop on SIGINT; log:\n%s", d.log)
	}
}

// result of one lvsadm run.
type result struct {
	stdout, stderr string
	status         int
}

// lvsadm runs lvsadm against d with the given ipvsadm arguments (one string, split on
// spaces, as a shell would) and stdin.
func (d *director) lvsadmIn(stdin string, args string) result {
	d.t.Helper()
	return runTool(d.t, filepath.Join(bin, "lvsadm"), d.socket, stdin, strings.Fields(args))
}

func (d *director) lvsadm(args string) result { return d.lvsadmIn("", args) }

// ok runs lvsadm and fails the test unless it succeeds.
func (d *director) ok(args string) string {
	d.t.Helper()
	r := d.lvsadm(args)
	if r.status != 0 {
		d.t.Fatalf("lvsadm %s: exit %d\n%s%s", args, r.status, r.stdout, r.stderr)
	}
	return r.stdout
}

// runTool runs the program at path with args, $LVSD_SOCKET set to socket.
func runTool(t *testing.T, path, socket, stdin string, args []string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LVSD_SOCKET="+socket)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", path, args, err)
	}
	return result{out.String(), errb.String(), status}
}

// backend is a real server: HTTP on addr, answering its name.
type backend struct {
	name string
	addr netip.AddrPort
	// healthy decides what GET /health answers: 200, or 503 when false.
	healthy *atomic.Bool
}

// startBackends starts n HTTP servers on 127.2.0.(base+i):port answering "rsI".
func startBackends(t *testing.T, base byte, port uint16, n int) []backend {
	t.Helper()
	var out []backend
	for i := 1; i <= n; i++ {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 2, 0, base + byte(i)}), port)
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("rs%d", i)
		healthy := new(atomic.Bool)
		healthy.Store(true)
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				if !healthy.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
				fmt.Fprintln(w, name)
				return
			}
			if r.URL.Path == "/hold" {
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			fmt.Fprintf(w, "%s saw %s", name, r.RemoteAddr)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		out = append(out, backend{name, addr, healthy})
	}
	return out
}

// get makes one HTTP request to vip from source address src (no keep-alive) and returns the
// name of the real server that answered, or "ERR: ..." when none did.
func get(t *testing.T, src netip.Addr, vip netip.AddrPort) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get("http://" + vip.String() + "/")
	if err != nil {
		return "ERR: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	name, _, _ := strings.Cut(string(b), " ")
	return name
}

func ip(s string) netip.Addr     { return netip.MustParseAddr(s) }
func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func client(n byte) netip.Addr   { return netip.AddrFrom4([4]byte{127, 3, 0, n}) }
func seq(names ...string) string { return strings.Join(names, " ") }
func gets(t *testing.T, n int, src netip.Addr, vip netip.AddrPort) string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, get(t, src, vip))
	}
	return seq(out...)
}
