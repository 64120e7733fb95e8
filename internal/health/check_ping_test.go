package health

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// Environment of the test binary when TestPingIn* re-run it inside a network namespace.
const (
	envPingWant    = "GOLVS_PING_WANT"    // "ping" or "raw": the socket TestPingChecker must get
	envPingNoReply = "GOLVS_PING_NOREPLY" // set: TestPingNoReply runs (echo replies are off)
)

func socketKind(raw bool) string {
	if raw {
		return "raw"
	}
	return "ping"
}

// TestPingChecker pings the loopback addresses with the socket this process can have, and
// skips, after checking the check says why, when it can have none.
func TestPingChecker(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			ip := netip.MustParseAddr(addr)
			ck := mustChecker(t, &config.Check{Kind: config.CheckPing}, Target{Addr: netip.AddrPortFrom(ip, 0)})
			conn, raw, err := openICMP(context.Background(), ip.Is6(), netip.Addr{})
			if err != nil {
				r := runCheck(t, ck, checkTimeout)
				wantResult(t, r, false, "no ICMP socket")
				if os.Getenv(envPingWant) != "" {
					t.Fatalf("want a %s socket: %s", os.Getenv(envPingWant), r.Reason)
				}
				t.Skipf("no ICMP socket for this process (not root, and its group outside net.ipv4.ping_group_range): %s", r.Reason)
			}
			conn.Close()
			t.Logf("%s socket", socketKind(raw))
			if want := os.Getenv(envPingWant); want != "" && want != socketKind(raw) {
				t.Errorf("got a %s socket, want %s", socketKind(raw), want)
			}
			wantResult(t, runCheck(t, ck, checkTimeout), true, "echo reply from "+addr)
			// The same checker again: a new socket, the next sequence number.
			wantResult(t, runCheck(t, ck, checkTimeout), true, "echo reply from "+addr)
		})
	}
}

// TestPingNoReply runs in a namespace where the kernel answers no echo request.
func TestPingNoReply(t *testing.T) {
	if os.Getenv(envPingNoReply) == "" {
		t.Skip("runs inside TestPingInNamespace")
	}
	for _, addr := range []string{"127.0.0.1", "::1"} {
		ck := mustChecker(t, &config.Check{Kind: config.CheckPing}, Target{Addr: netip.AddrPortFrom(netip.MustParseAddr(addr), 0)})
		wantResult(t, runCheck(t, ck, checkTimeout), false, "ping "+addr+": timed out")
	}
}

// TestPingInNamespace re-runs the ping tests in network namespaces of their own, where it
// can set the ping sysctls without touching the host's: as nobody with ping sockets allowed
// (the unprivileged path keepalived uses), as nobody without them (a clean skip with the
// reason), and as root with echo replies turned off (a timeout).
func TestPingInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	for _, tool := range []string{"unshare", "setpriv", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	tests := []struct {
		name    string
		sysctls string
		nobody  bool
		env     string
		run     string
		want    []string
	}{
		{"unprivileged ping socket", "net.ipv4.ping_group_range='0 2147483647'", true, envPingWant + "=ping", "^TestPingChecker$",
			[]string{"--- PASS: TestPingChecker/127.0.0.1", "--- PASS: TestPingChecker/::1", "ping socket"}},
		{"no privilege", "net.ipv4.ping_group_range='1 0'", true, "", "^TestPingChecker$",
			[]string{"--- SKIP: TestPingChecker/127.0.0.1", "no ICMP socket: ping sockets are not allowed", "raw sockets need CAP_NET_RAW"}},
		{"raw socket as root", "net.ipv4.ping_group_range='1 0'", false, envPingWant + "=raw", "^TestPingChecker$",
			[]string{"--- PASS: TestPingChecker/127.0.0.1", "--- PASS: TestPingChecker/::1", "raw socket"}},
		{"no echo reply", "net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1", false, envPingNoReply + "=1", "^TestPingNoReply$",
			[]string{"--- PASS: TestPingNoReply"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := os.Args[0] + " -test.run '" + tt.run + "' -test.v -test.count=1"
			if tt.nobody {
				run = "setpriv --reuid=65534 --regid=65534 --clear-groups " + run
			}
			script := "ip link set lo up && sysctl -qw " + tt.sysctls + " && cd / && exec env " + tt.env + " " + run
			cmd := exec.Command("unshare", "--net", "sh", "-c", script)
			out, err := cmd.CombinedOutput()
			if err != nil && !strings.Contains(string(out), "--- FAIL") {
				t.Skipf("cannot run in a network namespace here: %v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}
