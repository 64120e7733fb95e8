package proxy

import (
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/estimator"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// Engine is the userspace proxy engine. Use New; all methods are safe for concurrent use.
type Engine struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	table *conntrack.Table
	bufs  *bufPool
	ubufs *bufPool // datagram buffers: a session takes one only while a reply is ready
	// tcp serves TCP services' connections (Options.DataPath).
	tcp tcpPath
	// byID maps the table's DestIDs to reals, for the Accountant and templates; replaced,
	// never changed, under mu.
	byID atomic.Pointer[map[conntrack.DestID]*dest]
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	services map[lb.ServiceKey]*service
	order    []*service // as the last applied state lists them
	draining []*service // removed services whose reals may still have entries
	timeouts lb.Timeouts
	lastID   conntrack.DestID
	closed   bool
}

// Interface guards.
var (
	_ engine.Engine        = (*Engine)(nil)
	_ conntrack.Accountant = accountant{}
)

// New returns a running engine that forwards nothing until Apply. It fails when an option is
// negative or DataPath unknown, and for DataPathReactor when the system has no epoll or the
// loops' descriptors cannot be made.
func New(o Options) (*Engine, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts: o, log: o.Logger, now: o.Now,
		bufs: newBufPool(bufSize), ubufs: newBufPool(maxDatagram),
		stop:     make(chan struct{}),
		services: map[lb.ServiceKey]*service{},
		timeouts: lb.DefaultTimeouts,
	}
	e.byID.Store(&map[conntrack.DestID]*dest{})
	e.table, err = conntrack.New(conntrack.Config{
		Now: o.Now, Accountant: accountant{e}, MaxEntries: o.MaxConns,
		ExpireQuiescentTemplate: o.ExpireQuiescentTemplate,
	})
	if err != nil {
		return nil, err
	}
	if e.tcp, err = newTCPPath(e); err != nil {
		return nil, err
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.tick() }()
	return e, nil
}

// Name returns "proxy".
func (e *Engine) Name() string { return "proxy" }

func (e *Engine) destByID(id conntrack.DestID) *dest { return (*e.byID.Load())[id] }

// setIDs applies f to a copy of byID and publishes it. Call with mu held.
func (e *Engine) setIDs(f func(m map[conntrack.DestID]*dest)) {
	m := maps.Clone(*e.byID.Load())
	f(m)
	e.byID.Store(&m)
}

// Apply makes the engine forward st, as engine.Engine documents. Services are compared with
// what the engine runs, not with the state last given, so applying the previous state after
// a failed Apply restores it. It refuses, wrapping engine.ErrNotSupported and changing
// nothing: reals with route (-g) or tunnel (-i) forwarding, fwmark services, SCTP services,
// port-0 (all ports) services and persistence engines (--pe). It fails, changing nothing,
// for an unknown scheduler (lb.ErrNoScheduler) or a timeout out of range (lb.ErrInvalid).
// Binding a new service's address may fail (address in use): the services before it in st
// are then applied, the others not.
func (e *Engine) Apply(st *lb.State) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errEngineClosed
	}
	if err := check(st); err != nil {
		return err
	}
	if st.Timeouts != e.timeouts {
		if err := e.table.SetTimeouts(st.Timeouts); err != nil {
			return fmt.Errorf("proxy engine: %w", err)
		}
		e.timeouts = st.Timeouts
	}
	defer func() { // the order of what runs now, even after an error
		e.order = e.order[:0]
		for _, ns := range st.Services {
			if s := e.services[ns.ServiceKey]; s != nil {
				e.order = append(e.order, s)
			}
		}
	}()
	keep := make(map[lb.ServiceKey]bool, len(st.Services))
	for _, ns := range st.Services {
		keep[ns.ServiceKey] = true
	}
	for k, s := range e.services {
		if !keep[k] {
			e.removeService(s)
		}
	}
	for _, ns := range st.Services {
		if s := e.services[ns.ServiceKey]; s != nil {
			e.updateService(s, ns)
			continue
		}
		if err := e.addService(ns); err != nil {
			return err
		}
	}
	return nil
}

// check refuses what the engine cannot do, before anything changes.
func check(st *lb.State) error {
	for _, v := range []uint32{st.Timeouts.TCP, st.Timeouts.TCPFin, st.Timeouts.UDP} {
		if v > conntrack.MaxTimeout {
			return fmt.Errorf("proxy engine: timeout %d s: %w", v, lb.ErrInvalid)
		}
	}
	for _, s := range st.Services {
		k := s.ServiceKey
		var err error
		switch {
		case k.IsFWMark():
			err = engine.NotSupported("fwmark service", "the ipvs or xdp engine")
		case k.Protocol == lb.SCTP:
			err = engine.NotSupported("SCTP service", "the ipvs engine")
		case k.Protocol != lb.TCP && k.Protocol != lb.UDP:
			err = fmt.Errorf("protocol %d: %w", k.Protocol, lb.ErrProtocol)
		case k.Port == 0:
			err = engine.NotSupported("port 0 (all ports) service", "the ipvs or xdp engine")
		case s.PE != "":
			err = engine.NotSupported("persistence engine "+s.PE, "the ipvs engine")
		case !sched.Known(s.Scheduler):
			err = fmt.Errorf("scheduler %q: %w", s.Scheduler, lb.ErrNoScheduler)
		}
		if err != nil {
			return fmt.Errorf("proxy engine: service %s: %w", k, err)
		}
		for _, r := range s.Reals {
			switch r.Forward {
			case lb.Route:
				err = engine.NotSupported("forwarding method route (-g)", "the ipvs or xdp engine")
			case lb.Tunnel:
				err = engine.NotSupported("forwarding method tunnel (-i)", "the ipvs or xdp engine")
			case lb.Masq, lb.FullNAT, lb.Local:
				if r.Port == 0 || !r.Addr.IsValid() {
					err = fmt.Errorf("address %s: %w", r.AddrPort(), lb.ErrInvalid)
				}
			default:
				err = fmt.Errorf("forwarding method %s: %w", r.Forward, lb.ErrInvalid)
			}
			if err != nil {
				return fmt.Errorf("proxy engine: service %s real %s: %w", k, r.AddrPort(), err)
			}
		}
	}
	return nil
}

// newDest makes the engine's real for the pool's real sd (settings r) and gives it an ID.
func (e *Engine) newDest(s *service, sd *sched.Dest, r lb.Real) *dest {
	e.lastID++
	fwd := r.Forward
	if fwd == lb.Local {
		fwd = lb.Masq // a local real is proxied too: replies come back through the engine
	}
	d := &dest{id: e.lastID, svc: s, d: sd, addr: r.AddrPort(), dialAddr: r.AddrPort().String(),
		weight: r.Weight, est: estimator.New(lb.Stats{})}
	d.ct = conntrack.Dest{ID: d.id, Addr: d.addr, Forward: fwd}
	return d
}

func (e *Engine) addService(ns *lb.Service) error {
	cfg := ns.Clone()
	pool, err := sched.NewPool(cfg, sched.Config{Now: e.now})
	if err != nil {
		return fmt.Errorf("proxy engine: service %s: %w", ns.ServiceKey, err)
	}
	s := &service{e: e, key: ns.ServiceKey, vip: netip.AddrPortFrom(ns.Addr, ns.Port), pool: pool,
		est: estimator.New(lb.Stats{}), cur: map[netip.AddrPort]*dest{}, trash: map[netip.AddrPort]*dest{}}
	s.cfg.Store(cfg)
	for _, r := range cfg.Reals {
		s.cur[r.AddrPort()] = e.newDest(s, pool.Find(r.Addr, r.Port), r)
	}
	e.setIDs(func(m map[conntrack.DestID]*dest) {
		for _, d := range s.cur {
			m[d.id] = d
		}
	})
	s.publish()
	if ns.Protocol == lb.TCP {
		err = e.tcp.listen(s)
	} else {
		err = e.listenUDP(s)
	}
	if err != nil {
		e.setIDs(func(m map[conntrack.DestID]*dest) {
			for _, d := range s.cur {
				delete(m, d.id)
			}
		})
		return fmt.Errorf("proxy engine: service %s: %w", ns.ServiceKey, err)
	}
	for _, d := range s.cur {
		if d.weight == 0 {
			e.table.SetDestWeight(d.id, 0)
		}
	}
	e.services[s.key] = s
	return nil
}

// removeService stops listening; connections go on (or are closed with ExpireNodestConn).
func (e *Engine) removeService(s *service) {
	delete(e.services, s.key)
	s.closeListeners()
	ids := make([]conntrack.DestID, 0, len(s.cur))
	for ap, d := range s.cur {
		ids = append(ids, d.id)
		s.trash[ap] = d
	}
	clear(s.cur)
	e.table.RemoveDests(e.opts.ExpireNodestConn, ids...)
	if e.opts.ExpireNodestConn {
		e.abortDests(ids)
	}
	e.draining = append(e.draining, s)
}

func (s *service) closeListeners() {
	if s.key.Protocol == lb.TCP {
		s.e.tcp.unlisten(s)
	}
	if s.udp != nil {
		s.udp.close()
		s.udp = nil
	}
}

// updateService applies the changes of ns to s; a service that did not change is not
// touched.
func (e *Engine) updateService(s *service, ns *lb.Service) {
	old := s.cfg.Load()
	if old.Scheduler == ns.Scheduler && old.Flags == ns.Flags && old.Timeout == ns.Timeout &&
		old.Netmask == ns.Netmask && old.PE == ns.PE && slices.Equal(old.Reals, ns.Reals) {
		return
	}
	cfg := ns.Clone()
	s.amu.Lock()
	if err := s.pool.Apply(cfg); err != nil {
		// cannot happen: check made sure the scheduler exists
		e.log.Error("proxy engine: pool apply", "service", s.key.String(), "err", err)
	}
	want := make(map[netip.AddrPort]lb.Real, len(cfg.Reals))
	for _, r := range cfg.Reals {
		want[r.AddrPort()] = r
	}
	var gone []conntrack.DestID
	for ap, d := range s.cur {
		if _, ok := want[ap]; !ok {
			gone = append(gone, d.id)
			s.trash[ap] = d
			delete(s.cur, ap)
		}
	}
	var added []*dest
	for _, r := range cfg.Reals {
		ap := r.AddrPort()
		if d := s.cur[ap]; d != nil {
			if d.weight != r.Weight {
				e.table.SetDestWeight(d.id, r.Weight)
				d.weight = r.Weight
			}
			continue
		}
		sd := s.pool.Find(r.Addr, r.Port)
		if d := s.trash[ap]; d != nil && d.d == sd {
			// the pool revived it from its trash, counters and all; so does the table
			delete(s.trash, ap)
			s.cur[ap] = d
			d.weight = r.Weight
			e.table.SetDestWeight(d.id, r.Weight)
			continue
		}
		d := e.newDest(s, sd, r)
		s.cur[ap] = d
		added = append(added, d)
	}
	if len(added) > 0 {
		e.setIDs(func(m map[conntrack.DestID]*dest) {
			for _, d := range added {
				m[d.id] = d
			}
		})
		for _, d := range added {
			if d.weight == 0 {
				e.table.SetDestWeight(d.id, 0)
			}
		}
	}
	s.publish()
	s.cfg.Store(cfg)
	s.amu.Unlock()
	if len(gone) > 0 {
		e.table.RemoveDests(e.opts.ExpireNodestConn, gone...)
		if e.opts.ExpireNodestConn {
			e.abortDests(gone)
		}
	}
}

// abortDests closes at once the connections and sessions of reals ids (expire_nodest_conn).
func (e *Engine) abortDests(ids []conntrack.DestID) {
	set := make(map[conntrack.DestID]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	e.tcp.visit(func(c openConn) bool { return set[c.tracked().dest.id] })
	for _, s := range e.services {
		if s.udp != nil {
			s.udp.closeSessions(func(ss *udpSession) bool { return set[ss.dest.id] })
		}
	}
}

// Close stops listening, resets every open connection, closes UDP sessions and waits for
// the engine's goroutines to end. It is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stop)
	for _, s := range e.services {
		s.closeListeners()
	}
	for _, s := range e.draining {
		s.closeListeners()
	}
	e.mu.Unlock()
	e.tcp.close()
	e.wg.Wait()
	return nil
}
