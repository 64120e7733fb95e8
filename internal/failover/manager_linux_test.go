package failover

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nstest"
	"github.com/golvs/golvs/internal/vip"
	"github.com/golvs/golvs/internal/vrrp"
)

// nsHost is a Manager with the production OS side in a namespace.
type nsHost struct {
	ns   *nstest.NS
	m    *Manager
	vips *vip.Manager
}

func newNSHost(t *testing.T, ns *nstest.NS) *nsHost {
	t.Helper()
	m, err := New(Options{NetNS: ns.Handle, Logger: testLogger(t).With("ns", ns.Name), RetryMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	vm, err := vip.NewManager(ns.Handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	return &nsHost{ns: ns, m: m, vips: vm}
}

func (h *nsHost) has(t *testing.T, v config.VIP) bool {
	t.Helper()
	ok, err := h.vips.Has(v)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (h *nsHost) waitState(t *testing.T, name string, want vrrp.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range h.m.Status().Instances {
			if s.Name == name && s.State == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not %v: %+v", h.ns.Name, name, want, h.m.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNamespaces runs two Managers with the real sockets, addresses, link watch and
// scripts in two namespaces joined by a veth pair: the higher priority takes the VIP,
// its notify script runs, a tracked link going down moves the VIP, and a clean stop
// hands it over with a priority 0 advert.
func TestNamespaces(t *testing.T) {
	lab := nstest.New(t, "failover")
	a, b := lab.NS(), lab.NS()
	nstest.Veth(a, "eth0", b, "eth0")
	a.IP("addr", "add", "192.0.2.1/24", "dev", "eth0")
	b.IP("addr", "add", "192.0.2.2/24", "dev", "eth0")
	a.IP("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	a.IP("link", "set", "trk0", "up")
	a.IP("link", "set", "trk1", "up")
	dir := t.TempDir()
	notified := filepath.Join(dir, "notified")
	notify := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(notify, []byte("#!/bin/sh\nf=$1; shift; echo \"$@\" >> $f\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := config.VIP{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Dev: "eth0"}
	conf := func(prio int, notified string, track ...string) *config.VRRP {
		in := &config.VRRPInstance{Name: "VI_1", Version: 3, Interface: "eth0", VRID: 51, Priority: prio,
			AdvertInt: 100 * time.Millisecond, Addresses: []config.VIP{{Prefix: v.Prefix}}, TrackInterfaces: track,
			GarpMasterDelay: time.Second, Notify: notify + " " + notified}
		return &config.VRRP{Instances: []*config.VRRPInstance{in}}
	}
	ha, hb := newNSHost(t, a), newNSHost(t, b)
	if err := ha.m.Update(conf(150, notified, "trk0")); err != nil {
		t.Fatal(err)
	}
	if err := hb.m.Update(conf(100, filepath.Join(dir, "b"))); err != nil {
		t.Fatal(err)
	}
	ha.waitState(t, "VI_1", vrrp.Master)
	hb.waitState(t, "VI_1", vrrp.Backup)
	if !ha.has(t, v) || hb.has(t, v) {
		t.Fatalf("VIP on a %v, on b %v; want a only", ha.has(t, v), hb.has(t, v))
	}
	waitFile(t, notified, "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\n")

	// track_interface down: FAULT, the VIP moves to b.
	a.IP("link", "set", "trk1", "down") // takes trk0's carrier
	ha.waitState(t, "VI_1", vrrp.Fault)
	hb.waitState(t, "VI_1", vrrp.Master)
	if ha.has(t, v) || !hb.has(t, v) {
		t.Fatal("VIP did not move to b on FAULT")
	}
	a.IP("link", "set", "trk1", "up")
	ha.waitState(t, "VI_1", vrrp.Master) // preempts back
	hb.waitState(t, "VI_1", vrrp.Backup)

	// Clean stop of the master: priority 0, b takes over within the skew time.
	start := time.Now()
	ha.m.Close()
	hb.waitState(t, "VI_1", vrrp.Master)
	if d := time.Since(start); d > time.Second {
		t.Errorf("takeover after a priority 0 advert took %v", d)
	}
	if ha.has(t, v) || !hb.has(t, v) {
		t.Fatal("VIP did not move to b on stop")
	}
	waitFile(t, notified, "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\n"+
		"INSTANCE VI_1 FAULT 150\nINSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 STOP 150\n")
}
