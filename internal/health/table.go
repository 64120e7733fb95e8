package health

import (
	"fmt"
	"net/netip"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// ActionKind names a command the table logic asks to run.
type ActionKind string

// Action kinds.
const (
	NotifyUp   ActionKind = "notify_up"   // a real came up: its NotifyUp
	NotifyDown ActionKind = "notify_down" // a real went down (or was removed while up): NotifyDown
	QuorumUp   ActionKind = "quorum_up"   // a service gained quorum: its QuorumUp
	QuorumDown ActionKind = "quorum_down" // a service lost quorum: its QuorumDown
	Callback   ActionKind = "callback"    // the configuration changed: Global.Callback (ldirectord)
)

// Action is a command to run because of a change, in the order keepalived runs them. An
// action is emitted even when no command is configured for it (Command is then ""), so
// that it can be logged and shown; the Notifier skips those.
type Action struct {
	Kind    ActionKind     `json:"kind"`
	Service lb.ServiceKey  `json:"service"`
	Real    netip.AddrPort `json:"real,omitzero"` // for NotifyUp and NotifyDown
	// Command is the configured command line, split into arguments as keepalived splits
	// it (see SplitCommand); Args are appended to it.
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Reason says why, in keepalived's words ("Lost quorum 3-0=3 > 2").
	Reason string `json:"reason"`
}

// Table is the table logic: from the configuration and the health of every real, it
// computes the virtual-service table to apply and the commands to run, keepalived's way
// (keepalived/check/ipwrapper.c, 2.2):
//
//   - an up real is in the table at its weight (the one a check set, else the configured
//     one); a down real is removed, or kept at weight 0 with InhibitOnFailure;
//   - quorum: the sum of the weights of the up reals is compared with Quorum, with
//     Hysteresis: quorum is gained at Quorum+Hysteresis and lost below
//     Quorum-Hysteresis, or when the sum is 0 (update_quorum_state);
//   - when quorum is lost and a sorry server is configured, the sorry server is added at
//     weight 1 and the reals still up are removed from the table (inhibited ones stay at
//     weight 0) (perform_quorum_state); when quorum is regained, the sorry server is
//     removed (kept at weight 0 with Sorry.Inhibit) and the live reals come back;
//   - a real's NotifyUp/NotifyDown runs when it changes state, before the service's
//     QuorumUp/QuorumDown if that change moved the quorum (perform_svr_state).
//
// A Table does no I/O and reads no clock. It is not safe for concurrent use: one goroutine
// owns it (the Monitor's, when the Monitor runs it).
type Table struct {
	changes  uint64 // counts changes of State
	services []*tableService
	byKey    map[lb.ServiceKey]*tableService
	timeouts lb.Timeouts
}

type tableService struct {
	t           *Table
	key         lb.ServiceKey
	cfg         *config.Service
	reals       []*tableReal
	byAddr      map[netip.AddrPort]*tableReal
	quorumUp    bool
	sorryActive bool        // the sorry server serves (keepalived: s_svr alive)
	built       *lb.Service // cache of build(); nil when stale
}

type tableReal struct {
	cfg   *config.Real
	alive bool
	dyn   int32 // weight set by a check, -1 for the configured one
}

// NewTable returns the table of cfg at start, with the reals in health h (InitialHealth
// when the checks have not run), and the actions to run at start. As keepalived's
// set_quorum_states and init_service_vs do, a service starts with quorum when the weights
// of its up reals reach Quorum+Hysteresis; one that starts without quorum gets its sorry
// server and runs QuorumDown ("Starting with quorum down") when it has a sorry server, and
// runs nothing otherwise. No NotifyUp runs for the reals up at start (keepalived's
// rs_init_notifies is off by default).
func NewTable(cfg *config.Config, h Health) (*Table, []Action) {
	t := &Table{byKey: map[lb.ServiceKey]*tableService{}}
	return t, t.load(cfg, h)
}

// Reload makes cfg the configuration, with the reals in health h (reals missing from h
// keep their state, or start as InitialHealth says if new), and returns the actions in
// keepalived's order (clear_diff_services, then init_services):
//
//   - for the services of the old configuration, in its order: a service that is gone
//     runs NotifyDown for each real that was up and in the table, then QuorumDown if it
//     had quorum (clear_service_vs: on a reload this does not depend on Omega, which is
//     for shutdown); a service that stays runs NotifyDown for its removed reals that were
//     up and in the table (clear_diff_rs), and the notify of each real whose state the
//     reload changed, each followed by its quorum update (migrate_checkers);
//   - for the services of the new configuration, in its order, the quorum is recomputed
//     as at start: this adds the sorry server to a service without quorum whose sorry
//     server does not serve yet (Quorum raised, sorry server added or changed). New
//     services, and new reals of existing ones, start silently as in NewTable;
//   - last, Global.Callback with the configuration file as its argument, as ldirectord
//     runs its callback after noticing a changed file (check_cfgfile).
func (t *Table) Reload(cfg *config.Config, h Health, file string) []Action {
	acts := t.load(cfg, h)
	if cfg.Global.Callback != "" {
		acts = append(acts, Action{Kind: Callback, Command: cfg.Global.Callback,
			Args: []string{file}, Reason: "configuration file changed"})
	}
	return acts
}

func (t *Table) load(cfg *config.Config, h Health) []Action {
	t.changes++
	old, oldOrder := t.byKey, t.services
	t.services, t.byKey = nil, make(map[lb.ServiceKey]*tableService, len(cfg.Services))
	t.timeouts = lb.DefaultTimeouts
	if cfg.Timeouts != nil {
		t.timeouts = *cfg.Timeouts
	}
	// The new services, their reals in the state they had (or start with).
	for _, sc := range cfg.Services {
		key := serviceKey(sc.ServiceKey)
		if t.byKey[key] != nil {
			continue // a duplicate service: the director refuses the table anyway
		}
		s := &tableService{t: t, key: key, cfg: sc, byAddr: make(map[netip.AddrPort]*tableReal, len(sc.Reals))}
		prev := old[key]
		if prev != nil {
			s.quorumUp = prev.quorumUp
			if sameSorry(prev.cfg.Sorry, sc.Sorry) {
				s.sorryActive = prev.sorryActive
			}
		}
		for _, rc := range sc.Reals {
			a := rc.AddrPort()
			if s.byAddr[a] != nil {
				continue
			}
			r := &tableReal{cfg: rc}
			if pr := prev.real(a); pr != nil {
				r.alive, r.dyn = pr.alive, pr.dyn
				if hh, ok := h[RealID{key, a}]; ok {
					r.dyn = hh.Weight
				}
			} else if hh, ok := h[RealID{key, a}]; ok {
				r.alive, r.dyn = hh.Up, hh.Weight
			} else {
				ih := initialHealth(sc, rc)
				r.alive, r.dyn = ih.Up, ih.Weight
			}
			s.reals = append(s.reals, r)
			s.byAddr[a] = r
		}
		t.services = append(t.services, s)
		t.byKey[key] = s
	}
	// The old services, in their order (clear_diff_services): removals, and the reals whose
	// state the reload changed (clear_diff_rs, migrate_checkers).
	var acts []Action
	for _, prev := range oldOrder {
		s := t.byKey[prev.key]
		if s == nil {
			acts = append(acts, prev.remove(false, "service removed from the configuration")...)
			continue
		}
		for _, pr := range prev.reals {
			a := pr.cfg.AddrPort()
			r := s.byAddr[a]
			if r == nil {
				if pr.alive && prev.inTable(pr) {
					acts = append(acts, prev.notifyAs(pr, false, "real removed from the configuration"))
				}
				continue
			}
			if hh, ok := h[RealID{s.key, a}]; ok && hh.Up != r.alive {
				r.alive = hh.Up
				s.touch()
				acts = append(acts, s.notify(r, "configuration reload"))
				acts = append(acts, s.updateQuorum(false)...)
			}
		}
	}
	// The new services, in their order (init_services): quorum, and sorry servers.
	for _, s := range t.services {
		if old[s.key] == nil {
			s.quorumUp = s.weightSum() >= int64(s.cfg.Quorum)+int64(s.cfg.Hysteresis)
		}
		acts = append(acts, s.updateQuorum(true)...)
	}
	return acts
}

func (s *tableService) real(a netip.AddrPort) *tableReal {
	if s == nil {
		return nil
	}
	return s.byAddr[a]
}

func sameSorry(a, b *config.Sorry) bool {
	return a != nil && b != nil && a.Addr == b.Addr && a.Port == b.Port
}

// Step applies one transition of the Monitor and returns the actions it causes: the real's
// notify (for RealUp, RealDown and FirstResult), then the service's quorum command if the
// quorum changed. A transition for an unknown service or real, or one that does not change
// the real's state, does nothing.
func (t *Table) Step(tr Transition) []Action {
	s := t.byKey[serviceKey(tr.Service)]
	if s == nil {
		return nil
	}
	r := s.byAddr[tr.Real]
	if r == nil {
		return nil
	}
	switch tr.Kind {
	case RealUp, RealDown:
		up := tr.Kind == RealUp
		if r.alive == up {
			return nil
		}
		r.alive = up
		s.touch()
		return append([]Action{s.notify(r, tr.Reason)}, s.updateQuorum(false)...)
	case WeightChanged:
		dyn := int32(-1)
		if tr.Dynamic {
			dyn = max(tr.Weight, 0)
		}
		before := r.weight()
		r.dyn = dyn
		if r.weight() == before {
			return nil
		}
		s.touch()
		return s.updateQuorum(false) // update_svr_wgt(..., update_quorum=true)
	case FirstResult:
		return []Action{s.notify(r, tr.Reason)}
	}
	return nil
}

// Shutdown returns the actions to run when lvsd stops, per service in order: with Omega,
// NotifyDown of each real that is up and in the table, then QuorumDown (whatever the
// quorum); without Omega, nothing (clear_services with stopping set). It does not change
// the table.
func (t *Table) Shutdown() []Action {
	var acts []Action
	for _, s := range t.services {
		acts = append(acts, s.remove(true, "shutting down")...)
	}
	return acts
}

// remove returns the actions of removing s (clear_service_vs): NotifyDown of its reals up
// and in the table, then QuorumDown. When stopping, both need Omega and QuorumDown runs
// whatever the quorum (update_vs_notifies); on a reload it runs if s had quorum.
func (s *tableService) remove(stopping bool, why string) []Action {
	if stopping && !s.cfg.Omega {
		return nil
	}
	var acts []Action
	for _, r := range s.reals {
		if r.alive && s.inTable(r) {
			acts = append(acts, s.notifyAs(r, false, why))
		}
	}
	if stopping || s.quorumUp {
		acts = append(acts, Action{Kind: QuorumDown, Service: s.key, Command: s.cfg.QuorumDown, Reason: why})
	}
	return acts
}

// notify is the real's notify action for its current state (do_rs_notifies).
func (s *tableService) notify(r *tableReal, why string) Action { return s.notifyAs(r, r.alive, why) }

// notifyAs is the real's notify action for state up.
func (s *tableService) notifyAs(r *tableReal, up bool, why string) Action {
	a := Action{Kind: NotifyDown, Service: s.key, Real: r.cfg.AddrPort(), Command: r.cfg.NotifyDown, Reason: why}
	if up {
		a.Kind, a.Command = NotifyUp, r.cfg.NotifyUp
	}
	return a
}

// updateQuorum is keepalived's update_quorum_state: it compares the weight sum with the
// thresholds and returns QuorumUp or QuorumDown when the quorum changes. With init (start
// and reload), a service without quorum whose sorry server is not serving gets it.
func (s *tableService) updateQuorum(init bool) []Action {
	sum := s.weightSum()
	q, hy := int64(s.cfg.Quorum), int64(s.cfg.Hysteresis)
	if !s.quorumUp && sum >= q+hy {
		s.quorumUp, s.sorryActive = true, false
		s.touch()
		return []Action{{Kind: QuorumUp, Service: s.key, Command: s.cfg.QuorumUp,
			Reason: fmt.Sprintf("Gained quorum %d+%d=%d <= %d", q, hy, q+hy, sum)}}
	}
	lost := s.quorumUp && (sum == 0 || sum < q-hy)
	if !lost && !(init && !s.quorumUp && s.cfg.Sorry != nil && !s.sorryActive) {
		return nil
	}
	why := fmt.Sprintf("Lost quorum %d-%d=%d > %d", q, hy, q-hy, sum)
	if !lost {
		why = fmt.Sprintf("Starting with quorum down %d-%d=%d > %d", q, hy, q-hy, sum)
	}
	s.quorumUp = false
	s.touch()
	if s.cfg.Sorry != nil {
		s.sorryActive = true
	}
	return []Action{{Kind: QuorumDown, Service: s.key, Command: s.cfg.QuorumDown, Reason: why}}
}

// touch marks the service's part of the table stale.
func (s *tableService) touch() {
	s.built = nil
	s.t.changes++
}

// weightSum is keepalived's weigh_live_realservers: the weights of the up reals.
func (s *tableService) weightSum() int64 {
	var sum int64
	for _, r := range s.reals {
		if r.alive {
			sum += int64(max(r.weight(), 0))
		}
	}
	return sum
}

func (r *tableReal) weight() int32 {
	if r.dyn >= 0 {
		return r.dyn
	}
	return r.cfg.Weight
}

// inTable reports whether r is in the table (keepalived's rs->set): while the sorry server
// serves only inhibited reals are (at weight 0); otherwise up reals and inhibited ones.
func (s *tableService) inTable(r *tableReal) bool {
	if s.sorryActive {
		return r.cfg.InhibitOnFailure
	}
	return r.alive || r.cfg.InhibitOnFailure
}
