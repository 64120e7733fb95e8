package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The LVS tutorials' command sequences, run verbatim through lvsadm against lvsd with the
// proxy engine, addresses moved to loopback (VIP 192.168.1.231 -> 127.1.0.x, reals
// 192.168.1.10x -> 127.2.0.x) and -g/-i turned into -m (the proxy engine is a NAT).

func TestSeedNATRoundRobin(t *testing.T) {
	d := startLvsd(t)
	rs := startBackends(t, 10, 8080, 3)
	vip := ap("127.1.0.1:8080")
	d.ok("-A -t 127.1.0.1:8080 -s rr")
	for _, r := range rs {
		d.ok(fmt.Sprintf("-a -t 127.1.0.1:8080 -r %s -m", r.addr))
	}
	// the kernel's list is newest first, so rr starts with the last real added
	if got, want := gets(t, 6, client(1), vip), "rs3 rs2 rs1 rs3 rs2 rs1"; got != want {
		t.Fatalf("rr sequence %q, want %q", got, want)
	}
	want := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  127.1.0.1:8080 rr
  -> 127.2.0.11:8080              Masq    1      0          2         
  -> 127.2.0.12:8080              Masq    1      0          2         
  -> 127.2.0.13:8080              Masq    1      0          2         
`
	if got := d.ok("-L -n"); got != want {
		t.Fatalf("-L -n:\n%s\nwant:\n%s", got, want)
	}
	stats := d.ok("-L -n --stats")
	if !regexp.MustCompile(`(?m)^TCP  127\.1\.0\.1:8080 +6 `).MatchString(stats) ||
		len(regexp.MustCompile(`(?m)^  -> 127\.2\.0\.1[123]:8080 +2 `).FindAllString(stats, -1)) != 3 {
		t.Fatalf("--stats after 6 connections:\n%s", stats)
	}
	// the same listing through a link named ipvsadm
	link := filepath.Join(t.TempDir(), "ipvsadm")
	if err := os.Symlink(filepath.Join(bin, "lvsadm"), link); err != nil {
		t.Fatal(err)
	}
	r := runTool(t, link, d.socket, "", []string{"-L", "-n"})
	if r.status != 0 || r.stdout != want {
		t.Fatalf("as ipvsadm: exit %d\n%s%s", r.status, r.stdout, r.stderr)
	}
}

func TestSeedWRROneAndThree(t *testing.T) {
	d := startLvsd(t)
	rs := startBackends(t, 20, 8080, 2)
	d.ok("-A -t 127.1.0.2:8080 -s wrr")
	d.ok(fmt.Sprintf("-a -t 127.1.0.2:8080 -r %s -m -w 1", rs[0].addr))
	d.ok(fmt.Sprintf("-a -t 127.1.0.2:8080 -r %s -m -w 3", rs[1].addr))
	// the real kernel's sequence for these commands: testdata/kernel/sched-extra-wrr.txt,
	// scenario weights-1-3 (reals added one by one keep cw at 1 for the first pass)
	want := "rs2 rs1 rs2 rs2 rs2 rs1 rs2 rs2"
	if got := gets(t, 8, client(2), ap("127.1.0.2:8080")); got != want {
		t.Fatalf("wrr 1:3 sequence %q, want the kernel's %q", got, want)
	}
}

func TestSeedPersistence(t *testing.T) {
	d := startLvsd(t)
	rs := startBackends(t, 30, 8080, 3)
	d.ok("-A -t 127.1.0.3:8080 -s rr -p 600")
	for _, r := range rs {
		d.ok(fmt.Sprintf("-a -t 127.1.0.3:8080 -r %s -m", r.addr))
	}
	vip := ap("127.1.0.3:8080")
	first := get(t, client(3), vip)
	if got := gets(t, 5, client(3), vip); got != seq(first, first, first, first, first) {
		t.Fatalf("persistent service moved one client: first %s, then %s", first, got)
	}
	if other := get(t, client(4), vip); other == first {
		t.Fatalf("a second client got the first client's real %s; rr should move on", other)
	}
	list := d.ok("-L -n")
	if !strings.Contains(list, "TCP  127.1.0.3:8080 rr persistent 600\n") {
		t.Fatalf("listing:\n%s", list)
	}
	conns := d.ok("-L -n -c")
	// a template whose connection reached ESTABLISHED is ASSURED (Linux 6.1, as recorded in
	// testdata/kernel/ipvsadm/list-conn.out)
	if !regexp.MustCompile(`ASSURED +127\.3\.0\.3:0 +127\.1\.0\.3:8080`).MatchString(conns) {
		t.Fatalf("no persistence template in -c:\n%s", conns)
	}
}

func TestSeedZeroAndSaveRestoreRoundTrip(t *testing.T) {
	d := startLvsd(t)
	rs := startBackends(t, 40, 8080, 2)
	rules := fmt.Sprintf(`-A -t 127.1.0.4:8080 -s wlc
-a -t 127.1.0.4:8080 -r %s -m -w 1
-a -t 127.1.0.4:8080 -r %s -m -w 2
-A -u 127.1.0.4:5353 -s rr -o
-a -u 127.1.0.4:5353 -r %s:5353 -m -w 1
-A -t 127.1.0.5:8080 -s sh -b sh-port -p 60 -M 255.255.255.0
-a -t 127.1.0.5:8080 -r %s -m -w 1
`, rs[0].addr, rs[1].addr, rs[0].addr.Addr(), rs[1].addr)
	if r := d.lvsadmIn(rules, "-R"); r.status != 0 {
		t.Fatalf("-R: exit %d %s", r.status, r.stderr)
	}
	get(t, client(5), ap("127.1.0.4:8080"))
	get(t, client(5), ap("127.1.0.4:8080"))
	if s := d.ok("-L -n --stats --exact -t 127.1.0.4:8080"); !regexp.MustCompile(`(?m)^TCP  127\.1\.0\.4:8080 +2 `).MatchString(s) {
		t.Fatalf("stats before -Z:\n%s", s)
	}
	d.ok("-Z")
	if s := d.ok("-L -n --stats --exact -t 127.1.0.4:8080"); !regexp.MustCompile(`(?m)^TCP  127\.1\.0\.4:8080 +0 +0 +0 +0 +0$`).MatchString(s) {
		t.Fatalf("stats after -Z:\n%s", s)
	}
	// ipvsadm -S | ipvsadm -C | ipvsadm -R gives the same table
	saved := d.ok("-S -n")
	d.ok("-C")
	if got := d.ok("-L -n"); strings.Count(got, "\n") != 3 {
		t.Fatalf("-C left services:\n%s", got)
	}
	if r := d.lvsadmIn(saved, "-R"); r.status != 0 {
		t.Fatalf("-R of the saved rules: exit %d %s", r.status, r.stderr)
	}
	if again := d.ok("-S -n"); again != saved {
		t.Fatalf("round trip differs:\nbefore\n%s\nafter\n%s", saved, again)
	}
	if got := get(t, client(6), ap("127.1.0.4:8080")); !strings.HasPrefix(got, "rs") {
		t.Fatalf("restored service does not forward: %s", got)
	}
}

func TestBadInputKeepsTheTable(t *testing.T) {
	d := startLvsd(t)
	rs := startBackends(t, 50, 8080, 1)
	d.ok("-A -t 127.1.0.6:8080 -s rr")
	d.ok(fmt.Sprintf("-a -t 127.1.0.6:8080 -r %s -m", rs[0].addr))
	before := d.ok("-S -n")
	tests := []struct {
		args, stderr string
		status       int
	}{
		// texts and statuses as the real ipvsadm 1.31 gives them (testdata/kernel/ipvsadm)
		{"-A -t 127.1.0.6:8080 -s rr", "Service already exists\n", 255},
		{"-A -t 127.1.0.7:8080 -s foo", "Scheduler or persistence engine not found\n", 255},
		{fmt.Sprintf("-a -t 127.1.0.6:8080 -r %s -m", rs[0].addr), "Destination already exists\n", 255},
		{"-a -t 127.1.0.9:8080 -r 127.2.0.1:80 -m", "Service not defined\n", 255},
		{"-e -t 127.1.0.6:8080 -r 127.2.0.99:80 -m", "No such destination\n", 255},
		{"-D -t 127.1.0.9:8080", "No such service\n", 255},
		{"-A -t 127.1.0.300:80 -s rr", "illegal virtual server address[:port] specified\n", 2},
		{"-a -t 127.1.0.6:8080 -r 127.2.0.1:80 -m -w -1", "illegal weight specified\n", 2},
		{"-a -t 127.1.0.6:8080 -r 127.2.0.2:80 -m -x 10 -y 20", "Numerical result out of range\n", 255},
		{"-L -n -t 127.1.0.9:8080", "No such service\n", 1},
		{"-A -t 127.1.0.7:8080 -Q", "-Q: unknown option\n", 255},
		{"-Q", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
		{"-a -t 127.1.0.6:8080 -r 127.2.0.3:8080 -g", "Operation not supported\nlvsadm: ", 255},
	}
	for _, tt := range tests {
		r := d.lvsadm(tt.args)
		if r.status != tt.status || !strings.HasPrefix(r.stderr, tt.stderr) {
			t.Errorf("lvsadm %s: exit %d, stderr %q; want %d, %q", tt.args, r.status, r.stderr, tt.status, tt.stderr)
		}
	}
	// a restore with a bad line applies nothing (ipvsadm would apply the good lines)
	r := d.lvsadmIn("-A -t 127.1.0.8:8080 -s rr\n-A -t 127.1.0.8:8081 -s nosuch\n", "-R")
	if r.status != 255 || !strings.Contains(r.stderr, "Scheduler or persistence engine not found\n") ||
		!strings.Contains(r.stderr, "line 2 was refused; nothing was restored") {
		t.Errorf("-R with a bad line: exit %d, %q", r.status, r.stderr)
	}
	if after := d.ok("-S -n"); after != before {
		t.Fatalf("refused commands changed the table:\n%s\nwas\n%s", after, before)
	}
}

func TestRestartKeepsTheTable(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	d := startLvsd(t, "--state", state)
	startBackends(t, 60, 8080, 1)
	d.ok("-A -t 127.1.0.10:8080 -s wlc -p 300")
	d.ok("-a -t 127.1.0.10:8080 -r 127.2.0.61:8080 -m -w 4")
	d.ok("--set 1000 100 200")
	saved := d.ok("-S -n")
	d.stop()
	d2 := startLvsd(t, "--state", state)
	if got := d2.ok("-S -n"); got != saved {
		t.Fatalf("after a restart:\n%s\nwant\n%s", got, saved)
	}
	if got := d2.ok("-L --timeout"); got != "Timeout (tcp tcpfin udp): 1000 100 200\n" {
		t.Fatalf("timeouts after restart: %q", got)
	}
	if got := get(t, client(7), ap("127.1.0.10:8080")); got != "rs1" {
		t.Fatalf("after restart the VIP answers %q", got)
	}
}
