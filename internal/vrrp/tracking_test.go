package vrrp

import (
	"slices"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

func TestLinkDownFault(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	c.TrackInterfaces = []string{"eth9"}
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(5 * time.Second)
	n.act.take()
	sentAdverts(t, n, "VI")
	n.r.SetLink("eth9", false)
	n.r.drain()
	if s := n.state("VI"); s != Fault {
		t.Fatalf("state %v with a tracked interface down, want FAULT", s)
	}
	wantActions(t, n, "remove VI 10.0.0.100/24@eth0", "notify INSTANCE VI FAULT 100")
	// down_instance -> vrrp_state_leave_master(vrrp, true): one priority 0 advert for
	// entering FAULT and one from vrrp_restore_interface.
	if p := prios(sentAdverts(t, n, "VI")); !slices.Equal(p, []int{0, 0}) {
		t.Errorf("sent %v entering FAULT, want [0 0]", p)
	}
	// Adverts are not even looked at in FAULT, and no timer runs.
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 50, nil))
	l.run(time.Minute)
	if s := n.state("VI"); s != Fault || n.inst("VI").counters.Ignored[ReasonNotRunning] != 1 {
		t.Fatalf("state %v, counters %+v", s, n.inst("VI").counters)
	}
	// A second interface down and up keeps the FAULT.
	n.r.SetLink("eth0", false)
	n.r.SetLink("eth0", false) // repeated: no change
	n.r.SetLink("eth9", true)
	n.r.drain()
	if s := n.state("VI"); s != Fault {
		t.Fatalf("state %v with eth0 still down", s)
	}
	n.r.SetLink("eth0", true)
	n.r.drain()
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v after the links came back, want BACKUP", s)
	}
	wantActions(t, n, "notify INSTANCE VI BACKUP 100")
	l.run(downFor(time.Second, 100))
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v a down interval after recovery, want MASTER", s)
	}
}

func TestLinkDownAtStart(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 255, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", func(ifname string) bool { return ifname != "eth0" })
	wantActions(t, n, "notify INSTANCE VI FAULT 255")
	l.run(time.Minute)
	if s := n.state("VI"); s != Fault {
		t.Fatalf("state %v, want FAULT", s)
	}
	n.r.SetLink("eth0", true)
	n.r.drain()
	// try_up_instance: an owner that still wants MASTER (the fault came at start, not
	// through down_instance) goes straight to MASTER.
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v, want MASTER", s)
	}
	// After a fault through down_instance, wantstate is FAULT: it comes back as backup
	// and takes over after its master down interval.
	n.r.SetLink("eth0", false)
	n.r.SetLink("eth0", true)
	n.r.drain()
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v, want BACKUP", s)
	}
	l.run(downFor(time.Second, 255))
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v, want MASTER", s)
	}
}

func scriptCfg(name string, weight int) *config.VRRPScript {
	return &config.VRRPScript{Name: name, Script: "/bin/true", Interval: time.Second, Timeout: time.Second, Weight: weight, Rise: 1, Fall: 1}
}

// TestScriptWeightZero: the instance waits in FAULT, without notifying, for the first
// result of a weight-0 script; a failure is a FAULT.
func TestScriptWeightZero(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	c.TrackScripts = []config.TrackScript{{Name: "chk"}}
	cfg := vrrpCfg(c)
	cfg.Scripts = []*config.VRRPScript{scriptCfg("chk", 0)}
	n := l.add(cfg, "10.0.0.1", nil)
	wantActions(t, n)
	if s := n.state("VI"); s != Fault {
		t.Fatalf("state %v before the script reported, want FAULT", s)
	}
	l.run(10 * time.Second)
	n.r.SetScript("chk", true)
	n.r.drain()
	wantActions(t, n, "notify INSTANCE VI BACKUP 100")
	l.run(downFor(time.Second, 100))
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v, want MASTER", s)
	}
	n.act.take()
	n.r.SetScript("chk", true) // no change
	n.r.SetScript("chk", false)
	n.r.drain()
	if s := n.state("VI"); s != Fault {
		t.Fatalf("state %v with the script failing, want FAULT", s)
	}
	wantActions(t, n, "remove VI 10.0.0.100/24@eth0", "notify INSTANCE VI FAULT 100")
	n.r.SetScript("chk", true)
	n.r.drain()
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v with the script back, want BACKUP", s)
	}
}

func TestScriptFailsFirst(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	c.TrackScripts = []config.TrackScript{{Name: "chk"}}
	cfg := vrrpCfg(c)
	cfg.Scripts = []*config.VRRPScript{scriptCfg("chk", 0)}
	n := l.add(cfg, "10.0.0.1", nil)
	n.r.SetScript("chk", false)
	n.r.drain()
	wantActions(t, n, "notify INSTANCE VI FAULT 100")
	n.r.SetScript("chk", true)
	n.r.drain()
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v, want BACKUP", s)
	}
}

// TestScriptWeightMovesMastership: two directors, a weighted script on the lower one.
func TestScriptWeightMovesMastership(t *testing.T) {
	l := newLab(t)
	ca := instCfg("VI", 51, 100, "10.0.0.100/24")
	ca.TrackScripts = []config.TrackScript{{Name: "chk"}}
	cfgA := vrrpCfg(ca)
	cfgA.Scripts = []*config.VRRPScript{scriptCfg("chk", 60)}
	a := l.add(cfgA, "10.0.0.1", nil)
	b := l.add(vrrpCfg(instCfg("VI", 51, 150, "10.0.0.100/24")), "10.0.0.2", nil)
	l.run(10 * time.Second)
	if a.state("VI") != Backup || b.state("VI") != Master {
		t.Fatalf("A %v, B %v; want BACKUP, MASTER", a.state("VI"), b.state("VI"))
	}
	a.r.SetScript("chk", true) // 100 + 60 = 160 > 150
	a.r.drain()
	if p := a.inst("VI").effPrio; p != 160 {
		t.Fatalf("effective priority %d, want 160", p)
	}
	l.run(10 * time.Second)
	if a.state("VI") != Master || b.state("VI") != Backup {
		t.Fatalf("script up: A %v, B %v; want MASTER, BACKUP", a.state("VI"), b.state("VI"))
	}
	a.r.SetScript("chk", false)
	a.r.drain()
	l.run(10 * time.Second)
	if a.state("VI") != Backup || b.state("VI") != Master {
		t.Fatalf("script down: A %v, B %v; want BACKUP, MASTER", a.state("VI"), b.state("VI"))
	}
	if p := a.inst("VI").effPrio; p != 100 {
		t.Errorf("effective priority %d, want 100", p)
	}
}

func TestPriorityClamp(t *testing.T) {
	for _, tt := range []struct {
		base, weight, want int
		ok                 bool
	}{
		{200, 100, 254, true},
		{10, -50, 1, false},
		{255, 100, 255, true}, // the owner ignores weights (and keepalived drops the script)
		{100, -20, 100, true}, // a negative weight counts while failing
		{100, -20, 80, false},
	} {
		l := newLab(t)
		c := instCfg("VI", 51, tt.base, "10.0.0.100/24")
		c.TrackScripts = []config.TrackScript{{Name: "chk"}}
		cfg := vrrpCfg(c)
		cfg.Scripts = []*config.VRRPScript{scriptCfg("chk", tt.weight)}
		n := l.add(cfg, "10.0.0.1", nil)
		n.r.SetScript("chk", tt.ok)
		n.r.drain()
		if p := n.inst("VI").effPrio; p != tt.want {
			t.Errorf("base %d weight %d ok %v: effective %d, want %d", tt.base, tt.weight, tt.ok, p, tt.want)
		}
	}
}
