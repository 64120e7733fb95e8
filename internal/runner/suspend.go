package runner

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/vip"
)

// Suspender is the part of the health monitor ha_suspend drives: health.Monitor's
// Suspend.
type Suspender interface {
	Suspend(k lb.ServiceKey, on bool) error
}

// suspender implements keepalived's ha_suspend (update_checker_activity in
// keepalived/check/ipwrapper.c): the checks of a virtual server with ha_suspend run only
// while its address is configured on the host, whoever put it there (lvsd's VRRP,
// keepalived, an operator). It follows the host's addresses from WatchAddrs. Owned by
// Run's goroutine.
type suspender struct {
	log     *slog.Logger
	watched bool                   // the addresses are followed
	present map[netip.Addr]bool    // addresses on the host
	svcs    map[lb.ServiceKey]bool // ha_suspend services -> suspended
	warned  bool
}

// start begins following the host's addresses; the channel is nil when they cannot be
// followed (then ha_suspend services are checked all the time, with a warning).
func (s *suspender) start(ctx context.Context, watch func(context.Context) (<-chan vip.AddrEvent, error), log *slog.Logger) <-chan vip.AddrEvent {
	s.log, s.present, s.svcs = log, map[netip.Addr]bool{}, map[lb.ServiceKey]bool{}
	if watch == nil {
		return nil
	}
	ch, err := watch(ctx)
	if err != nil {
		log.Warn("cannot follow the host's addresses: ha_suspend services are checked all the time", "err", err)
		s.warned = true
		return nil
	}
	s.watched = true
	// The current addresses come first and at once; take them before the checks start.
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			s.present[ev.Addr] = ev.Present
			continue
		default:
		}
		return ch
	}
}

// apply suspends or resumes the checks of every ha_suspend service of cfg as its
// address is absent or present. The monitor starts new ha_suspend services suspended.
func (s *suspender) apply(cfg *config.Config, mon Suspender) {
	old := s.svcs
	s.svcs = map[lb.ServiceKey]bool{}
	for _, svc := range cfg.Services {
		if !svc.HASuspend || svc.IsFWMark() {
			continue
		}
		was, known := old[svc.ServiceKey]
		if !known {
			was = true // the monitor starts it suspended
		}
		s.svcs[svc.ServiceKey] = was
		s.set(svc.ServiceKey, mon)
		if !s.watched && !s.warned {
			s.warned = true
			s.log.Warn("the host's addresses are not followed: ha_suspend services are checked all the time", "service", svc.ServiceKey.String())
		}
	}
}

// addr records an address event and resumes or suspends the services on it.
func (s *suspender) addr(ev vip.AddrEvent, mon Suspender) {
	s.present[ev.Addr] = ev.Present
	for k := range s.svcs {
		if k.Addr.Unmap() == ev.Addr {
			s.set(k, mon)
		}
	}
}

// set makes service k's suspension match its address's presence.
func (s *suspender) set(k lb.ServiceKey, mon Suspender) {
	want := s.watched && !s.present[k.Addr.Unmap()]
	if err := mon.Suspend(k, want); err != nil {
		s.log.Warn("ha_suspend", "service", k.String(), "err", err)
		return
	}
	if s.svcs[k] == want {
		return
	}
	s.svcs[k] = want
	if want {
		s.log.Info("Suspending healthchecker for VS (its address left this host: ha_suspend)", "service", k.String())
	} else {
		s.log.Info("Activating healthchecker for VS (its address is on this host: ha_suspend)", "service", k.String())
	}
}
