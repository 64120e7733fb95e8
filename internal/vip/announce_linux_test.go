package vip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nstest"
)

// TestGratuitousARPUpdatesNeighbour: B holds a stale entry for the VIP with another MAC;
// A's gratuitous ARP moves it to A's MAC. A second neighbour C without an entry learns
// the VIP because it has arp_accept=1.
func TestGratuitousARPUpdatesNeighbour(t *testing.T) {
	h := twoHosts(t)
	c := h.lab.NS()
	// B is a bridge between A and C, so one GARP reaches both.
	h.b.IP("link", "set", "b0", "down")
	h.b.Bridge("br0")
	nstest.Veth(c, "c0", h.b, "b1")
	h.b.IP("link", "set", "b0", "master", "br0")
	h.b.IP("link", "set", "b1", "master", "br0")
	h.b.IP("addr", "flush", "dev", "b0")
	h.b.IP("addr", "add", "192.0.2.2/24", "dev", "br0")
	h.b.IP("link", "set", "b0", "up")
	c.IP("addr", "add", "192.0.2.3/24", "dev", "c0")
	for _, dev := range []string{"b0", "b1", "br0"} {
		h.b.WaitUp(dev)
	}

	h.b.Sysctl("net.ipv4.conf.br0.arp_accept", "1")
	c.Sysctl("net.ipv4.conf.c0.arp_accept", "1")
	h.b.IP("neigh", "add", vip4.Addr().String(), "lladdr", "02:00:00:00:00:99", "dev", "br0", "nud", "stale")
	if got := neighMAC(t, c, "c0", vip4.Addr()); got != "" {
		t.Fatalf("C already knows the VIP: %s", got)
	}

	m := manager(t, h.a)
	v := vipOn(vip4, "a0")
	if err := m.Add(v); err != nil {
		t.Fatal(err)
	}
	if err := NewAnnouncer(h.a.Handle).Announce(context.Background(), []config.VIP{v}); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	mac := h.a.Link("a0").Address
	waitNeigh(t, h.b, "br0", vip4.Addr(), mac)
	waitNeigh(t, c, "c0", vip4.Addr(), mac)
}

// TestUnsolicitedNAUpdatesNeighbour: B holds a stale entry for the IPv6 VIP with another
// MAC; A's unsolicited neighbour advertisement (override set) moves it to A's MAC.
func TestUnsolicitedNAUpdatesNeighbour(t *testing.T) {
	h := twoHosts(t)
	h.b.IP("neigh", "add", vip6.Addr().String(), "lladdr", "02:00:00:00:00:99", "dev", "b0", "nud", "stale")
	m := manager(t, h.a)
	v := vipOn(vip6, "a0")
	if err := m.Add(v); err != nil {
		t.Fatal(err)
	}
	if err := NewAnnouncer(h.a.Handle).Announce(context.Background(), []config.VIP{v}); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	waitNeigh(t, h.b, "b0", vip6.Addr(), h.a.Link("a0").Address)
}

// TestFrames checks the frames on the wire, and that a NOARP interface gets no ARP.
func TestFrames(t *testing.T) {
	h := twoHosts(t)
	mac, _ := net.ParseMAC(h.a.Link("a0").Address)
	h.a.Sysctl("net.ipv6.conf.a0.forwarding", "1") // the NA's router flag follows it
	capB := capture(t, h.b, "b0")
	an := NewAnnouncer(h.a.Handle)
	vips := []config.VIP{vipOn(vip4, "a0"), vipOn(vip6, "a0")}
	if err := an.Announce(context.Background(), vips); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	all := frames(t, capB, 500*time.Millisecond, func([]byte) bool { return true })
	var garp, na []byte
	for _, f := range all {
		switch {
		case isGARP(vip4.Addr())(f):
			garp = f
		case isNA(vip6.Addr())(f):
			na = f
		}
	}
	wantGARP, _ := garpFrame(mac, vip4.Addr())
	wantNA, _ := naFrame(mac, vip6.Addr(), true)
	if !bytes.Equal(garp, wantGARP) {
		t.Errorf("GARP on the wire\n got %x\nwant %x", garp, wantGARP)
	}
	if !bytes.Equal(na, wantNA) {
		t.Errorf("NA on the wire\n got %x\nwant %x", na, wantNA)
	}
	if len(na) > 0 && na[58]&0x80 == 0 {
		t.Error("router flag clear with forwarding on")
	}

	h.a.IP("link", "set", "a0", "arp", "off")
	if err := an.Announce(context.Background(), vips); err != nil {
		t.Fatalf("Announce on NOARP: %v", err)
	}
	got := frames(t, capB, 500*time.Millisecond, func(f []byte) bool { return isGARP(vip4.Addr())(f) || isNA(vip6.Addr())(f) })
	if len(got) != 1 || !isNA(vip6.Addr())(got[0]) {
		t.Errorf("on a NOARP interface: %d frames, want only the NA", len(got))
	}
}

// TestFramesMatchKeepalived: keepalived 2.2 becomes master in A with an IPv4 and an IPv6
// VIP; the gratuitous ARP and neighbour advertisement it sends are byte for byte the
// frames this package builds for the same MAC and VIPs.
func TestFramesMatchKeepalived(t *testing.T) {
	nstest.Require(t, "keepalived", "timeout")
	h := twoHosts(t)
	mac, _ := net.ParseMAC(h.a.Link("a0").Address)
	capB := capture(t, h.b, "b0")
	conf := `global_defs {
  router_id golvs_test
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
}
vrrp_instance V4 {
  state MASTER
  interface a0
  virtual_router_id 71
  priority 150
  advert_int 1
  virtual_ipaddress {
    ` + vip4.String() + `
  }
}
vrrp_instance V6 {
  state MASTER
  interface a0
  virtual_router_id 72
  priority 150
  advert_int 1
  version 3
  virtual_ipaddress {
    ` + vip6.String() + `
  }
}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ka := h.a.Start("timeout", "12", "keepalived", "--vrrp", "-n", "-l", "-D", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"))

	var garp, na []byte
	deadline := time.Now().Add(10 * time.Second)
	for (garp == nil || na == nil) && time.Now().Before(deadline) {
		for _, f := range frames(t, capB, 500*time.Millisecond, func([]byte) bool { return true }) {
			switch {
			case isGARP(vip4.Addr())(f):
				garp = f
			case isNA(vip6.Addr())(f):
				na = f
			}
		}
	}
	if garp == nil || na == nil {
		t.Fatalf("keepalived sent GARP %v, NA %v within 10 s\n%s", garp != nil, na != nil, ka.Output())
	}
	wantGARP, _ := garpFrame(mac, vip4.Addr())
	wantNA, _ := naFrame(mac, vip6.Addr(), false)
	if !bytes.Equal(garp, wantGARP) {
		t.Errorf("keepalived's GARP\n%x\nours\n%x", garp, wantGARP)
	}
	if !bytes.Equal(na, wantNA) {
		t.Errorf("keepalived's NA\n%x\nours\n%x", na, wantNA)
	}
}

// TestMasterSchedule counts the frames of a short schedule: Repeat at once, Repeat after
// Delay, RefreshRepeat every Refresh.
func TestMasterSchedule(t *testing.T) {
	h := twoHosts(t)
	capB := capture(t, h.b, "b0")
	an := NewAnnouncer(h.a.Handle)
	vips := []config.VIP{vipOn(vip4, "a0")}
	tm := Timing{Repeat: 2, Delay: 300 * time.Millisecond, Refresh: 400 * time.Millisecond, RefreshRepeat: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 1250*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := an.Master(ctx, vips, tm)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Master: %v, want deadline exceeded", err)
	}
	got := frames(t, capB, 200*time.Millisecond, isGARP(vip4.Addr()))
	// 2 at 0 ms, 2 at 300 ms, 1 at 700 ms, 1 at 1100 ms.
	if len(got) != 6 {
		t.Errorf("%d gratuitous ARPs in %v, want 6", len(got), time.Since(start))
	}

	// Without refresh, Master returns once the second burst is out.
	tm = Timing{Repeat: 1, Delay: 50 * time.Millisecond}
	if err := an.Master(context.Background(), vips, tm); err != nil {
		t.Fatalf("Master without refresh: %v", err)
	}
	if got := frames(t, capB, 200*time.Millisecond, isGARP(vip4.Addr())); len(got) != 2 {
		t.Errorf("%d gratuitous ARPs, want 2", len(got))
	}
}

func TestAnnounceErrors(t *testing.T) {
	h := twoHosts(t)
	an := NewAnnouncer(h.a.Handle)
	err := an.Announce(context.Background(), []config.VIP{
		{Prefix: vip4},       // no device
		vipOn(vip4, "lo"),    // no Ethernet address
		vipOn(vip4, "nope0"), // no such device
		vipOn(vip6, "a0"),    // fine
	})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Announce: %v, want ErrInvalid and ErrNotSupported among the errors", err)
	}
	for _, s := range []string{"nope0", "dev lo"} {
		if !bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}

	// Interval pauses between packets and obeys the context.
	an.Interval = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = an.Announce(ctx, []config.VIP{vipOn(vip4, "a0"), vipOn(vip6, "a0")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Announce with a long Interval: %v, want deadline exceeded", err)
	}
}
