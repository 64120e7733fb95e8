package keepalived

import (
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// TestLVSSyncDaemon reads lvs_sync_daemon's options as keepalived 2.2.7 does. Every message
// is the one keepalived -t -f printed for the same line (with "(Line 2)" before it); where
// keepalived goes on with a default, lvsd reports an error instead, except for the bare
// sync ID, which it takes with keepalived's warning.
func TestLVSSyncDaemon(t *testing.T) {
	const inst = "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 7\n}\n"
	def := config.LVSSyncDaemon{Interface: "eth1", SyncID: -1}
	with := func(f func(*config.LVSSyncDaemon)) *config.LVSSyncDaemon {
		d := def
		f(&d)
		return &d
	}
	tests := []struct {
		line  string // the lvs_sync_daemon line, on line 2
		want  *config.LVSSyncDaemon
		errs  []string
		warns []string
	}{
		{line: "eth1 VI_1", want: &def},
		{line: "eth1 VI_1 id 5", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 5 })},
		{line: "eth1 VI_1 id 0", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 0 })},
		{line: "eth1 VI_1 id 255 maxlen 65507 port 8849 ttl 3 group 224.0.0.82",
			want: &config.LVSSyncDaemon{Interface: "eth1", SyncID: 255, MaxLen: 65507, Port: 8849, TTL: 3, Group: netip.MustParseAddr("224.0.0.82")}},
		{line: "eth1 VI_1 group ff02::1", want: with(func(d *config.LVSSyncDaemon) { d.Group = netip.MustParseAddr("ff02::1") })},
		{line: "eth1 VI_1 id 5 id 6", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 6 })},
		{line: "eth1 inst VI_1 ttl 2", want: with(func(d *config.LVSSyncDaemon) { d.TTL = 2 })},
		// the form before "id": a bare sync ID in fourth place
		{line: "eth1 VI_1 5", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 5 }),
			warns: []string{`2: Please use keyword "id" before lvs_sync_daemon SYNCID`}},
		{line: "eth1 VI_1 005", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 5 }),
			warns: []string{`2: Please use keyword "id" before lvs_sync_daemon SYNCID`}},
		{line: "eth1 VI_1 5 id 6", want: with(func(d *config.LVSSyncDaemon) { d.SyncID = 6 }),
			warns: []string{`2: Please use keyword "id" before lvs_sync_daemon SYNCID`}},
		{line: "eth1 VI_1 300", errs: []string{"2: Invalid syncid (300) - defaulting to vrid"}},
		{line: "eth1 VI_1 foo", errs: []string{"2: Invalid syncid (foo) - defaulting to vrid"}},
		{line: "eth1 VI_1 5 5", errs: []string{"2: Unknown option 5 specified for lvs_sync_daemon"},
			warns: []string{`2: Please use keyword "id" before lvs_sync_daemon SYNCID`}},
		{line: "eth1 VI_1 foo bar", errs: []string{"2: Invalid syncid (foo) - defaulting to vrid", "2: Unknown option bar specified for lvs_sync_daemon"}},
		{line: "eth1 VI_1 id 256", errs: []string{"2: Invalid syncid (256) - defaulting to vrid"}},
		{line: "eth1 VI_1 id -1", errs: []string{"2: Invalid syncid (-1) - defaulting to vrid"}},
		{line: "eth1 VI_1 id x", errs: []string{"2: Invalid syncid (x) - defaulting to vrid"}},
		{line: "eth1 VI_1 id", errs: []string{"2: No value specified for lvs_sync_daemon id, defaulting to vrid"}},
		{line: "eth1 VI_1 maxlen 0", errs: []string{"2: Invalid lvs_sync_daemon maxlen (0) - ignoring"}},
		{line: "eth1 VI_1 maxlen 65508", errs: []string{"2: Invalid lvs_sync_daemon maxlen (65508) - ignoring"}},
		{line: "eth1 VI_1 maxlen", errs: []string{"2: No value specified for lvs_sync_daemon maxlen - ignoring"}},
		{line: "eth1 VI_1 maxlen 100 5", errs: []string{"2: Unknown option 5 specified for lvs_sync_daemon"}},
		{line: "eth1 VI_1 port 0", errs: []string{"2: Invalid lvs_sync_daemon port (0) - ignoring"}},
		{line: "eth1 VI_1 port 65536", errs: []string{"2: Invalid lvs_sync_daemon port (65536) - ignoring"}},
		{line: "eth1 VI_1 ttl 0", errs: []string{"2: Invalid lvs_sync_daemon ttl (0) - ignoring"}},
		{line: "eth1 VI_1 ttl 256", errs: []string{"2: Invalid lvs_sync_daemon ttl (256) - ignoring"}},
		{line: "eth1 VI_1 group 10.0.0.1", errs: []string{"2: lvs_sync_daemon group address 10.0.0.1 is not multicast - ignoring"}},
		{line: "eth1 VI_1 group bogus", errs: []string{"2: Invalid lvs_sync_daemon group (bogus) - ignoring"}},
		{line: "eth1 VI_1 group", errs: []string{"2: No value specified for lvs_sync_daemon group - ignoring"}},
		{line: "eth1 VI_1 group 224.0.0.81 group 10.1.1.1", errs: []string{"2: lvs_sync_daemon group address 10.1.1.1 is not multicast - ignoring"}},
		{line: "eth1 VI_1 id 5 foo", errs: []string{"2: Unknown option foo specified for lvs_sync_daemon"}},
		{line: "eth1 VI_1 inst X", errs: []string{"2: lvs_sync_daemon vrrp instance has already been specified as VI_1 - ignoring"}},
		{line: "interface-too-long0 VI_1", errs: []string{"2: lvs_sync_daemon interface name 'interface-too-long0' too long - ignoring"}},
		// keepalived -t accepts these two; lvsd needs the instance that drives the daemon
		{line: "eth1", errs: []string{"2: lvs_sync_daemon names no vrrp instance"}},
		{line: "eth1 VI_9", errs: []string{"2: lvs_sync_daemon vrrp instance VI_9 not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, errs := parseString("global_defs {\nlvs_sync_daemon "+tt.line+"\n}\n"+inst, Options{})
			checkDiags(t, "error", []config.Diag(errs), tt.errs)
			checkDiags(t, "warning", cfg.Warnings, tt.warns)
			if tt.want == nil {
				return
			}
			if len(cfg.VRRP.Instances) != 1 {
				t.Fatalf("instances: %v", cfg.VRRP.Instances)
			}
			if got := cfg.VRRP.Instances[0].SyncDaemon; got == nil || *got != *tt.want {
				t.Errorf("SyncDaemon %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLVSSyncDaemonTwice: the second lvs_sync_daemon (global or in an instance) is refused
// with keepalived's message; the deprecated instance keyword leaves the options unset.
func TestLVSSyncDaemonTwice(t *testing.T) {
	src := "global_defs {\nlvs_sync_daemon eth1 VI_1 id 3\nlvs_sync_daemon eth2 VI_1\n}\n" +
		"vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 7\n}\n"
	cfg, errs := parseString(src, Options{})
	checkDiags(t, "error", []config.Diag(errs), []string{"3: lvs_sync_daemon has already been specified as eth1 VI_1 - ignoring"})
	if sd := cfg.VRRP.Instances[0].SyncDaemon; sd == nil || sd.Interface != "eth1" || sd.SyncID != 3 {
		t.Errorf("SyncDaemon %+v", sd)
	}

	src = "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 7\nlvs_sync_daemon_interface eth1\n}\n"
	cfg, errs = parseString(src, Options{})
	checkDiags(t, "error", []config.Diag(errs), nil)
	checkDiags(t, "warning", cfg.Warnings, []string{"4: (VI_1) Specifying lvs_sync_daemon_interface against a vrrp is deprecated"})
	if sd := cfg.VRRP.Instances[0].SyncDaemon; sd == nil || *sd != (config.LVSSyncDaemon{Interface: "eth1", SyncID: -1}) {
		t.Errorf("SyncDaemon %+v", sd)
	}
}
