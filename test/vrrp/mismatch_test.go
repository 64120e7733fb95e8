package vrrp

import (
	"strings"
	"testing"
	"time"
)

// TestMismatch: lvsd (A, priority 150) and keepalived (B, priority 100) that do not
// agree: another auth_pass (VRRPv2), or another virtual_router_id. Each drops the
// other's adverts, so both become master and stay master: the test checks that the
// states do not flap for three advert intervals, and that the drops are counted (lvsd's
// Status counters) and logged (lvsd's log; keepalived's for the password).
//
// With the wrong password keepalived shows a quirk of its own: as master it re-arms its
// advert timer whenever it reads a packet, also one it drops (vrrp_dispatcher_read), so
// lvsd's adverts, arriving every interval, can keep it from advertising at all; lvsd
// re-arms its timer only when it sent an advert and keeps advertising.
func TestMismatch(t *testing.T) {
	cases := []struct {
		name   string
		v      version
		a, b   inst
		reason string // lvsd's Ignored counter
		lvsLog string // in lvsd's log ("" for none)
		kaLog  string // in keepalived's log ("" for none)
	}{
		{"v2/auth_pass", versions[0],
			inst{AuthPass: "alpha", Prio: 150}, inst{AuthPass: "bravo", Prio: 100},
			"auth_failure", "received an invalid passwd", "received an invalid passwd"},
		{"v2/vrid", versions[0],
			inst{VRID: 51, Prio: 150}, inst{VRID: 52, Prio: 100},
			"vrid_mismatch", "reason=vrid_mismatch", ""},
		{"v3/vrid", versions[1],
			inst{VRID: 51, Prio: 150}, inst{VRID: 52, Prio: 100},
			"vrid_mismatch", "reason=vrid_mismatch", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := newTopo(t, 2)
			a, b := tp.dirs[0], tp.dirs[1]
			adv := c.v.interval(t)
			for _, i := range []*inst{&c.a, &c.b} {
				i.Version, i.Advert, i.State = c.v.v, c.v.advert, "BACKUP"
			}
			da := tp.start("lvsd", a, c.a.conf(t))
			db := tp.start("keepalived", b, c.b.conf(t))
			deadline := time.Now().Add(masterDown(adv, 100) + 3*time.Second)
			for strings.Join(tp.holders(), ",") != "d1,d2" {
				if time.Now().After(deadline) {
					t.Fatalf("VIP on %v, want both (each ignores the other)%s", tp.holders(), logs(da, db))
				}
				time.Sleep(20 * time.Millisecond)
			}
			before := da.status().Instances[0]
			tp.stable([]string{"d1", "d2"}, 3*adv, "both masters must stay masters", da, db)
			after := da.status().Instances[0]
			if after.State != "MASTER" || after.Counters.BecomeMaster != 1 || after.Counters.ReleaseMaster != 0 {
				t.Fatalf("lvsd flapped: %+v%s", after, logs(da))
			}
			// keepalived as master re-arms its advert timer on every packet it reads, even
			// one it drops, so lvsd's adverts (same interval) can keep it silent: count
			// lvsd's drops over the whole run, not only in the window.
			if after.Counters.Ignored[c.reason] == 0 || after.Counters.Received != 0 || after.Counters.Sent <= before.Counters.Sent {
				t.Fatalf("lvsd's counters %+v (before the window %+v), want %s drops, nothing received, adverts sent%s",
					after.Counters, before.Counters, c.reason, logs(da, db))
			}
			if c.lvsLog != "" && !strings.Contains(da.proc.Output(), c.lvsLog) {
				t.Errorf("lvsd's log lacks %q%s", c.lvsLog, logs(da))
			}
			if c.kaLog != "" && !strings.Contains(db.proc.Output(), c.kaLog) {
				t.Errorf("keepalived's log lacks %q%s", c.kaLog, logs(db))
			}
			if out := db.proc.Output(); strings.Count(out, "Entering MASTER STATE") != 1 {
				t.Errorf("keepalived flapped:%s", logs(db))
			}
		})
	}
}
