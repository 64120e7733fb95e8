package vrrp

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReload: lvsd (A, master, priority 150) and keepalived (B, 100). A SIGHUP with the
// same file leaves A's instance running untouched: it stays master, the VIP never moves
// and no notify script runs. A SIGHUP after A's priority dropped to 90 restarts A's
// instance (lvsd restarts a changed instance; keepalived would keep its state): it stops
// as at exit (priority 0, VIP removed), B takes over, and A comes back as backup, below
// B. A file with an error is refused as a whole and changes nothing.
func TestReload(t *testing.T) {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	v := versions[1]
	adv := v.interval(t)
	notify := filepath.Join(t.TempDir(), "a.notify")
	confA := inst{Version: v.v, Advert: v.advert, State: "MASTER", Prio: 150, Notify: notify}
	da := tp.start("lvsd", a, confA.conf(t))
	db := tp.start("keepalived", b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100}.conf(t))
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "election", da, db)
	before := readNotify(t, notify, 2, da)

	// Unchanged file: nothing moves.
	if err := da.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !da.proc.WaitOutput("configuration reloaded", 5*time.Second) {
		t.Fatalf("no reload%s", logs(da))
	}
	tp.stable([]string{"d1"}, 5*adv, "after a reload of the same file", da, db)
	st := da.status().Instances[0]
	if st.State != "MASTER" || st.Counters.BecomeMaster != 1 || st.Counters.ReleaseMaster != 0 {
		t.Fatalf("the unchanged instance was disturbed: %+v", st)
	}
	if got := readNotify(t, notify, 2, da); strings.Join(got, "|") != strings.Join(before, "|") {
		t.Fatalf("notify scripts ran on an unchanged reload: %q -> %q", before, got)
	}

	// A broken file: refused, nothing moves.
	if err := os.WriteFile(da.conf, []byte(confA.conf(t)+"vrrp_instance {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := da.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !da.proc.WaitOutput("reload refused", 5*time.Second) {
		t.Fatalf("a broken file was not refused%s", logs(da))
	}
	tp.stable([]string{"d1"}, 3*adv, "after a refused reload", da, db)

	// A's priority drops below B's: its instance restarts and B takes over.
	confA.Prio = 90
	if err := os.WriteFile(da.conf, []byte(confA.conf(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := da.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	tp.waitHolder(b, masterDown(adv, 100)+3*time.Second, "after A's priority dropped", da, db)
	tp.stable([]string{"d2"}, 5*adv, "A (90) must stay backup", da, db)
	st = da.status().Instances[0]
	if st.State != "BACKUP" || st.Priority != 90 {
		t.Fatalf("A after the reload: %+v", st)
	}
	got := readNotify(t, notify, 4, da)
	if strings.Join(got[len(before):], "|") != "INSTANCE VI_1 STOP 150|INSTANCE VI_1 BACKUP 90" {
		t.Fatalf("notify calls of the restart: %q", got[len(before):])
	}
}
