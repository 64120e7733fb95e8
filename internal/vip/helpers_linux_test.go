package vip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nstest"
	"github.com/golvs/golvs/internal/nsutil"
)

var (
	vip4 = netip.MustParsePrefix("192.0.2.100/32")
	vip6 = netip.MustParsePrefix("2001:db8::100/128")
)

// hosts is two namespaces joined by a veth pair a0 <-> b0 with addresses on both ends.
type hosts struct {
	lab  *nstest.Lab
	a, b *nstest.NS
}

func twoHosts(t *testing.T) *hosts {
	t.Helper()
	lab := nstest.New(t, "vip")
	h := &hosts{lab: lab, a: lab.NS(), b: lab.NS()}
	nstest.Veth(h.a, "a0", h.b, "b0")
	h.a.IP("addr", "add", "192.0.2.1/24", "dev", "a0")
	h.b.IP("addr", "add", "192.0.2.2/24", "dev", "b0")
	h.a.IP("addr", "add", "2001:db8::1/64", "dev", "a0", "nodad")
	h.b.IP("addr", "add", "2001:db8::2/64", "dev", "b0", "nodad")
	return h
}

func manager(t *testing.T, ns *nstest.NS) *Manager {
	t.Helper()
	m, err := NewManager(ns.Handle)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// addrInfo is one address of "ip -j addr".
type addrInfo struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	PrefixLen int    `json:"prefixlen"`
	Scope     string `json:"scope"`
	Label     string `json:"label"`
	NoDAD     bool   `json:"nodad"`
	Deprecate bool   `json:"deprecated"`
	Preferred uint64 `json:"preferred_life_time"`
	Broadcast string `json:"broadcast"`
}

// addrs lists the addresses of dev in ns (filtered-out entries of ip's output dropped).
func addrs(t *testing.T, ns *nstest.NS, dev string) []addrInfo {
	t.Helper()
	var out []struct {
		AddrInfo []addrInfo `json:"addr_info"`
	}
	ns.JSON(&out, "addr", "show", "dev", dev)
	var all []addrInfo
	for _, l := range out {
		for _, a := range l.AddrInfo {
			if a.Local != "" {
				all = append(all, a)
			}
		}
	}
	return all
}

func findAddr(list []addrInfo, local string) (addrInfo, bool) {
	for _, a := range list {
		if a.Local == local {
			return a, true
		}
	}
	return addrInfo{}, false
}

// neighMAC returns the link-layer address of ip in dev's neighbour table ("" if none).
func neighMAC(t *testing.T, ns *nstest.NS, dev string, ip netip.Addr) string {
	t.Helper()
	var out []struct {
		Dst    string `json:"dst"`
		LLAddr string `json:"lladdr"`
	}
	ns.JSON(&out, "neigh", "show", ip.String(), "dev", dev)
	for _, n := range out {
		if n.Dst == ip.String() {
			return n.LLAddr
		}
	}
	return ""
}

// waitNeigh polls (at most 5 s) until ns's neighbour entry for ip on dev is mac.
func waitNeigh(t *testing.T, ns *nstest.NS, dev string, ip netip.Addr, mac string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := neighMAC(t, ns, dev, ip)
		if got == mac {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("neighbour %s on %s in %s: lladdr %q, want %q\n%s", ip, dev, ns.Name, got, mac,
				ns.IP("neigh", "show", "dev", dev))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// capture opens a packet socket on dev in ns that receives every frame, closed at the
// end of the test.
func capture(t *testing.T, ns *nstest.NS, dev string) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	err := nsutil.Run(ns.Handle, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture on %s in %s: %v", dev, ns.Name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// frames reads frames from c for d and returns those match accepts, copied.
func frames(t *testing.T, c *packet.Conn, d time.Duration, match func([]byte) bool) [][]byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return got
		}
		if match(buf[:n]) {
			got = append(got, bytes.Clone(buf[:n]))
		}
	}
}

// isGARP matches an ARP frame whose sender and target IP are ip.
func isGARP(ip netip.Addr) func([]byte) bool {
	want := ip.AsSlice()
	return func(f []byte) bool {
		return len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 &&
			bytes.Equal(f[28:32], want) && bytes.Equal(f[38:42], want)
	}
}

// isNA matches an IPv6 neighbour advertisement frame whose target is ip.
func isNA(ip netip.Addr) func([]byte) bool {
	want := ip.AsSlice()
	return func(f []byte) bool {
		return len(f) >= 78 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 58 && f[54] == 136 &&
			bytes.Equal(f[62:78], want)
	}
}

func vipOn(p netip.Prefix, dev string) config.VIP { return config.VIP{Prefix: p, Dev: dev} }
