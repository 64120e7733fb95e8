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
// MASTER calls ipvs_syncd_backup, the other way round). Both daemons get the same settings:
// lvs_sync_daemon's interface, id (default: the instance's virtual router ID), maxlen, port,
// ttl and group (the kernel's defaults when not given).
type syncd struct {
	syncer engine.Syncer
	daemon engine.SyncDaemon // Backup is set per start
	log    *slog.Logger
}

func newSyncd(s engine.Syncer, in *config.VRRPInstance, log *slog.Logger) *syncd {
	sd := in.SyncDaemon
	if s == nil || sd == nil {
		return nil
	}
	id := uint8(in.VRID)
	if sd.SyncID >= 0 {
		id = uint8(sd.SyncID)
	}
	return &syncd{syncer: s, log: log, daemon: engine.SyncDaemon{MCastIfn: sd.Interface, SyncID: id,
		SyncMaxLen: sd.MaxLen, MCastGroup: sd.Group, MCastPort: sd.Port, MCastTTL: sd.TTL}}
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
	d := s.daemon
	d.Backup = backup
	err := s.syncer.StartDaemon(d)
	if err != nil && !errors.Is(err, lb.ErrServiceExists) {
		s.log.Error("lvs_sync_daemon: cannot start the sync daemon", "role", role(backup), "interface", d.MCastIfn, "err", err)
		return
	}
	s.log.Info("lvs_sync_daemon: sync daemon running", "role", role(backup), "interface", d.MCastIfn, "syncid", d.SyncID)
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
