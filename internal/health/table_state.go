package health

import (
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// SorryWeight is the weight of a serving sorry server: keepalived's default weight of a
// real (sorry_server has no weight keyword) and ldirectord's fixed weight of its fallback.
const SorryWeight = 1

// State returns the table to apply: every service of the configuration, in its order, with
// the reals the health and the quorum put in it (see Table), in configuration order, the
// sorry server last. The result is shared with later calls: neither it nor its services
// may be modified (lb.State's contract). It is not validated: the director does that.
func (t *Table) State() *lb.State {
	st := &lb.State{Timeouts: t.timeouts, Services: make([]*lb.Service, len(t.services))}
	for i, s := range t.services {
		if s.built == nil {
			s.built = s.build()
		}
		st.Services[i] = s.built
	}
	return st
}

func (s *tableService) build() *lb.Service {
	svc := s.cfg.Service
	svc.ServiceKey = s.key
	svc.Reals = make([]lb.Real, 0, len(s.reals)+1)
	at := make(map[netip.AddrPort]int, len(s.reals))
	for _, r := range s.reals {
		if !s.inTable(r) {
			continue
		}
		lr := r.cfg.Real
		lr.Weight = 0
		if r.alive && !s.sorryActive {
			lr.Weight = max(r.weight(), 0)
		}
		at[lr.AddrPort()] = len(svc.Reals)
		svc.Reals = append(svc.Reals, lr)
	}
	if sy := s.cfg.Sorry; sy != nil && (s.sorryActive || sy.Inhibit) {
		lr := lb.Real{Addr: sy.Addr, Port: sy.Port, Forward: sy.Forward}
		if s.sorryActive {
			lr.Weight = SorryWeight
		}
		// A sorry server that is also a real (keepalived's s_svr_duplicates_rs) is one
		// entry: serving, it has the sorry weight; idle, the real's entry stands.
		if i, dup := at[lr.AddrPort()]; dup {
			if s.sorryActive {
				svc.Reals[i].Weight = SorryWeight
			}
		} else {
			svc.Reals = append(svc.Reals, lr)
		}
	}
	return &svc
}

// ServiceQuorum is the quorum state of a service, for the status.
type ServiceQuorum struct {
	Up bool `json:"up"`
	// WeightSum is the sum of the weights of the up reals, compared with Quorum.
	WeightSum  int64  `json:"weight_sum"`
	Quorum     uint32 `json:"quorum"`
	Hysteresis uint32 `json:"hysteresis"`
	// SorryServer is true while the sorry server serves instead of the reals.
	SorryServer bool `json:"sorry_server"`
}

// Quorum returns the quorum state of service k, and false if the table has no such
// service.
func (t *Table) Quorum(k lb.ServiceKey) (ServiceQuorum, bool) {
	s := t.byKey[serviceKey(k)]
	if s == nil {
		return ServiceQuorum{}, false
	}
	return ServiceQuorum{Up: s.quorumUp, WeightSum: s.weightSum(), Quorum: s.cfg.Quorum,
		Hysteresis: s.cfg.Hysteresis, SorryServer: s.sorryActive}, true
}

// weights returns the reals of service k in the table, with their weights.
func (t *Table) weights(k lb.ServiceKey) map[netip.AddrPort]int32 {
	s := t.byKey[serviceKey(k)]
	if s == nil {
		return nil
	}
	if s.built == nil {
		s.built = s.build()
	}
	w := make(map[netip.AddrPort]int32, len(s.built.Reals))
	for _, r := range s.built.Reals {
		w[r.AddrPort()] = r.Weight
	}
	return w
}
