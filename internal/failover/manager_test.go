package failover

import (
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

func TestElectionAndShutdown(t *testing.T) {
	b := &bus{}
	a, c := newHost(t, b, "a", "192.0.2.1"), newHost(t, b, "c", "192.0.2.2")
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 150, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	if err := c.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 100, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("VI", vrrp.Master)
	c.waitState("VI", vrrp.Backup)
	if got := joined(a.hasVIPs()); got != "192.0.2.100/24@eth0" {
		t.Fatalf("master's VIPs %q", got)
	}
	if got := joined(c.hasVIPs()); got != "" {
		t.Fatalf("backup's VIPs %q", got)
	}
	// a clean stop: the master sends priority 0, drops its VIP; the backup takes over.
	a.m.Close()
	c.waitState("VI", vrrp.Master)
	if got := joined(a.hasVIPs()); got != "" {
		t.Fatalf("stopped master kept %q", got)
	}
	if got := joined(c.hasVIPs()); got != "192.0.2.100/24@eth0" {
		t.Fatalf("new master's VIPs %q", got)
	}
	if err := a.m.Update(&config.VRRP{}); err != ErrClosed {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
}

// TestReloadKeepsUnchangedUnits: a reload with the same instance (moved in the file)
// leaves it running; a changed one restarts; a removed one stops; a new one starts.
func TestReloadKeepsUnchangedUnits(t *testing.T) {
	b := &bus{}
	a := newHost(t, b, "a", "192.0.2.1")
	one, two := instance("ONE", 1, 100, "192.0.2.101/24"), instance("TWO", 2, 100, "192.0.2.102/24")
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{one, two}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("ONE", vrrp.Master)
	a.waitState("TWO", vrrp.Master)
	since := func(name string) time.Time {
		for _, s := range a.m.Status().Instances {
			if s.Name == name {
				return s.LastTransition
			}
		}
		t.Fatalf("no %s in status", name)
		return time.Time{}
	}
	oneSince, opens := since("ONE"), a.opens

	moved := *one
	moved.Pos = config.Pos{File: "k.conf", Line: 42}
	changed := *two
	changed.Priority = 120
	three := instance("THREE", 3, 100, "192.0.2.103/24")
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{three, &moved, &changed}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("TWO", vrrp.Master)
	a.waitState("THREE", vrrp.Master)
	if got := since("ONE"); !got.Equal(oneSince) || a.state("ONE") != vrrp.Master {
		t.Fatalf("unchanged ONE restarted: %v -> %v", oneSince, got)
	}
	if a.opens != opens+2 {
		t.Fatalf("%d sockets opened by the reload, want 2 (TWO again and THREE)", a.opens-opens)
	}
	var names []string
	for _, s := range a.m.Status().Instances {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "THREE ONE TWO" {
		t.Fatalf("status order %q, want the file's", got)
	}
	// TWO's address stayed or came back; removing ONE takes its address away.
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{three, &changed}}); err != nil {
		t.Fatal(err)
	}
	if got := joined(a.hasVIPs()); got != "192.0.2.102/24@eth0 192.0.2.103/24@eth0" {
		t.Fatalf("VIPs after removing ONE: %q", got)
	}
	// A bad configuration changes nothing.
	bad := *three
	bad.AuthType = "AH"
	bad.Version = 2
	bad.AdvertInt = time.Second
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{&bad}}); err == nil || !strings.Contains(err.Error(), "AH") {
		t.Fatalf("Update with AH: %v", err)
	}
	if len(a.m.Status().Instances) != 2 {
		t.Fatalf("a refused reload changed the instances: %+v", a.m.Status())
	}
}

// TestTrackingMovesMastership: a failing weighted track script lowers the master's
// priority below the backup's, which takes over; a tracked interface going down puts the
// instance in FAULT.
func TestTrackingMovesMastership(t *testing.T) {
	b := &bus{}
	a, c := newHost(t, b, "a", "192.0.2.1"), newHost(t, b, "c", "192.0.2.2")
	cfgA := &config.VRRP{
		Scripts: []*config.VRRPScript{{Name: "chk", Script: "/bin/check", Interval: 20 * time.Millisecond, Weight: -60, Rise: 1, Fall: 1}},
	}
	inA := instance("VI", 1, 150, "192.0.2.100/24")
	inA.TrackScripts = []config.TrackScript{{Name: "chk"}}
	inA.TrackInterfaces = []string{"eth1"}
	cfgA.Instances = []*config.VRRPInstance{inA}
	if err := a.m.Update(cfgA); err != nil {
		t.Fatal(err)
	}
	if err := c.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 100, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("VI", vrrp.Master)
	c.waitState("VI", vrrp.Backup)

	a.setScript("/bin/check", false) // 150 - 60 = 90 < 100
	c.waitState("VI", vrrp.Master)
	a.waitState("VI", vrrp.Backup)
	if p := a.m.Status().Instances[0].Priority; p != 90 {
		t.Fatalf("priority with the failing script %d, want 90", p)
	}
	a.setScript("/bin/check", true)
	a.waitState("VI", vrrp.Master) // preempts back
	c.waitState("VI", vrrp.Backup)

	a.setLink("eth1", false)
	a.waitState("VI", vrrp.Fault)
	c.waitState("VI", vrrp.Master)
	a.setLink("eth1", true)
	a.waitState("VI", vrrp.Master)
}

// TestRetryOpen: sockets that cannot be opened yet are retried; the instance runs once
// they can.
func TestRetryOpen(t *testing.T) {
	b := &bus{}
	a := newHost(t, b, "a", "192.0.2.1")
	a.failOpen = 2
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 100, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("VI", vrrp.Master)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.opens != 3 {
		t.Fatalf("%d opens, want 3", a.opens)
	}
}

// TestSplitBrain: with the link cut both become master; healed, the higher priority
// stays and the other goes back to backup.
func TestSplitBrain(t *testing.T) {
	b := &bus{}
	a, c := newHost(t, b, "a", "192.0.2.1"), newHost(t, b, "c", "192.0.2.2")
	for _, h := range []*host{a, c} {
		prio := 100
		if h == a {
			prio = 150
		}
		if err := h.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, prio, "192.0.2.100/24")}}); err != nil {
			t.Fatal(err)
		}
	}
	a.waitState("VI", vrrp.Master)
	c.waitState("VI", vrrp.Backup)
	b.setCut("a", "c", true)
	c.waitState("VI", vrrp.Master)
	a.waitState("VI", vrrp.Master)
	b.setCut("a", "c", false)
	c.waitState("VI", vrrp.Backup)
	a.waitState("VI", vrrp.Master)
}

func TestSyncGroupUnit(t *testing.T) {
	b := &bus{}
	a := newHost(t, b, "a", "192.0.2.1")
	cfg := &config.VRRP{
		Instances:  []*config.VRRPInstance{instance("A", 1, 100, "192.0.2.101/24"), instance("B", 2, 100, "192.0.2.102/24"), instance("C", 3, 100, "192.0.2.103/24")},
		SyncGroups: []*config.VRRPSyncGroup{{Name: "G", Instances: []string{"C", "A"}}},
	}
	plans := split(cfg)
	var keys []string
	for _, p := range plans {
		var names []string
		for _, in := range p.cfg.Instances {
			names = append(names, in.Name)
		}
		keys = append(keys, p.key+"="+strings.Join(names, ","))
	}
	if got := strings.Join(keys, " "); got != "group G=A,C instance B=B" {
		t.Fatalf("units %q", got)
	}
	if err := a.m.Update(cfg); err != nil {
		t.Fatal(err)
	}
	a.waitState("A", vrrp.Master)
	a.waitState("C", vrrp.Master)
	st := a.m.Status()
	if len(st.Groups) != 1 || st.Groups[0].Name != "G" || st.Groups[0].State != vrrp.Master {
		t.Fatalf("groups %+v", st.Groups)
	}
}

func TestCheck(t *testing.T) {
	ok := instance("VI", 1, 100, "192.0.2.100/24")
	cases := []struct {
		name string
		cfg  *config.VRRP
		want string
	}{
		{"ok", &config.VRRP{Instances: []*config.VRRPInstance{ok}}, ""},
		{"missing script", &config.VRRP{Instances: []*config.VRRPInstance{func() *config.VRRPInstance {
			in := *ok
			in.TrackScripts = []config.TrackScript{{Name: "nope"}}
			return &in
		}()}}, "track script nope not found"},
		{"bad vrid", &config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 0, 100, "192.0.2.100/24")}}, "virtual_router_id 0"},
		{"group member missing", &config.VRRP{Instances: []*config.VRRPInstance{ok},
			SyncGroups: []*config.VRRPSyncGroup{{Name: "G", Instances: []string{"VI", "X"}}}}, "instance X not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.cfg)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Check = %v, want %q", err, c.want)
			}
		})
	}
}

// TestLeftoversRemoved: addresses left on the interface by a daemon that was killed are
// removed when the instance starts, as keepalived does; a backup must not hold them.
func TestLeftoversRemoved(t *testing.T) {
	b := &bus{}
	a, c := newHost(t, b, "a", "192.0.2.1"), newHost(t, b, "c", "192.0.2.2")
	if err := c.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 150, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	c.waitState("VI", vrrp.Master)
	a.vips["192.0.2.100/24@eth0"] = true
	if err := a.m.Update(&config.VRRP{Instances: []*config.VRRPInstance{instance("VI", 1, 100, "192.0.2.100/24")}}); err != nil {
		t.Fatal(err)
	}
	a.waitState("VI", vrrp.Backup)
	if got := joined(a.hasVIPs()); got != "" {
		t.Fatalf("backup kept the leftover %q", got)
	}
}
