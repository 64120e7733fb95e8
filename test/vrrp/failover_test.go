package vrrp

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nstest"
)

// advert parses an advert_int.
func (v version) interval(t *testing.T) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(v.advert, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(f * float64(time.Second))
}

// masterDown is RFC 5798's Master_Down_Interval for a backup of priority prio
// (3 * advert + skew, the skew (256 - prio) / 256 of an advert).
func masterDown(adv time.Duration, prio int) time.Duration {
	return 3*adv + time.Duration(256-prio)*adv/256
}

// settle is how long the tests watch a state for flapping: two advert intervals, at most
// a second (the suite must stay short with VRRPv2's one-second adverts).
func settle(adv time.Duration) time.Duration { return min(2*adv, time.Second) }

// TestFailover: director A (d1, state MASTER, priority 150) and B (d2, state BACKUP,
// priority 100), one of them lvsd and the other keepalived, both ways round, VRRPv2 with
// advert_int 1 and VRRPv3 with advert_int 0.1:
//
//   - A is elected: the VIP is on A only and the client reaches A through it;
//   - A stops cleanly (SIGTERM): it sends priority 0 and removes the VIP; B takes over
//     within its skew time, far sooner than a master down interval;
//   - A comes back: it preempts B (higher priority);
//   - A dies (SIGKILL, so no priority 0 advert, and its cable is pulled, so its kernel,
//     which keeps the VIP as after any crash, cannot answer for it): B takes over after
//     its master down interval; its gratuitous ARPs reach the client (tcpdump sees them)
//     and move the client's neighbour entry for the VIP to B's MAC.
//
// The takeover times are logged; TestMeasureFailover repeats them for statistics.
func TestFailover(t *testing.T) {
	nstest.Require(t, "tcpdump")
	for _, v := range versions {
		for _, aKind := range []string{"lvsd", "keepalived"} {
			t.Run(v.name+"/"+aKind+"-master", func(t *testing.T) { failover(t, v, aKind) })
		}
	}
}

func failover(t *testing.T, v version, aKind string) {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	adv := v.interval(t)
	dump := tp.client.ns.Start("tcpdump", "-i", "eth0", "-n", "-l", "-e", "arp")
	if !dump.WaitOutput("listening on", 5*time.Second) {
		t.Fatalf("tcpdump did not start: %s", dump.Output())
	}
	da := tp.start(aKind, a, inst{Version: v.v, Advert: v.advert, State: "MASTER", Prio: 150}.conf(t))
	db := tp.start(other(aKind), b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100}.conf(t))

	// Election.
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "election", da, db)
	tp.stable([]string{"d1"}, settle(adv), "after the election", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)
	lv := da
	wantLvsd := "MASTER"
	if aKind != "lvsd" {
		lv, wantLvsd = db, "BACKUP"
	}
	if st := lv.status(); len(st.Instances) != 1 || st.Instances[0].State != wantLvsd || st.Instances[0].Counters.Received == 0 && wantLvsd == "BACKUP" {
		t.Fatalf("lvsd's status %+v, want %s", st, wantLvsd)
	}

	// Clean stop of the master: priority 0, B takes over within its skew time.
	t0 := time.Now()
	if err := da.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ft := tp.measure(t0, b, masterDown(adv, 100)+3*time.Second, da, db)
	t.Logf("clean stop of %s (master): VIP on %s (backup) after %v, client traffic after %v",
		da.kind, db.kind, ft.vip.Round(time.Millisecond), ft.traffic.Round(time.Millisecond))
	if ft.vip >= 3*adv {
		t.Errorf("takeover after a clean stop took %v, a master down interval: the priority 0 advert was not honoured", ft.vip)
	}
	if done, _ := da.proc.Wait(10 * time.Second); !done {
		t.Fatalf("%s did not stop%s", da.kind, logs(da))
	}
	if a.hasVIP() {
		t.Fatalf("%s left the VIP behind after a clean stop%s", da.kind, logs(da))
	}
	tp.waitNeighbour(b, 3*time.Second)

	// A comes back and preempts.
	da.run()
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "preemption by the returning master", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)
	tp.waitNeighbour(a, 3*time.Second)

	// A dies: no priority 0; B waits for its master down interval.
	garp := b.mac + " > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has " + vipAddr +
		" (ff:ff:ff:ff:ff:ff) tell " + vipAddr
	garps := strings.Count(dump.Output(), garp)
	t0 = time.Now()
	da.kill()
	tp.unplug(a)
	ft = tp.measure(t0, b, masterDown(adv, 100)+3*time.Second, da, db)
	t.Logf("SIGKILL of %s (master): VIP on %s (backup) after %v, client traffic after %v (master down interval %v)",
		da.kind, db.kind, ft.vip.Round(time.Millisecond), ft.traffic.Round(time.Millisecond), masterDown(adv, 100))
	tp.waitNeighbour(b, 3*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for strings.Count(dump.Output(), garp) <= garps {
		if time.Now().After(deadline) {
			t.Fatalf("the client saw no gratuitous ARP from %s (%s):\n%s", db.kind, b.mac, tail(dump.Output(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// B stays master (the dead A still holds the VIP on its unplugged interface).
	tp.stable([]string{"d1", "d2"}, settle(adv), "after the takeover", db)
	tp.waitAnswer(b, time.Second, db)
	if v.v == 2 {
		return // the rest is the same with VRRPv2, only slower
	}

	// A is plugged back and restarted: it removes the VIP its killed predecessor left
	// (keepalived logs "removing VIPs." at startup), then preempts B.
	tp.sw.IP("link", "set", a.port, "up")
	tp.sw.WaitUp(a.port)
	da.run()
	if a.hasVIP() {
		t.Fatalf("restarted %s kept the VIP its killed predecessor left%s", da.kind, logs(da))
	}
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "preemption after a restart", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)
}
