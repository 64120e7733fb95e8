package vrrp

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readNotify returns the lines a notify file holds, waiting (bounded) for at least n.
func readNotify(t *testing.T, path string, n int, ds ...*daemon) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(b) == 0 {
			lines = nil
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %q, want %d lines%s", path, lines, n, logs(ds...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoPreempt: both directors "state BACKUP" with nopreempt, A priority 150, B 100;
// B starts first and becomes master; A, started later, stays backup for longer than its
// master down interval (nopreempt), then takes over when B stops. Run with lvsd as A and
// keepalived as B, then the other way round; the notify scripts of A must see the same
// transitions, with the same arguments, whichever daemon A is.
func TestNoPreempt(t *testing.T) {
	for _, v := range versions {
		seen := map[string]string{}
		for _, aKind := range []string{"lvsd", "keepalived"} {
			t.Run(v.name+"/"+aKind+"-A", func(t *testing.T) { seen[aKind] = noPreempt(t, v, aKind) })
		}
		if seen["lvsd"] != "" && seen["lvsd"] != seen["keepalived"] {
			t.Errorf("%s: A's notify calls differ:\nlvsd:       %s\nkeepalived: %s", v.name, seen["lvsd"], seen["keepalived"])
		}
	}
}

func noPreempt(t *testing.T, v version, aKind string) string {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	adv := v.interval(t)
	notify := filepath.Join(t.TempDir(), "a.notify")
	db := tp.start(other(aKind), b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100, NoPreempt: true}.conf(t))
	tp.waitHolder(b, masterDown(adv, 100)+3*time.Second, "B alone", db)
	da := tp.start(aKind, a, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 150, NoPreempt: true, Notify: notify}.conf(t))
	tp.stable([]string{"d2"}, masterDown(adv, 150)+settle(adv), "nopreempt: A must not take over", da, db)
	if aKind == "lvsd" {
		if st := da.status().Instances[0]; st.State != "BACKUP" || st.Counters.BecomeMaster != 0 || st.MasterPriority != 100 {
			t.Fatalf("lvsd as A: %+v", st)
		}
	}
	db.term()
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "A after B stopped", da, db)
	tp.waitAnswer(a, 3*time.Second, da, db)
	return strings.Join(readNotify(t, notify, 2, da), " | ")
}

// TestPreemptDelayAndTrackScript: A (priority 150, preempt_delay, a track_script of
// weight -60 that succeeds while a flag file exists) and B (priority 100), both "state
// BACKUP". B starts first and is master; A preempts it, but only after preempt_delay.
// Then A's script fails: A's priority drops to 90, below B's, and B takes the VIP back;
// with VRRPv3 the flag returns and A preempts again after the delay. lvsd plays A, then
// B; A's notify calls and the takeover times are compared.
func TestPreemptDelayAndTrackScript(t *testing.T) {
	for _, v := range versions {
		seen := map[string]string{}
		for _, aKind := range []string{"lvsd", "keepalived"} {
			t.Run(v.name+"/"+aKind+"-A", func(t *testing.T) { seen[aKind] = preemptDelay(t, v, aKind) })
		}
		if seen["lvsd"] != "" && seen["lvsd"] != seen["keepalived"] {
			t.Errorf("%s: A's notify calls differ:\nlvsd:       %s\nkeepalived: %s", v.name, seen["lvsd"], seen["keepalived"])
		}
	}
}

func preemptDelay(t *testing.T, v version, aKind string) string {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	adv := v.interval(t)
	delay := 2 * time.Second
	if v.v == 3 {
		delay = time.Second
	}
	dir := t.TempDir()
	flag, notify := filepath.Join(dir, "healthy"), filepath.Join(dir, "a.notify")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db := tp.start(other(aKind), b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100}.conf(t))
	tp.waitHolder(b, masterDown(adv, 100)+3*time.Second, "B alone", db)

	start := time.Now()
	da := tp.start(aKind, a, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 150,
		PreemptDelay: strconv.Itoa(int(delay / time.Second)), Flag: flag, Weight: -60, Notify: notify}.conf(t))
	tp.waitHolder(a, delay+masterDown(adv, 150)+2*adv+3*time.Second, "A preempts after the delay", da, db)
	took := time.Since(start)
	t.Logf("%s as A preempted %v after it started (preempt_delay %v, master down interval %v)",
		aKind, took.Round(time.Millisecond), delay, masterDown(adv, 150))
	if took < delay {
		t.Fatalf("A preempted after %v, before its preempt_delay %v%s", took, delay, logs(da, db))
	}

	// The track script fails: 150 - 60 = 90 < 100, B takes over.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	failed := time.Now()
	tp.waitHolder(b, time.Second+masterDown(adv, 100)+3*time.Second, "B after A's script failed", da, db)
	t.Logf("%s as B took over %v after A's script started failing", db.kind, time.Since(failed).Round(time.Millisecond))
	tp.waitAnswer(b, 3*time.Second, da, db)
	if aKind == "lvsd" {
		if st := da.status().Instances[0]; st.State != "BACKUP" || st.Priority != 90 {
			t.Fatalf("lvsd as A with a failing script: %+v", st)
		}
	}
	want := 3 // BACKUP (start), MASTER, BACKUP (script)
	if v.v == 3 {
		// The flag returns: A's priority is 150 again and it preempts after the delay.
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		tp.waitHolder(a, time.Second+delay+masterDown(adv, 150)+2*adv+3*time.Second, "A after its script recovered", da, db)
		if d := time.Since(back); d < delay {
			t.Fatalf("A preempted %v after recovering, before its preempt_delay %v", d, delay)
		}
		want = 4 // and MASTER
	}
	return strings.Join(readNotify(t, notify, want, da, db), " | ")
}
