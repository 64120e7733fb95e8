package failover

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/vrrp"
)

// fakeSyncer records daemon commands and answers like the ipvs engine: starting a
// running role is lb.ErrServiceExists, stopping a stopped one lb.ErrNoService.
type fakeSyncer struct {
	running map[bool]engine.SyncDaemon
	calls   []string
}

func (f *fakeSyncer) StartDaemon(d engine.SyncDaemon) error {
	f.calls = append(f.calls, fmt.Sprintf("start %s %s %d", role(d.Backup), d.MCastIfn, d.SyncID))
	if _, ok := f.running[d.Backup]; ok {
		return lb.ErrServiceExists
	}
	f.running[d.Backup] = d
	return nil
}

func (f *fakeSyncer) StopDaemon(backup bool) error {
	f.calls = append(f.calls, "stop "+role(backup))
	if _, ok := f.running[backup]; !ok {
		return lb.ErrNoService
	}
	delete(f.running, backup)
	return nil
}

func TestSyncDaemonFollowsState(t *testing.T) {
	f := &fakeSyncer{running: map[bool]engine.SyncDaemon{}}
	in := &config.VRRPInstance{Name: "VI_1", VRID: 51, SyncDaemon: &config.LVSSyncDaemon{Interface: "eth1", SyncID: -1}}
	a := &actions{scripts: map[notifyKey]notifyScripts{}, syncds: map[string]*syncd{},
		log: slog.New(slog.DiscardHandler)}
	a.syncds[in.Name] = newSyncd(f, in, a.log)
	steps := []struct {
		n    vrrp.Notification
		want string // the calls, and then the running roles
	}{
		{vrrp.Notification{Name: "VI_1", State: vrrp.Backup}, "stop master, start backup eth1 51 | backup"},
		{vrrp.Notification{Name: "VI_1", State: vrrp.Master}, "stop backup, start master eth1 51 | master"},
		{vrrp.Notification{Group: true, Name: "VI_1", State: vrrp.Backup}, " | master"}, // a group of that name: not the instance
		{vrrp.Notification{Name: "other", State: vrrp.Backup}, " | master"},
		{vrrp.Notification{Name: "VI_1", State: vrrp.Fault}, "stop master, start backup eth1 51 | backup"},
		{vrrp.Notification{Name: "VI_1", State: vrrp.Stop}, "stop master, stop backup | "},
	}
	for i, s := range steps {
		f.calls = nil
		a.Notify(s.n)
		var roles []string
		for _, b := range []bool{false, true} {
			if _, ok := f.running[b]; ok {
				roles = append(roles, role(b))
			}
		}
		if got := strings.Join(f.calls, ", ") + " | " + strings.Join(roles, " "); got != s.want {
			t.Errorf("step %d (%s %v): %q, want %q", i, s.n.Name, s.n.State, got, s.want)
		}
	}
	if newSyncd(nil, in, a.log) != nil || newSyncd(f, &config.VRRPInstance{Name: "x"}, a.log) != nil {
		t.Error("a sync daemon without a Syncer or without lvs_sync_daemon")
	}
}

func (f *fakeSyncer) Daemons() ([]engine.SyncDaemon, error) {
	var ds []engine.SyncDaemon
	for _, d := range f.running {
		ds = append(ds, d)
	}
	return ds, nil
}

// TestSyncDaemonSettings: both daemons get lvs_sync_daemon's settings; the sync ID is the
// id option when given (0 included), else the virtual router ID.
func TestSyncDaemonSettings(t *testing.T) {
	group := netip.MustParseAddr("224.0.0.82")
	for _, tt := range []struct {
		name string
		sd   config.LVSSyncDaemon
		want engine.SyncDaemon
	}{
		{"defaults", config.LVSSyncDaemon{Interface: "eth1", SyncID: -1},
			engine.SyncDaemon{MCastIfn: "eth1", SyncID: 51}},
		{"id 0", config.LVSSyncDaemon{Interface: "eth1", SyncID: 0},
			engine.SyncDaemon{MCastIfn: "eth1", SyncID: 0}},
		{"all options", config.LVSSyncDaemon{Interface: "sync0", SyncID: 9, MaxLen: 1400, Port: 8849, TTL: 2, Group: group},
			engine.SyncDaemon{MCastIfn: "sync0", SyncID: 9, SyncMaxLen: 1400, MCastPort: 8849, MCastTTL: 2, MCastGroup: group}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSyncer{running: map[bool]engine.SyncDaemon{}}
			in := &config.VRRPInstance{Name: "VI_1", VRID: 51, SyncDaemon: &tt.sd}
			s := newSyncd(f, in, slog.New(slog.DiscardHandler))
			s.follow(vrrp.Backup)
			want := tt.want
			want.Backup = true
			if got := f.running[true]; got != want {
				t.Errorf("backup daemon %+v, want %+v", got, want)
			}
			s.follow(vrrp.Master)
			want.Backup = false
			if got, ok := f.running[false]; !ok || got != want || len(f.running) != 1 {
				t.Errorf("master daemon %+v (running %v), want %+v", got, f.running, want)
			}
		})
	}
}
