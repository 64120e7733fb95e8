package failover

import (
	"errors"
	"log/slog"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/vrrp"
)

// syncd drives the IPVS connection-sync daemon from one VRRP instance's state, as
// keepalived's lvs_sync_daemon does (vrrp.c: vrrp_state_become_master calls
// ipvs_syncd_master, which stops the backup daemon and starts the master one; leaving
// MASTER calls ipvs_syncd_backup, the other way round). The sync ID is the instance's
// virtual router ID, keepalived's default when lvs_sync_daemon names no id.
type syncd struct {
	syncer engine.Syncer
	iface  string
	syncID uint8
	log    *slog.Logger
}

func newSyncd(s engine.Syncer, in *config.VRRPInstance, log *slog.Logger) *syncd {
	if s == nil || in.LVSSyncDaemon == "" {
		return nil
	}
	return &syncd{syncer: s, iface: in.LVSSyncDaemon, syncID: uint8(in.VRID), log: log}
}

// follow switches the daemons for state st: MASTER runs the master daemon, BACKUP and
// FAULT the backup daemon, STOP neither. Errors are logged: a daemon that cannot start
// must not stop failover.
func (s *syncd) follow(st vrrp.State) {
	switch st {
	case vrrp.Master:
		s.stop(true)
		s.start(false)
	case vrrp.Backup, vrrp.Fault:
		s.stop(false)
		s.start(true)
	case vrrp.Stop:
		s.stop(false)
		s.stop(true)
	}
}

func (s *syncd) start(backup bool) {
	err := s.syncer.StartDaemon(engine.SyncDaemon{Backup: backup, MCastIfn: s.iface, SyncID: s.syncID})
	if err != nil && !errors.Is(err, lb.ErrServiceExists) {
		s.log.Error("lvs_sync_daemon: cannot start the sync daemon", "role", role(backup), "interface", s.iface, "err", err)
		return
	}
	s.log.Info("lvs_sync_daemon: sync daemon running", "role", role(backup), "interface", s.iface, "syncid", s.syncID)
}

func (s *syncd) stop(backup bool) {
	if err := s.syncer.StopDaemon(backup); err != nil && !errors.Is(err, lb.ErrNoService) {
		s.log.Error("lvs_sync_daemon: cannot stop the sync daemon", "role", role(backup), "err", err)
	}
}

func role(backup bool) string {
	if backup {
		return "backup"
	}
	return "master"
}
