package vrrp

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

func groupCfg(prio1, prio2 int) *config.VRRP {
	i1 := instCfg("EXT", 1, prio1, "10.0.0.100/24")
	i2 := instCfg("INT", 2, prio2, "10.1.0.100/24")
	i2.Interface = "eth1"
	cfg := vrrpCfg(i1, i2)
	cfg.SyncGroups = []*config.VRRPSyncGroup{{Name: "G", Instances: []string{"EXT", "INT"}}}
	return cfg
}

// TestSyncGroupMasterTogether: the members' down timers differ (their skews do); the
// first to expire waits for the other to want MASTER, then both go at once.
func TestSyncGroupMasterTogether(t *testing.T) {
	l := newLab(t)
	t0 := l.clock.Now()
	n := l.add(groupCfg(100, 50), "10.0.0.1", nil)
	wantActions(t, n, "notify GROUP G BACKUP 0", "notify INSTANCE EXT BACKUP 100", "notify INSTANCE INT BACKUP 50")
	l.runUntil(t0.Add(downFor(time.Second, 100)))
	if n.state("EXT") != Backup || n.inst("EXT").wantState != Master {
		t.Fatalf("EXT %v wanting %v; want BACKUP wanting MASTER", n.state("EXT"), n.inst("EXT").wantState)
	}
	l.runUntil(t0.Add(downFor(time.Second, 50)))
	if n.state("EXT") != Master || n.state("INT") != Master {
		t.Fatalf("EXT %v, INT %v at INT's down interval; want both MASTER", n.state("EXT"), n.state("INT"))
	}
	got := n.act.take()
	for _, w := range []string{"notify INSTANCE EXT MASTER 100", "notify INSTANCE INT MASTER 50", "notify GROUP G MASTER 0"} {
		if !slices.Contains(got, w) {
			t.Errorf("no %q in %v", w, got)
		}
	}
	// One member hears a higher priority: both go back to BACKUP.
	l.inject(n, "INT", advertFrom(t, n.inst("INT").cfg, "10.0.0.2", 200, nil))
	if n.state("EXT") != Backup || n.state("INT") != Backup {
		t.Fatalf("EXT %v, INT %v; want both BACKUP", n.state("EXT"), n.state("INT"))
	}
	if got := n.act.take(); !slices.Contains(got, "notify GROUP G BACKUP 0") {
		t.Errorf("no group BACKUP notification in %v", got)
	}
}

func TestSyncGroupFault(t *testing.T) {
	l := newLab(t)
	n := l.add(groupCfg(100, 100), "10.0.0.1", nil)
	l.run(10 * time.Second)
	if n.state("EXT") != Master || n.state("INT") != Master {
		t.Fatal("group not master")
	}
	sentAdverts(t, n, "EXT")
	n.act.take()
	n.r.SetLink("eth1", false)
	n.r.drain()
	if n.state("EXT") != Fault || n.state("INT") != Fault {
		t.Fatalf("EXT %v, INT %v with eth1 down; want both FAULT", n.state("EXT"), n.state("INT"))
	}
	if p := prios(sentAdverts(t, n, "EXT")); !slices.Equal(p, []int{0}) {
		t.Errorf("EXT, synced to FAULT, sent %v; want [0]", p)
	}
	if got := n.act.take(); !slices.Contains(got, "notify GROUP G FAULT 0") || !slices.Contains(got, "remove EXT 10.0.0.100/24@eth0") {
		t.Errorf("actions %v", got)
	}
	n.r.SetLink("eth1", true)
	n.r.drain()
	if n.state("EXT") != Backup || n.state("INT") != Backup {
		t.Fatalf("EXT %v, INT %v after eth1 came back; want both BACKUP", n.state("EXT"), n.state("INT"))
	}
	l.run(10 * time.Second)
	if n.state("EXT") != Master || n.state("INT") != Master {
		t.Fatalf("EXT %v, INT %v; want both MASTER", n.state("EXT"), n.state("INT"))
	}
	st := n.r.Status()
	n.r.publish()
	st = n.r.Status()
	if len(st.Groups) != 1 || st.Groups[0].State != Master || !slices.Equal(st.Groups[0].Members, []string{"EXT", "INT"}) {
		t.Errorf("group status %+v", st.Groups)
	}
}

// TestConverge wires directors back to back: whatever the priorities and start times,
// exactly one is master, the expected one, and only it holds the addresses.
func TestConverge(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version int
		prios   []int
		start   []time.Duration // nondecreasing
		want    int             // index of the master
		split   time.Duration   // packets are lost until then: both become master
	}{
		{"v2 100 vs 200", 2, []int{100, 200}, []time.Duration{0, 0}, 1, 0},
		{"v2 200 starts late", 2, []int{100, 200}, []time.Duration{0, 20 * time.Second}, 1, 0},
		{"v2 equal, first master stays", 2, []int{100, 100}, []time.Duration{0, time.Second}, 0, 0},
		{"v2 equal, late higher address backs", 2, []int{100, 100}, []time.Duration{0, 7 * time.Second}, 0, 0},
		{"v2 equal, split brain heals to the higher address", 2, []int{100, 100}, []time.Duration{0, 0}, 1, 10 * time.Second},
		{"v3 split brain heals to the higher priority", 3, []int{100, 90}, []time.Duration{0, 0}, 0, 10 * time.Second},
		{"v3 three directors", 3, []int{150, 250, 100}, []time.Duration{0, time.Second, 3 * time.Second}, 1, 0},
		{"v3 owner joins", 3, []int{200, 255}, []time.Duration{0, 10 * time.Second}, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			heal := l.clock.Now().Add(tt.split)
			l.drop = func(*node, sent) bool { return l.clock.Now().Before(heal) }
			var nodes []*node
			for i, p := range tt.prios {
				l.runUntil(newFakeClock().now.Add(tt.start[i]))
				c := instCfg("VI", 51, p, "10.0.0.100/24")
				c.Version = tt.version
				nodes = append(nodes, l.add(vrrpCfg(c), fmt.Sprintf("10.0.0.%d", i+1), nil))
			}
			if tt.split > 0 {
				l.runUntil(heal.Add(-time.Millisecond))
				for i, n := range nodes {
					if n.state("VI") != Master {
						t.Fatalf("director %d is %v during the split", i, n.state("VI"))
					}
				}
			}
			l.run(30 * time.Second)
			for i, n := range nodes {
				want := Backup
				if i == tt.want {
					want = Master
				}
				if s := n.state("VI"); s != want {
					t.Errorf("director %d (priority %d) is %v, want %v", i, tt.prios[i], s, want)
				}
				if set := n.inst("VI").vipSet; set != (want == Master) {
					t.Errorf("director %d holds the addresses: %v", i, set)
				}
			}
			// And it stays so.
			l.run(time.Minute)
			masters := 0
			for _, n := range nodes {
				if n.state("VI") == Master {
					masters++
				}
			}
			if masters != 1 {
				t.Errorf("%d masters after another minute", masters)
			}
		})
	}
}

// TestFailover: the master's link fails; the backup takes over after its master down
// interval (the master's priority 0 adverts are lost with the link) and hands back when
// the master returns, since the master preempts.
func TestFailover(t *testing.T) {
	l := newLab(t)
	a := l.add(vrrpCfg(instCfg("VI", 51, 200, "10.0.0.100/24")), "10.0.0.1", nil)
	b := l.add(vrrpCfg(instCfg("VI", 51, 100, "10.0.0.100/24")), "10.0.0.2", nil)
	l.run(10 * time.Second)
	l.down[a] = true
	a.r.SetLink("eth0", false)
	l.run(downFor(time.Second, 100))
	if a.state("VI") != Fault || b.state("VI") != Master {
		t.Fatalf("A %v, B %v; want FAULT, MASTER", a.state("VI"), b.state("VI"))
	}
	delete(l.down, a)
	a.r.SetLink("eth0", true)
	l.run(10 * time.Second)
	if a.state("VI") != Master || b.state("VI") != Backup {
		t.Fatalf("A %v, B %v; want MASTER, BACKUP", a.state("VI"), b.state("VI"))
	}
	// A graceful stop hands over after the skew time only.
	a.r.shutdown()
	l.deliver()
	l.run(time.Duration(156*1000000/256) * time.Microsecond)
	if b.state("VI") != Master {
		t.Fatalf("B %v a skew time after A stopped", b.state("VI"))
	}
}

// TestSyncGroupTwoFaults: the group leaves FAULT only when no member has a fault of its
// own left (num_member_fault).
func TestSyncGroupTwoFaults(t *testing.T) {
	l := newLab(t)
	n := l.add(groupCfg(100, 100), "10.0.0.1", nil)
	l.run(10 * time.Second)
	n.r.SetLink("eth0", false)
	n.r.SetLink("eth1", false)
	n.r.SetLink("eth0", true)
	n.r.drain()
	if n.state("EXT") != Fault || n.state("INT") != Fault {
		t.Fatalf("EXT %v, INT %v with eth1 still down; want both FAULT", n.state("EXT"), n.state("INT"))
	}
	n.r.SetLink("eth1", true)
	n.r.drain()
	if n.state("EXT") != Backup || n.state("INT") != Backup {
		t.Fatalf("EXT %v, INT %v; want both BACKUP", n.state("EXT"), n.state("INT"))
	}
}

// TestSyncGroupScriptInit: a member waiting for its weight-0 script holds the whole
// group in INIT/FAULT; its first success releases both.
func TestSyncGroupScriptInit(t *testing.T) {
	l := newLab(t)
	cfg := groupCfg(100, 100)
	cfg.Instances[1].TrackScripts = []config.TrackScript{{Name: "chk"}}
	cfg.Scripts = []*config.VRRPScript{scriptCfg("chk", 0)}
	n := l.add(cfg, "10.0.0.1", nil)
	if n.state("EXT") != Fault || n.state("INT") != Fault || n.r.groups[0].state != Init {
		t.Fatalf("EXT %v, INT %v, group %v; want FAULT, FAULT, INIT", n.state("EXT"), n.state("INT"), n.r.groups[0].state)
	}
	wantActions(t, n)
	n.r.SetScript("chk", true)
	n.r.drain()
	if n.state("EXT") != Backup || n.state("INT") != Backup {
		t.Fatalf("EXT %v, INT %v after the script succeeded; want both BACKUP", n.state("EXT"), n.state("INT"))
	}
	l.run(10 * time.Second)
	if n.state("EXT") != Master || n.state("INT") != Master {
		t.Fatalf("EXT %v, INT %v; want both MASTER", n.state("EXT"), n.state("INT"))
	}
}

// TestTwoOwners: keepalived lowers an owner's priority to 254 when it hears another
// owner, and the higher address wins.
func TestTwoOwners(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 255, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(time.Second)
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 255, nil))
	if in := n.inst("VI"); in.effPrio != 254 || in.state != Backup {
		t.Errorf("priority %d, state %v; want 254, BACKUP", in.effPrio, in.state)
	}
}
