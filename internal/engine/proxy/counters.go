package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/estimator"
	"github.com/golvs/golvs/internal/lb"
)

// Counters returns the counters of every service, reals in the kernel's order. Bytes of
// open TCP connections are counted up to now; their packets up to the last 2 s tick.
func (e *Engine) Counters() ([]engine.ServiceCounters, error) {
	e.tcp.visit(func(c openConn) bool { c.flush(false); return false })
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errEngineClosed
	}
	out := make([]engine.ServiceCounters, 0, len(e.order))
	for _, s := range e.order {
		sc := engine.ServiceCounters{Key: s.key, Stats: s.stats.load(), Rates: s.est.Read()}
		for _, ds := range s.pool.Snapshot() {
			rc := engine.RealCounters{Addr: ds.Addr, Port: ds.Port,
				Active: ds.Active, Inactive: ds.Inactive, Persist: ds.Persist}
			if d := s.cur[netip.AddrPortFrom(ds.Addr, ds.Port)]; d != nil {
				rc.Stats, rc.Rates = d.stats.load(), d.est.Read()
			}
			sc.Reals = append(sc.Reals, rc)
		}
		out = append(out, sc)
	}
	return out, nil
}

// Conns lists the connection table: connections and persistence templates.
func (e *Engine) Conns() ([]engine.Conn, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, errEngineClosed
	}
	var out []engine.Conn
	for c := range e.table.All() {
		out = append(out, engine.Conn{
			Protocol: c.Protocol, Client: c.Client, Virtual: c.Virtual, Real: c.Dest.Addr,
			State: c.StateName(), Expires: c.Expires, Template: c.Template,
		})
	}
	return out, nil
}

// Zero resets the counters and rates of service k, or of all services when k is nil.
func (e *Engine) Zero(k *lb.ServiceKey) error {
	e.tcp.visit(func(c openConn) bool {
		if k == nil || c.tracked().dest.svc.key == *k {
			c.flush(false) // bytes moved before now are zeroed too
		}
		return false
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errEngineClosed
	}
	if k != nil && e.services[*k] == nil {
		return fmt.Errorf("proxy engine: zero %s: %w", *k, lb.ErrNoService)
	}
	for _, s := range e.services {
		if k != nil && s.key != *k {
			continue
		}
		s.stats.zero()
		s.est.Zero(lb.Stats{})
		for _, d := range s.cur {
			d.stats.zero()
			d.est.Zero(lb.Stats{})
		}
	}
	return nil
}

// tick drives the table's expiry every second and the counters and rates every 2 s.
func (e *Engine) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.expire()
		if n%estimator.Interval == 0 {
			e.sample()
		}
	}
}

// expire removes the table's entries that are due and the UDP sessions whose entry went.
func (e *Engine) expire() {
	e.table.Expire(e.now())
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		if s.udp != nil {
			s.udp.sweep()
		}
	}
}

// sample folds the traffic of open connections into the counters (bytes, and packets from
// TCP_INFO), keeps their entries alive while they move data, closes those whose entry
// expired (idle longer than the state's timeout), ticks the rate estimators, and drops
// deleted reals that have no entry left.
func (e *Engine) sample() {
	e.tcp.visit(func(c openConn) bool {
		moved := c.flush(true)
		t := c.tracked()
		var err error
		if moved {
			err = e.table.Touch(t.ref)
		} else if _, ok := e.table.Get(t.ref); !ok {
			err = conntrack.ErrNotFound
		}
		if errors.Is(err, conntrack.ErrNotFound) {
			e.log.Debug("proxy engine: connection entry expired; resetting", "service", t.dest.svc.key.String(),
				"client", t.client.String())
			return true
		}
		return false
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		s.est.Tick(s.stats.load())
		for _, d := range s.cur {
			d.est.Tick(d.stats.load())
		}
		if s.udp != nil {
			if n := s.udp.drops.Load(); n > s.udp.dropsLogged {
				e.log.Warn("proxy engine: UDP datagrams dropped: too many sessions", "service", s.key.String(),
					"dropped", n-s.udp.dropsLogged, "max", e.opts.MaxUDPSessions)
				s.udp.dropsLogged = n
			}
		}
	}
	e.sweepTrash()
}

// sweepTrash forgets deleted reals, and removed services, that no entry is bound to any more.
func (e *Engine) sweepTrash() {
	var forget []conntrack.DestID
	sweep := func(s *service) bool {
		changed := false
		for ap, d := range s.trash {
			if d.entries.Load() <= 0 {
				delete(s.trash, ap)
				forget = append(forget, d.id)
				changed = true
			}
		}
		if changed {
			s.amu.Lock()
			s.publish()
			s.amu.Unlock()
		}
		return len(s.trash) == 0 && len(s.cur) == 0
	}
	for _, s := range e.services {
		sweep(s)
	}
	e.draining = slices.DeleteFunc(e.draining, sweep)
	if len(forget) == 0 {
		return
	}
	e.setIDs(func(m map[conntrack.DestID]*dest) {
		for _, id := range forget {
			delete(m, id)
		}
	})
	for _, id := range forget {
		e.table.ForgetDest(id)
	}
}
