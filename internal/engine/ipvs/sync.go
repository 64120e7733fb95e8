package ipvs

import (
	"fmt"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
)

// StartDaemon starts the kernel's master or backup connection-sync daemon (ipvsadm
// --start-daemon). It fails wrapping lb.ErrServiceExists (and EEXIST) when one of that
// role runs, lb.ErrInvalid (EINVAL) for a group that is not multicast or while a service
// has a real of another address family, and ENODEV for an unknown interface.
func (e *Engine) StartDaemon(d engine.SyncDaemon) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if err := e.c.NewDaemon(KernelDaemon(d)); err != nil {
		return fmt.Errorf("ipvs engine: %w", kernelError(ipvsnl.CmdNewDaemon, err))
	}
	e.started[daemonState(d.Backup)-1] = true
	return nil
}

// StopDaemon stops the master (backup false) or backup daemon (ipvsadm --stop-daemon).
// It fails wrapping lb.ErrNoService (and ESRCH) when none runs.
func (e *Engine) StopDaemon(backup bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if err := e.c.DelDaemon(daemonState(backup)); err != nil {
		return fmt.Errorf("ipvs engine: %w", kernelError(ipvsnl.CmdDelDaemon, err))
	}
	e.started[daemonState(backup)-1] = false
	return nil
}

// Daemons returns the kernel's running sync daemons, master first, with the settings the
// kernel uses (its defaults where none were given: group 224.0.0.81, port 8848, TTL 1,
// sync_maxlen from the interface's MTU). Daemons started by others are listed too.
func (e *Engine) Daemons() ([]engine.SyncDaemon, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	ds, err := e.c.Daemons()
	if err != nil {
		return nil, fmt.Errorf("ipvs engine: %w", err)
	}
	out := make([]engine.SyncDaemon, 0, len(ds))
	for i := range ds {
		out = append(out, ModelDaemon(&ds[i]))
	}
	return out, nil
}
