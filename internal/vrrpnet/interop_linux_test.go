package vrrpnet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nstest"
)

// TestTcpdumpSeesVRRP: what Send puts on the wire is, for tcpdump, an IP packet of
// protocol VRRP with TTL / hop limit 255 and traffic class 0xc0, from Src to the group.
func TestTcpdumpSeesVRRP(t *testing.T) {
	nstest.Require(t, "tcpdump", "timeout")
	h := twoHosts(t)
	cases := []struct {
		fam    int
		filter string
		want   []string
	}{
		{4, "ip proto 112", []string{"tos 0xc0", "ttl 255", "proto VRRP (112)", "192.0.2.1 > 224.0.0.18", "VRRPv2, Advertisement, vrid 51, prio 100"}},
		{6, "ip6 proto 112", []string{"class 0xc0", "hlim 255", "next-header VRRP (112)", "> ff02::12", "VRRPv3, Advertisement, vrid 52, prio 100"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("ipv%d", tc.fam), func(t *testing.T) {
			a := listen(t, Options{Interface: "a0", Family: tc.fam, NetNS: h.a.Handle})
			dump := h.b.Start("timeout", "10", "tcpdump", "-i", "b0", "-n", "-v", "-l", "-c", "1",
				"--immediate-mode", tc.filter)
			if !dump.WaitOutput("listening on", 5*time.Second) {
				t.Fatalf("tcpdump did not start: %s", dump.Output())
			}
			var payload []byte
			if tc.fam == 4 {
				payload = advert(2, 51, 100, vip4, a.Src(), Group4)
			} else {
				payload = advert(3, 52, 100, vip6, a.Src(), Group6)
			}
			for i := 0; i < 50; i++ {
				if err := a.Send(payload, a.Destinations()[0]); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if done, _ := dump.Wait(100 * time.Millisecond); done {
					break
				}
			}
			out := dump.Output()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("tcpdump output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "bad vrrp cksum") {
				t.Errorf("tcpdump reports a bad checksum:\n%s", out)
			}
		})
	}
}

// keepalivedConf is a one-instance keepalived.conf.
type keepalivedConf struct {
	State     string // MASTER or BACKUP
	Interface string
	VRID      int
	Priority  int
	Version   int
	VIP       netip.Addr
	// UnicastSrc and UnicastPeer make the instance unicast when set.
	UnicastSrc, UnicastPeer netip.Addr
}

func (k keepalivedConf) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id golvs_test\n  vrrp_garp_master_delay 0\n}\n")
	fmt.Fprintf(&b, "vrrp_instance VI_%d {\n  state %s\n  interface %s\n  virtual_router_id %d\n",
		k.VRID, k.State, k.Interface, k.VRID)
	fmt.Fprintf(&b, "  priority %d\n  advert_int 1\n  version %d\n", k.Priority, k.Version)
	if k.UnicastSrc.IsValid() {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", k.UnicastSrc, k.UnicastPeer)
	}
	fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s\n  }\n}\n", netip.PrefixFrom(k.VIP, k.VIP.BitLen()))
	return b.String()
}

// startKeepalived runs keepalived 2.2 (VRRP only) in ns for at most 12 s, with its pid
// files in a temporary directory; it is killed when the test ends.
func startKeepalived(t *testing.T, ns *nstest.NS, conf keepalivedConf) *nstest.Proc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return ns.Start("timeout", "12", "keepalived", "--vrrp", "-n", "-l", "-D", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"))
}

// TestKeepalivedAdvertsReceived: keepalived 2.2 as master in one namespace; a Conn in the
// other receives its adverts with the addresses, TTL and payload keepalived sends.
func TestKeepalivedAdvertsReceived(t *testing.T) {
	nstest.Require(t, "keepalived", "timeout")
	cases := []struct {
		name string
		conf keepalivedConf
		opts Options
		src  netip.Addr // zero: A's link-local
		dst  netip.Addr
	}{
		{
			name: "v2 ipv4 multicast",
			conf: keepalivedConf{State: "MASTER", Interface: "a0", VRID: 51, Priority: 150, Version: 2, VIP: vip4},
			opts: Options{Interface: "b0", Family: 4},
			src:  addrA4, dst: Group4,
		},
		{
			name: "v3 ipv4 unicast",
			conf: keepalivedConf{State: "MASTER", Interface: "a0", VRID: 53, Priority: 150, Version: 3, VIP: vip4,
				UnicastSrc: addrA4, UnicastPeer: addrB4},
			opts: Options{Interface: "b0", Unicast: addrB4, Peers: []netip.Addr{addrA4}},
			src:  addrA4, dst: addrB4,
		},
		{
			name: "v3 ipv6 multicast",
			conf: keepalivedConf{State: "MASTER", Interface: "a0", VRID: 52, Priority: 150, Version: 3, VIP: vip6},
			opts: Options{Interface: "b0", Family: 6},
			dst:  Group6,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own namespaces and keepalived files
			h := twoHosts(t)
			tc.opts.NetNS = h.b.Handle
			b := listen(t, tc.opts)
			ka := startKeepalived(t, h.a, tc.conf)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var p Packet
			for {
				var err error
				p, err = b.Recv(ctx)
				if err != nil {
					t.Fatalf("no advert from keepalived: %v\nkeepalived output:\n%s", err, ka.Output())
				}
				// Adverts with priority 0 or from an earlier state are possible; wait
				// for the master's advert.
				if len(p.Payload) > 2 && p.Payload[2] == byte(tc.conf.Priority) {
					break
				}
			}
			if tc.src.IsValid() && p.Src != tc.src {
				t.Errorf("Src = %s, want %s", p.Src, tc.src)
			}
			if !tc.src.IsValid() && !p.Src.IsLinkLocalUnicast() {
				t.Errorf("Src = %s, want a link-local address", p.Src)
			}
			if p.Dst != tc.dst || p.TTL != TTL {
				t.Errorf("Dst, TTL = %s, %d; want %s, %d", p.Dst, p.TTL, tc.dst, TTL)
			}
			want := advert(tc.conf.Version, byte(tc.conf.VRID), byte(tc.conf.Priority), tc.conf.VIP, p.Src, p.Dst)
			if string(p.Payload) != string(want) {
				t.Errorf("payload\n got %x\nwant %x (the test's fixture encoding, same checksum)", p.Payload, want)
			}
		})
	}
}

// TestKeepalivedAcceptsAdverts: keepalived 2.2 as backup (priority 100) receives adverts
// of priority 200 sent through a Conn, so it must stay backup; any complaint about the
// packet (TTL, checksum, length, mode) shows in its log.
func TestKeepalivedAcceptsAdverts(t *testing.T) {
	nstest.Require(t, "keepalived", "timeout")
	cases := []struct {
		name string
		conf keepalivedConf
		opts Options
	}{
		{
			name: "v2 ipv4 multicast",
			conf: keepalivedConf{State: "BACKUP", Interface: "b0", VRID: 61, Priority: 100, Version: 2, VIP: vip4},
			opts: Options{Interface: "a0", Family: 4},
		},
		{
			name: "v3 ipv4 unicast",
			conf: keepalivedConf{State: "BACKUP", Interface: "b0", VRID: 63, Priority: 100, Version: 3, VIP: vip4,
				UnicastSrc: addrB4, UnicastPeer: addrA4},
			opts: Options{Interface: "a0", Unicast: addrA4, Peers: []netip.Addr{addrB4}},
		},
		{
			// keepalived sets IPV6_CHECKSUM on its socket: the kernel drops packets whose
			// checksum (computed here by the sender, not the kernel) is wrong.
			name: "v3 ipv6 multicast",
			conf: keepalivedConf{State: "BACKUP", Interface: "b0", VRID: 62, Priority: 100, Version: 3, VIP: vip6},
			opts: Options{Interface: "a0", Family: 6},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own namespaces and keepalived files
			h := twoHosts(t)
			tc.opts.NetNS = h.a.Handle
			a := listen(t, tc.opts)
			dst := a.Destinations()[0]
			payload := advert(tc.conf.Version, byte(tc.conf.VRID), 200, tc.conf.VIP, a.Src(), dst)
			ka := startKeepalived(t, h.b, tc.conf)
			if !ka.WaitOutput("Entering BACKUP STATE", 5*time.Second) {
				t.Fatalf("keepalived did not start as backup:\n%s", ka.Output())
			}
			// Master down interval is 3 s + skew: advertise for 6 s at 1 s intervals.
			for i := 0; i < 12; i++ {
				if err := a.Send(payload, dst); err != nil {
					t.Fatalf("Send: %v", err)
				}
				time.Sleep(500 * time.Millisecond)
			}
			out := ka.Output()
			for _, bad := range []string{"Entering MASTER STATE", "invalid TTL", "checksum", "bogus", "too short", "too long", "icast packet"} {
				if strings.Contains(out, bad) {
					t.Errorf("keepalived log contains %q:\n%s", bad, out)
				}
			}
			if !regexp.MustCompile(`VI_\d+.*(Entering BACKUP STATE|Backup received priority)`).MatchString(out) {
				t.Logf("keepalived output:\n%s", out)
			}
		})
	}
}
