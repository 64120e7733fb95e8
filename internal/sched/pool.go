package sched

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// Config supplies a Pool's clock and randomness; zero fields take time.Now and math/rand/v2.
type Config struct {
	Now  func() time.Time
	Rand func() uint32
}

// Pool is one virtual service's scheduling state: its real servers in kernel order with live
// counters, and its scheduler. All methods are safe for concurrent use.
type Pool struct {
	mu    sync.Mutex
	name  string
	sched Scheduler
	svc   Svc
	seq   uint64
	// trash holds deleted reals that still have connections, so that re-adding one revives
	// it with its counters, as the kernel's dest_trash does.
	trash []*Dest
}

// NewPool returns the pool of service s, with its reals added in s.Reals order. It fails
// with lb.ErrNoScheduler for an unknown scheduler.
func NewPool(s *lb.Service, cfg Config) (*Pool, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Uint32
	}
	p := &Pool{svc: Svc{Now: cfg.Now, Rand: cfg.Rand}}
	p.setAttrs(s)
	sc, err := New(s.Scheduler, &p.svc)
	if err != nil {
		return nil, err
	}
	p.name, p.sched = s.Scheduler, sc
	for _, r := range s.Reals {
		p.addDest(r)
	}
	return p, nil
}

func (p *Pool) setAttrs(s *lb.Service) {
	p.svc.Flags, p.svc.Port, p.svc.FWMark, p.svc.Is6 = s.Flags, s.Port, s.FWMark, s.Is6()
}

// Scheduler returns the name of the pool's scheduler.
func (p *Pool) Scheduler() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name
}

// Schedule picks the real for a new connection, or returns nil when none is available.
// The caller then binds the connection with Account(d, lb.ClassNone, ...).
func (p *Pool) Schedule(f Flow) *Dest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sched.Schedule(&p.svc, f)
}

// SetService applies the service-level fields of s (-E): flags, and the scheduler when its
// name changed (the new one starts fresh over the current reals, as the kernel's
// bind_scheduler does). Reals are not touched. It fails with lb.ErrNoScheduler and then
// changes nothing.
func (p *Pool) SetService(s *lb.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.Scheduler != p.name {
		if !Known(s.Scheduler) {
			return fmt.Errorf("scheduler %q: %w", s.Scheduler, lb.ErrNoScheduler)
		}
		p.setAttrs(s)
		for _, d := range p.svc.Dests {
			d.Slot = 0
		}
		sc, err := New(s.Scheduler, &p.svc)
		if err != nil {
			return err // cannot happen: the name is known
		}
		p.name, p.sched = s.Scheduler, sc
		return nil
	}
	p.setAttrs(s)
	return nil
}

// AddDest adds real r at the head of the list (-a). A real deleted earlier that still has
// connections is revived with its counters. It fails when the real exists.
func (p *Pool) AddDest(r lb.Real) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.find(r.Addr, r.Port) != nil {
		return fmt.Errorf("real %s: %w", r.AddrPort(), lb.ErrDestExists)
	}
	p.addDest(r)
	return nil
}

func (p *Pool) addDest(r lb.Real) {
	var d *Dest
	for i, t := range p.trash {
		if t.addr == r.Addr && t.port == r.Port {
			d = t
			p.trash = slices.Delete(p.trash, i, i+1)
			break
		}
	}
	if d == nil {
		d = &Dest{addr: r.Addr, port: r.Port}
	}
	p.seq++
	d.seq = p.seq
	d.Slot = 0
	d.available = true
	d.lastW = r.Weight
	setDest(d, r)
	p.svc.Dests = slices.Insert(p.svc.Dests, 0, d)
	p.sched.Changed(&p.svc, OpAdd, d)
}

// setDest applies weight and thresholds as the kernel's __ip_vs_update_dest does: last_weight
// follows non-zero weights; OVERLOAD is cleared when the new upper threshold is 0 or higher
// than the old one.
func setDest(d *Dest, r lb.Real) {
	d.weight = r.Weight
	if r.Weight != 0 {
		d.lastW = r.Weight
	}
	if r.UThreshold == 0 || r.UThreshold > d.uthresh {
		d.overload = false
	}
	d.uthresh, d.lthresh = r.UThreshold, r.LThreshold
}

// EditDest changes the weight and thresholds of an existing real (-e). The scheduler is
// told even when nothing changed, as the kernel does.
func (p *Pool) EditDest(r lb.Real) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.find(r.Addr, r.Port)
	if d == nil {
		return fmt.Errorf("real %s: %w", r.AddrPort(), lb.ErrNoDest)
	}
	setDest(d, r)
	p.sched.Changed(&p.svc, OpUpdate, d)
	return nil
}

// DelDest removes a real (-d). Its connections keep their *Dest and still Account on it.
func (p *Pool) DelDest(addr netip.Addr, port uint16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.svc.Dests, func(d *Dest) bool { return d.addr == addr && d.port == port })
	if i < 0 {
		return fmt.Errorf("real %s: %w", netip.AddrPortFrom(addr, port), lb.ErrNoDest)
	}
	d := p.svc.Dests[i]
	p.svc.Dests = slices.Delete(p.svc.Dests, i, i+1)
	d.available = false
	if d.active+d.inactive+d.persist > 0 {
		p.trash = append(p.trash, d)
	}
	p.sched.Changed(&p.svc, OpDel, d)
	return nil
}

// Apply makes the pool match s: service fields first, then removed reals, edited reals and
// added reals (in s.Reals order). Reals that did not change are not touched, so their
// connections and the scheduler's position are kept.
func (p *Pool) Apply(s *lb.Service) error {
	if err := p.SetService(s); err != nil {
		return err
	}
	want := make(map[netip.AddrPort]lb.Real, len(s.Reals))
	for _, r := range s.Reals {
		want[r.AddrPort()] = r
	}
	for _, d := range p.Dests() {
		if _, ok := want[d.AddrPort()]; !ok {
			if err := p.DelDest(d.addr, d.port); err != nil {
				return err
			}
		}
	}
	for _, r := range s.Reals {
		p.mu.Lock()
		d := p.find(r.Addr, r.Port)
		changed := d != nil && (d.weight != r.Weight || d.uthresh != r.UThreshold || d.lthresh != r.LThreshold)
		p.mu.Unlock()
		var err error
		switch {
		case d == nil:
			err = p.AddDest(r)
		case changed:
			err = p.EditDest(r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Account moves one connection (or persistence template) of real d from class from to
// class to, keeping ActiveConn, InActConn, PersistConn and OVERLOAD as the kernel does:
// binding (from ClassNone) sets OVERLOAD when ActiveConn+InActConn reaches the upper
// threshold; unbinding (to ClassNone) clears it below the lower threshold, or below 3/4 of
// the upper one when there is no lower threshold, or always when there is neither. State
// changes between active and inactive do not touch OVERLOAD.
func (p *Pool) Account(d *Dest, from, to lb.ConnClass) {
	if from == to {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	add(d, from, -1)
	add(d, to, +1)
	switch {
	case from == lb.ClassNone:
		if d.uthresh != 0 && uint32(d.TotalConns()) >= d.uthresh {
			d.overload = true
		}
	case to == lb.ClassNone:
		switch {
		case d.lthresh != 0:
			if uint32(d.TotalConns()) < d.lthresh {
				d.overload = false
			}
		case d.uthresh != 0:
			if uint64(d.TotalConns())*4 < uint64(d.uthresh)*3 {
				d.overload = false
			}
		default:
			d.overload = false
		}
		if !d.available && d.active+d.inactive+d.persist == 0 {
			p.trash = slices.DeleteFunc(p.trash, func(t *Dest) bool { return t == d })
		}
	}
	if d.available {
		p.sched.Changed(&p.svc, OpCounters, d)
	}
}

func add(d *Dest, c lb.ConnClass, n int32) {
	switch c {
	case lb.ClassActive:
		d.active += n
	case lb.ClassInactive:
		d.inactive += n
	case lb.ClassPersist:
		d.persist += n
	}
}

// SetCounters overwrites a real's ActiveConn and InActConn, for replaying recorded kernel
// states and for engines whose counters live elsewhere. OVERLOAD is not recomputed.
func (p *Pool) SetCounters(addr netip.Addr, port uint16, active, inactive int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.find(addr, port)
	if d == nil {
		return fmt.Errorf("real %s: %w", netip.AddrPortFrom(addr, port), lb.ErrNoDest)
	}
	if d.active == active && d.inactive == inactive {
		return nil
	}
	d.active, d.inactive = active, inactive
	p.sched.Changed(&p.svc, OpCounters, d)
	return nil
}

// Find returns the current real addr:port, or nil.
func (p *Pool) Find(addr netip.Addr, port uint16) *Dest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.find(addr, port)
}

func (p *Pool) find(addr netip.Addr, port uint16) *Dest {
	for _, d := range p.svc.Dests {
		if d.addr == addr && d.port == port {
			return d
		}
	}
	return nil
}

// Dests returns the current reals in kernel order (newest first). The *Dest values are live;
// read a consistent copy of their counters with Snapshot.
func (p *Pool) Dests() []*Dest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.svc.Dests)
}

// DestState is a copy of one real's scheduling state.
type DestState struct {
	Addr                      netip.Addr
	Port                      uint16
	Weight                    int32
	Active, Inactive, Persist int32
	Overloaded                bool
}

// Snapshot returns a consistent copy of every real's state, in kernel order.
func (p *Pool) Snapshot() []DestState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]DestState, len(p.svc.Dests))
	for i, d := range p.svc.Dests {
		out[i] = DestState{d.addr, d.port, d.weight, d.active, d.inactive, d.persist, d.overload}
	}
	return out
}
