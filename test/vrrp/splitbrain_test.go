package vrrp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nstest"
)

// cutVRRP makes n drop every VRRP packet it receives (an nftables input rule in its
// namespace), or removes that rule again.
func cutVRRP(t *testing.T, n *node, cut bool) {
	t.Helper()
	if !cut {
		if out, err := n.ns.Exec("nft", "delete", "table", "ip", "golvs_cut"); err != nil {
			t.Fatalf("nft in %s: %v: %s", n.name, err, out)
		}
		return
	}
	rules := "table ip golvs_cut {\n  chain in {\n    type filter hook input priority 0; policy accept;\n    ip protocol vrrp drop\n  }\n}\n"
	p := filepath.Join(t.TempDir(), "cut.nft")
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := n.ns.Exec("nft", "-f", p); err != nil {
		t.Fatalf("nft in %s: %v: %s", n.name, err, out)
	}
}

// TestSplitBrain: the VRRP link between the directors is cut (each drops the other's
// adverts with nftables; the client still reaches both), so the backup's master down
// timer runs out and both become MASTER with the VIP; healed, the adverts meet and
// exactly one master stays: the higher priority, or with equal priorities the higher
// primary IP address (d2, 10.99.0.2), the other going back to BACKUP.
//
// keepalived 2.2.7 against itself in this topology (the "keepalived-keepalived" case,
// kept as the reference) does exactly that: during the cut both log "Entering MASTER
// STATE" and hold the VIP; on healing, the one with the lower priority, or with equal
// priorities the lower address, logs "Master received advert from 10.99.0.2 with same
// priority 100 but higher IP address than ours" (or "... with higher priority") and
// "Entering BACKUP STATE", while the winner logs "Received advert from ... with lower
// priority ..., forcing new election" and sends gratuitous ARPs again. lvsd does the
// same in both roles.
func TestSplitBrain(t *testing.T) {
	nstest.Require(t, "nft")
	cases := []struct {
		name         string
		v            version
		aKind, bKind string
		aPrio, bPrio int
		winner       int // index of the director that must stay master
	}{
		{"v2/equal-priority/lvsd-keepalived", versions[0], "lvsd", "keepalived", 100, 100, 1},
		{"v3/equal-priority/keepalived-lvsd", versions[1], "keepalived", "lvsd", 100, 100, 1},
		{"v3/priority/lvsd-keepalived", versions[1], "lvsd", "keepalived", 150, 100, 0},
		{"v3/priority/keepalived-lvsd", versions[1], "keepalived", "lvsd", 100, 150, 1},
		{"v3/equal-priority/keepalived-keepalived", versions[1], "keepalived", "keepalived", 100, 100, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := newTopo(t, 2)
			a, b := tp.dirs[0], tp.dirs[1]
			// Skip by capability: the kernel must have nf_tables.
			if out, err := a.ns.Exec("nft", "add", "table", "ip", "golvs_probe"); err != nil {
				t.Skipf("nftables does not work here: %v: %s", err, out)
			}
			adv := c.v.interval(t)
			da := tp.start(c.aKind, a, inst{Version: c.v.v, Advert: c.v.advert, State: "BACKUP", Prio: c.aPrio}.conf(t))
			db := tp.start(c.bKind, b, inst{Version: c.v.v, Advert: c.v.advert, State: "BACKUP", Prio: c.bPrio}.conf(t))
			// The first master: the higher priority (a lower one whose timer ran out
			// first is preempted at once), or with equal priorities whoever was first.
			first := tp.settled(masterDown(adv, min(c.aPrio, c.bPrio))+3*time.Second, settle(adv), da, db)
			if c.aPrio != c.bPrio && first != tp.dirs[c.winner] {
				t.Fatalf("first master %s, want the higher priority%s", first.name, logs(da, db))
			}

			cutVRRP(t, a, true)
			cutVRRP(t, b, true)
			deadline := time.Now().Add(masterDown(adv, min(c.aPrio, c.bPrio)) + 3*time.Second)
			for strings.Join(tp.holders(), ",") != "d1,d2" {
				if time.Now().After(deadline) {
					t.Fatalf("cut: VIP on %v, want both (split brain)%s", tp.holders(), logs(da, db))
				}
				time.Sleep(20 * time.Millisecond)
			}
			tp.stable([]string{"d1", "d2"}, settle(adv), "during the cut", da, db)

			cutVRRP(t, a, false)
			cutVRRP(t, b, false)
			win := tp.dirs[c.winner]
			tp.waitHolder(win, 3*adv+2*time.Second, "healed", da, db)
			tp.stable([]string{win.name}, 2*adv, "after healing", da, db)
			tp.waitAnswer(win, 3*time.Second, da, db)
			tp.waitNeighbour(win, 3*time.Second)
		})
	}
}
