package vrrp

import (
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// notifyStep is one event of a notification scenario and the notifications it must
// produce, in order.
type notifyStep struct {
	name string
	do   func(l *lab, n *node)
	want []string
}

func setLink(ifname string, up bool) func(*lab, *node) {
	return func(_ *lab, n *node) {
		n.r.SetLink(ifname, up)
		n.r.drain()
	}
}

func setScript(name string, ok bool) func(*lab, *node) {
	return func(_ *lab, n *node) {
		n.r.SetScript(name, ok)
		n.r.drain()
	}
}

func runFor(d time.Duration) func(*lab, *node) {
	return func(l *lab, _ *node) { l.run(d) }
}

func stop(_ *lab, n *node) { n.r.shutdown() }

// notifications returns the notify actions, without the others.
func notifications(actions []string) []string {
	var out []string
	for _, a := range actions {
		if s, ok := strings.CutPrefix(a, "notify "); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestSyncGroupNotifySequence checks the order of instance and group notifications
// against keepalived 2.2.7. The wanted sequences are what the Debian 2.2.7 binary wrote
// to its vrrp_notify_fifo, in order, for the same configuration and events (a sync group
// G of EXT, priority 100, and INT, priority 50, on their own interfaces, and SOLO,
// priority 100, in no group; no peer) run in network namespaces, with the link changes
// made by `ip link set`. Its notify scripts ran in the same order and with the same
// arguments. send_instance_notifies silences a member once it has notified, while its
// state equals its group's; the sync functions set the group's state after moving the
// members, so the member that moves first notifies first, then the others in group
// order, then the group.
func TestSyncGroupNotifySequence(t *testing.T) {
	withSolo := func() *config.VRRP {
		cfg := groupCfg(100, 50)
		solo := instCfg("SOLO", 3, 100, "10.2.0.100/24")
		solo.Interface = "eth2"
		cfg.Instances = append(cfg.Instances, solo)
		return cfg
	}
	withScript := func() *config.VRRP {
		cfg := groupCfg(100, 50)
		cfg.Instances[1].TrackScripts = []config.TrackScript{{Name: "chk"}}
		cfg.Scripts = []*config.VRRPScript{scriptCfg("chk", 0)}
		return cfg
	}
	for _, tt := range []struct {
		name  string
		cfg   func() *config.VRRP
		steps []notifyStep
	}{
		{"links", withSolo, []notifyStep{
			{"start", nil, []string{
				"GROUP G BACKUP 0", "INSTANCE EXT BACKUP 100", "INSTANCE INT BACKUP 50", "INSTANCE SOLO BACKUP 100"}},
			// EXT's down timer expires first but waits for INT to want MASTER; INT
			// takes the group with it.
			{"BACKUP to MASTER", runFor(7 * time.Second), []string{
				"INSTANCE SOLO MASTER 100", "INSTANCE INT MASTER 50", "INSTANCE EXT MASTER 100", "GROUP G MASTER 0"}},
			{"MASTER to FAULT, INT's link down", setLink("eth1", false), []string{
				"INSTANCE INT FAULT 50", "INSTANCE EXT FAULT 100", "GROUP G FAULT 0"}},
			// EXT is already FAULT with its group: a fault of its own is silent.
			{"EXT's link down too", setLink("eth0", false), nil},
			{"SOLO's link down", setLink("eth2", false), []string{"INSTANCE SOLO FAULT 100"}},
			{"EXT's link up, INT's still down", setLink("eth0", true), nil},
			{"SOLO's link up", setLink("eth2", true), []string{"INSTANCE SOLO BACKUP 100"}},
			{"FAULT to BACKUP, INT's link up", setLink("eth1", true), []string{
				"INSTANCE INT BACKUP 50", "INSTANCE EXT BACKUP 100", "GROUP G BACKUP 0"}},
			{"BACKUP to MASTER again", runFor(7 * time.Second), []string{
				"INSTANCE SOLO MASTER 100", "INSTANCE INT MASTER 50", "INSTANCE EXT MASTER 100", "GROUP G MASTER 0"}},
			{"stop", stop, []string{
				"INSTANCE EXT STOP 100", "INSTANCE INT STOP 50", "INSTANCE SOLO STOP 100", "GROUP G STOP 0"}},
		}},
		{"weight-0 script not reported yet", withScript, []notifyStep{
			// The group is INIT, its members FAULT without notifying.
			{"start", nil, nil},
			{"INT's link down", setLink("eth1", false), []string{"INSTANCE INT FAULT 50", "GROUP G FAULT 0"}},
			// INT's fault clears but its script has not reported: the group is INIT.
			{"INT's link up", setLink("eth1", true), nil},
			// Back to FAULT from INIT: keepalived notifies FAULT again, for INT and
			// for the group.
			{"first result fails", setScript("chk", false), []string{"INSTANCE INT FAULT 50", "GROUP G FAULT 0"}},
			{"FAULT to BACKUP, script succeeds", setScript("chk", true), []string{
				"INSTANCE INT BACKUP 50", "INSTANCE EXT BACKUP 100", "GROUP G BACKUP 0"}},
			{"BACKUP to MASTER", runFor(7 * time.Second), []string{
				"INSTANCE INT MASTER 50", "INSTANCE EXT MASTER 100", "GROUP G MASTER 0"}},
			{"stop", stop, []string{"INSTANCE EXT STOP 100", "INSTANCE INT STOP 50", "GROUP G STOP 0"}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			n := l.add(tt.cfg(), "10.0.0.1", nil)
			for _, s := range tt.steps {
				if s.do != nil {
					s.do(l, n)
				}
				got := notifications(n.act.take())
				if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
					t.Errorf("%s: notifications\n  %s\nwant\n  %s", s.name, strings.Join(got, "\n  "), strings.Join(s.want, "\n  "))
				}
			}
		})
	}
}
