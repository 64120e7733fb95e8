package vrrp

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMeasureFailover measures takeovers in the topology of TestFailover, repeated
// GOLVS_VRRP_MEASURE times (the test is skipped without it): for VRRPv2 (advert_int 1)
// and VRRPv3 (advert_int 0.1), with lvsd as the backup (keepalived the master) and with
// keepalived as the backup (lvsd the master), the time from the master's clean stop and
// from its death (SIGKILL and cable pulled) to the VIP on the backup and to the client's
// traffic reaching the backup. It reports medians and ranges; it asserts nothing on time.
//
//	sudo GOLVS_VRRP_MEASURE=10 go test -run TestMeasureFailover -v -timeout 30m ./test/vrrp
func TestMeasureFailover(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GOLVS_VRRP_MEASURE"))
	if n <= 0 {
		t.Skip("set GOLVS_VRRP_MEASURE=N to measure N takeovers per case")
	}
	var report []string
	for _, v := range versions {
		for _, backup := range []string{"lvsd", "keepalived"} {
			var stop, kill []failoverTimes
			for i := 0; i < n; i++ {
				t.Run(fmt.Sprintf("%s/%s-backup/%d", v.name, backup, i), func(t *testing.T) {
					s, k := measureOnce(t, v, other(backup), backup)
					stop, kill = append(stop, s), append(kill, k)
				})
			}
			adv := v.interval(t)
			report = append(report,
				fmt.Sprintf("%s advert %v, %s backup, clean stop: VIP %s; traffic %s", v.name, adv, backup, stats(stop, true), stats(stop, false)),
				fmt.Sprintf("%s advert %v, %s backup, SIGKILL:    VIP %s; traffic %s (master down interval %v)", v.name, adv, backup,
					stats(kill, true), stats(kill, false), masterDown(adv, 100)))
		}
	}
	t.Log("takeover times, median [min - max] over " + strconv.Itoa(n) + " runs:\n" + strings.Join(report, "\n"))
}

// measureOnce runs one clean stop and one death of the master.
func measureOnce(t *testing.T, v version, masterKind, backupKind string) (stop, kill failoverTimes) {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	adv := v.interval(t)
	da := tp.start(masterKind, a, inst{Version: v.v, Advert: v.advert, State: "MASTER", Prio: 150}.conf(t))
	db := tp.start(backupKind, b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100}.conf(t))
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "election", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)

	t0 := time.Now()
	if err := da.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stop = tp.measure(t0, b, masterDown(adv, 100)+3*time.Second, da, db)
	if done, _ := da.proc.Wait(10 * time.Second); !done {
		t.Fatalf("%s did not stop", da.kind)
	}
	da.run()
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "preemption", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)
	// Let the master settle, then kill it at a random point of its advert cycle.
	time.Sleep(time.Duration(1+int(adv/time.Second))*time.Second + rand.N(adv))

	t0 = time.Now()
	da.kill()
	tp.unplug(a)
	kill = tp.measure(t0, b, masterDown(adv, 100)+3*time.Second, da, db)
	return stop, kill
}

// stats formats the median and range of the VIP or traffic times.
func stats(fs []failoverTimes, vip bool) string {
	var ds []time.Duration
	for _, f := range fs {
		if vip {
			ds = append(ds, f.vip)
		} else {
			ds = append(ds, f.traffic)
		}
	}
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	med := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("%s [%s - %s]", r(med), r(ds[0]), r(ds[len(ds)-1]))
}
