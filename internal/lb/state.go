package lb

import (
	"fmt"
	"net/netip"
	"slices"
)

// Timeouts are the three IPVS protocol timeouts that ipvsadm --set changes, in seconds.
type Timeouts struct {
	TCP    uint32 // ESTABLISHED TCP connections
	TCPFin uint32 // TCP connections after a FIN (FIN_WAIT)
	UDP    uint32 // UDP entries
}

// DefaultTimeouts are the kernel's defaults: 900 s, 120 s and 300 s.
var DefaultTimeouts = Timeouts{TCP: 900, TCPFin: 120, UDP: 300}

// State is a snapshot of the whole virtual-service table: what an engine is asked to make
// its data plane match. Services are in the order they were added.
//
// A State is a value: the director builds a new one (Clone, then operate) for every change
// and hands it to engines, which must not modify it.
type State struct {
	Services []*Service
	Timeouts Timeouts
}

// Catalog says which schedulers and persistence engines exist where a state is applied.
// A nil func accepts every name.
type Catalog struct {
	Scheduler func(name string) bool
	PE        func(name string) bool
}

// Clone returns a deep copy of st.
func (st *State) Clone() *State {
	c := &State{Timeouts: st.Timeouts, Services: make([]*Service, len(st.Services))}
	for i, s := range st.Services {
		c.Services[i] = s.Clone()
	}
	return c
}

// Find returns the service with key k, or nil.
func (st *State) Find(k ServiceKey) *Service {
	if i := st.index(k); i >= 0 {
		return st.Services[i]
	}
	return nil
}

func (st *State) index(k ServiceKey) int {
	k = normalizeKey(k)
	for i, s := range st.Services {
		if s.ServiceKey == k {
			return i
		}
	}
	return -1
}

// normalizeKey gives a fwmark key its canonical form (no protocol, port or address).
func normalizeKey(k ServiceKey) ServiceKey {
	if k.IsFWMark() {
		return FWMarkKey(k.FWMark, k.Is6())
	}
	return k
}

// AddService adds svc (-A) with its reals. It fails with ErrServiceExists, ErrNoScheduler or
// a validation error, and then leaves st unchanged.
func (st *State) AddService(svc *Service, cat Catalog) error {
	s := svc.Clone()
	s.ServiceKey = normalizeKey(s.ServiceKey)
	if err := ValidateService(s, cat); err != nil {
		return fmt.Errorf("add service %s: %w", s.ServiceKey, err)
	}
	if st.index(s.ServiceKey) >= 0 {
		return fmt.Errorf("add service %s: %w", s.ServiceKey, ErrServiceExists)
	}
	for i := range s.Reals {
		if err := ValidateReal(s, &s.Reals[i]); err != nil {
			return fmt.Errorf("add service %s: real %s: %w", s.ServiceKey, s.Reals[i].AddrPort(), err)
		}
		if j := s.FindReal(s.Reals[i].Addr, s.Reals[i].Port); j != i {
			return fmt.Errorf("add service %s: real %s: %w", s.ServiceKey, s.Reals[i].AddrPort(), ErrDestExists)
		}
	}
	st.Services = append(st.Services, s)
	return nil
}

// EditService changes the scheduler, flags, persistence and PE of an existing service (-E);
// its reals are kept. It fails with ErrNoService, ErrNoScheduler or a validation error.
func (st *State) EditService(svc *Service, cat Catalog) error {
	k := normalizeKey(svc.ServiceKey)
	i := st.index(k)
	if i < 0 {
		return fmt.Errorf("edit service %s: %w", k, ErrNoService)
	}
	s := st.Services[i].Clone()
	s.Scheduler, s.Flags, s.Timeout, s.Netmask, s.PE = svc.Scheduler, svc.Flags, svc.Timeout, svc.Netmask, svc.PE
	if err := ValidateService(s, cat); err != nil {
		return fmt.Errorf("edit service %s: %w", k, err)
	}
	st.Services[i] = s
	return nil
}

// DeleteService removes a service and its reals (-D). It fails with ErrNoService.
func (st *State) DeleteService(k ServiceKey) error {
	i := st.index(k)
	if i < 0 {
		return fmt.Errorf("delete service %s: %w", normalizeKey(k), ErrNoService)
	}
	st.Services = slices.Delete(slices.Clone(st.Services), i, i+1)
	return nil
}

// Flush removes every service (-C).
func (st *State) Flush() { st.Services = nil }

// AddReal adds r to the service k (-a). It fails with ErrNoService, ErrDestExists or a
// validation error.
func (st *State) AddReal(k ServiceKey, r Real) error {
	i := st.index(k)
	if i < 0 {
		return fmt.Errorf("add real %s to %s: %w", r.AddrPort(), normalizeKey(k), ErrNoService)
	}
	s := st.Services[i].Clone()
	if err := ValidateReal(s, &r); err != nil {
		return fmt.Errorf("add real %s to %s: %w", r.AddrPort(), s.ServiceKey, err)
	}
	if s.FindReal(r.Addr, r.Port) >= 0 {
		return fmt.Errorf("add real %s to %s: %w", r.AddrPort(), s.ServiceKey, ErrDestExists)
	}
	s.Reals = append(s.Reals, r)
	st.Services[i] = s
	return nil
}

// EditReal changes an existing real of service k (-e). It fails with ErrNoService, ErrNoDest
// or a validation error.
func (st *State) EditReal(k ServiceKey, r Real) error {
	i := st.index(k)
	if i < 0 {
		return fmt.Errorf("edit real %s of %s: %w", r.AddrPort(), normalizeKey(k), ErrNoService)
	}
	s := st.Services[i].Clone()
	if err := ValidateReal(s, &r); err != nil {
		return fmt.Errorf("edit real %s of %s: %w", r.AddrPort(), s.ServiceKey, err)
	}
	j := s.FindReal(r.Addr, r.Port)
	if j < 0 {
		return fmt.Errorf("edit real %s of %s: %w", r.AddrPort(), s.ServiceKey, ErrNoDest)
	}
	s.Reals[j] = r
	st.Services[i] = s
	return nil
}

// DeleteReal removes the real addr:port from service k (-d). It fails with ErrNoService or
// ErrNoDest.
func (st *State) DeleteReal(k ServiceKey, addr netip.Addr, port uint16) error {
	i := st.index(k)
	if i < 0 {
		return fmt.Errorf("delete real %s of %s: %w", netip.AddrPortFrom(addr, port), normalizeKey(k), ErrNoService)
	}
	s := st.Services[i].Clone()
	j := s.FindReal(addr, port)
	if j < 0 {
		return fmt.Errorf("delete real %s of %s: %w", netip.AddrPortFrom(addr, port), s.ServiceKey, ErrNoDest)
	}
	s.Reals = slices.Delete(s.Reals, j, j+1)
	st.Services[i] = s
	return nil
}
