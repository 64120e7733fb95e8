package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// keepalivedConf is a keepalived.conf for one NAT virtual service on loopback with HTTP_GET
// checks every second, one try (retry 0), and a sorry server.
func keepalivedConf(vip string, rs []backend, sorry backend, weights []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id e2e\n}\n\nvirtual_server %s %d {\n", strings.ReplaceAll(ap(vip).Addr().String(), ":", ""), ap(vip).Port())
	b.WriteString("    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
	fmt.Fprintf(&b, "    sorry_server %s %d\n", sorry.addr.Addr(), sorry.addr.Port())
	for i, r := range rs {
		fmt.Fprintf(&b, "    real_server %s %d {\n        weight %d\n", r.addr.Addr(), r.addr.Port(), weights[i])
		b.WriteString("        HTTP_GET {\n            url {\n                path /health\n                status_code 200\n            }\n")
		b.WriteString("            connect_timeout 1\n            retry 0\n            delay_before_retry 1\n        }\n    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// waitList polls lvsadm -L -n until cond holds (at most 20 s: a check every second).
func (d *director) waitList(what string, cond func(list string) bool) string {
	d.t.Helper()
	var list string
	for i := 0; i < 200; i++ {
		list = d.ok("-L -n")
		if cond(list) {
			return list
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("waiting for %s; table:\n%s\nlvsd log:\n%s", what, list, d.log)
	return ""
}

func has(list string, b backend, weight int) bool {
	return strings.Contains(list, fmt.Sprintf("  -> %-28s Masq    %-6d", b.addr, weight))
}

func TestKeepalivedHealthChecks(t *testing.T) {
	rs := startBackends(t, 70, 8080, 3)
	reals, sorry := rs[:2], rs[2]
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(conf, []byte(keepalivedConf("127.1.0.20:8080", reals, sorry, []int{1, 2})), 0o600)

	// lvsd -t, like keepalived -t
	if r := runTool(t, filepath.Join(bin, "lvsd"), "", "", []string{"-t", "-f", conf}); r.status != 0 {
		t.Fatalf("lvsd -t on a good file: exit %d\n%s", r.status, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("virtual_server 127.1.0.21 8080 {\n    lb_algo nosuch\n    frobnicate 3\n}\n"), 0o600)
	if r := runTool(t, filepath.Join(bin, "lvsd"), "", "", []string{"-t", "-f", bad}); r.status != 1 || !strings.Contains(r.stderr, "bad.conf:3") {
		t.Fatalf("lvsd -t on a bad file: exit %d\n%s", r.status, r.stderr)
	}

	d := startLvsd(t, "-f", conf)
	vip := ap("127.1.0.20:8080")
	d.waitList("both reals up", func(l string) bool { return has(l, reals[0], 1) && has(l, reals[1], 2) })

	// a real fails its check: it leaves the table, traffic goes to the other
	reals[0].healthy.Store(false)
	d.waitList("rs1 removed", func(l string) bool { return !strings.Contains(l, reals[0].addr.String()) })
	if got := gets(t, 4, client(20), vip); got != "rs2 rs2 rs2 rs2" {
		t.Fatalf("with rs1 down: %s", got)
	}
	// every real fails: the sorry server takes over
	reals[1].healthy.Store(false)
	d.waitList("sorry server in", func(l string) bool { return has(l, sorry, 1) && !strings.Contains(l, reals[1].addr.String()) })
	if got := gets(t, 2, client(20), vip); got != "rs3 rs3" {
		t.Fatalf("with every real down: %s", got)
	}
	// recovery: the real comes back with its configured weight, the sorry server leaves
	reals[1].healthy.Store(true)
	d.waitList("rs2 back, sorry out", func(l string) bool { return has(l, reals[1], 2) && !strings.Contains(l, sorry.addr.String()) })
	reals[0].healthy.Store(true)
	d.waitList("rs1 back", func(l string) bool { return has(l, reals[0], 1) })

	// a long-lived connection to rs1 survives a reload that changes rs2 only
	c, first := keepAliveGet(t, vip, nil)
	defer c.Close()
	os.WriteFile(conf, []byte(keepalivedConf("127.1.0.20:8080", reals, sorry, []int{1, 5})), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitList("rs2 at weight 5", func(l string) bool { return has(l, reals[1], 5) && has(l, reals[0], 1) })
	if _, again := keepAliveGet(t, vip, c); again != first {
		t.Fatalf("the open connection moved from %s to %s across the reload", first, again)
	}

	// a broken file on reload changes nothing
	before := d.ok("-S -n")
	os.WriteFile(conf, []byte("virtual_server 127.1.0.20 8080 {\n    lb_algo\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(1500 * time.Millisecond)
	if after := d.ok("-S -n"); after != before {
		t.Fatalf("a broken reload changed the table:\n%s\nwas\n%s", after, before)
	}
	if !strings.Contains(d.log.String(), "reload refused") {
		t.Fatalf("the log does not say the reload was refused:\n%s", d.log)
	}
	// the health of every real is in the API
	if r := healthJSON(t, d.socket); !strings.Contains(r, `"127.2.0.72:8080"`) {
		t.Fatalf("/v1/health: %s", r)
	}
}

// keepAliveGet sends GET / on c (a new keep-alive connection to vip when c is nil) and
// returns the connection and the name of the real that answered.
func keepAliveGet(t *testing.T, vip interface{ String() string }, c net.Conn) (net.Conn, string) {
	t.Helper()
	if c == nil {
		var err error
		if c, err = net.Dial("tcp", vip.String()); err != nil {
			t.Fatal(err)
		}
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: e2e\r\n\r\n")
	req, _ := http.NewRequest("GET", "/", nil)
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("keep-alive request: %v", err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&body)
	name, _, _ := strings.Cut(body.String(), " ")
	return c, name
}

func healthJSON(t *testing.T, socket string) string {
	t.Helper()
	out, err := exec.Command("curl", "-s", "--unix-socket", socket, "http://lvsd/v1/health").Output()
	if err != nil {
		t.Skipf("curl: %v", err)
	}
	return string(out)
}

// ldirectordConf is an ldirectord.cf for one masq virtual service on loopback with
// negotiate HTTP checks every second and a fallback server, reloaded when it changes.
func ldirectordConf(vip string, rs []backend, fallback backend, weights []int) string {
	var b strings.Builder
	b.WriteString("checkinterval=1\nchecktimeout=1\nautoreload=yes\nquiescent=no\n")
	fmt.Fprintf(&b, "virtual=%s\n", vip)
	for i, r := range rs {
		fmt.Fprintf(&b, "\treal=%s masq %d\n", r.addr, weights[i])
	}
	fmt.Fprintf(&b, "\tfallback=%s masq\n", fallback.addr)
	b.WriteString("\tservice=http\n\tscheduler=wrr\n\tprotocol=tcp\n\tchecktype=negotiate\n")
	b.WriteString("\trequest=\"health\"\n\treceive=\"^rs[0-9]\"\n")
	return b.String()
}

func TestLdirectordHealthChecks(t *testing.T) {
	rs := startBackends(t, 80, 8080, 3)
	reals, fallback := rs[:2], rs[2]
	conf := filepath.Join(t.TempDir(), "ldirectord.cf")
	os.WriteFile(conf, []byte(ldirectordConf("127.1.0.30:8080", reals, fallback, []int{1, 2})), 0o600)
	if r := runTool(t, filepath.Join(bin, "lvsd"), "", "", []string{"-t", "--ldirectord", conf}); r.status != 0 {
		t.Fatalf("lvsd -t --ldirectord on a good file: exit %d\n%s", r.status, r.stderr)
	}

	d := startLvsd(t, "--ldirectord", conf)
	vip := ap("127.1.0.30:8080")
	d.waitList("both reals up", func(l string) bool { return has(l, reals[0], 1) && has(l, reals[1], 2) })
	// wrr with weights 1 and 2 has a period of three picks: six in a row are two and four
	if got := gets(t, 6, client(30), vip); strings.Count(got, "rs1") != 2 || strings.Count(got, "rs2") != 4 {
		t.Fatalf("wrr 1:2 over six requests: %s", got)
	}

	// quiescent=no: a failing real leaves the table
	reals[0].healthy.Store(false)
	d.waitList("rs1 removed", func(l string) bool { return !strings.Contains(l, reals[0].addr.String()) })
	// every real down: the fallback server serves
	reals[1].healthy.Store(false)
	d.waitList("fallback in", func(l string) bool { return has(l, fallback, 1) && !strings.Contains(l, reals[1].addr.String()) })
	if got := gets(t, 2, client(30), vip); got != "rs3 rs3" {
		t.Fatalf("with every real down: %s", got)
	}
	reals[0].healthy.Store(true)
	reals[1].healthy.Store(true)
	d.waitList("reals back, fallback out", func(l string) bool {
		return has(l, reals[0], 1) && has(l, reals[1], 2) && !strings.Contains(l, fallback.addr.String())
	})

	// autoreload=yes: an edited file is picked up without a signal
	os.WriteFile(conf, []byte(ldirectordConf("127.1.0.30:8080", reals, fallback, []int{1, 7})), 0o600)
	d.waitList("rs2 at weight 7", func(l string) bool { return has(l, reals[1], 7) })
}
