package proxy

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/estimator"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// counters are the live traffic counters of a service or a real.
type counters struct {
	conns, inPkts, outPkts, inBytes, outBytes atomic.Uint64
}

func (c *counters) load() lb.Stats {
	return lb.Stats{Conns: c.conns.Load(), InPkts: c.inPkts.Load(), OutPkts: c.outPkts.Load(),
		InBytes: c.inBytes.Load(), OutBytes: c.outBytes.Load()}
}

func (c *counters) zero() {
	c.conns.Store(0)
	c.inPkts.Store(0)
	c.outPkts.Store(0)
	c.inBytes.Store(0)
	c.outBytes.Store(0)
}

// traffic adds packets and bytes in both directions to a real and its service.
func (d *dest) traffic(inPkts, outPkts, inBytes, outBytes uint64) {
	for _, c := range [2]*counters{&d.stats, &d.svc.stats} {
		if inPkts != 0 {
			c.inPkts.Add(inPkts)
		}
		if outPkts != 0 {
			c.outPkts.Add(outPkts)
		}
		if inBytes != 0 {
			c.inBytes.Add(inBytes)
		}
		if outBytes != 0 {
			c.outBytes.Add(outBytes)
		}
	}
}

// newConn counts a connection scheduled to d.
func (d *dest) newConn() {
	d.stats.conns.Add(1)
	d.svc.stats.conns.Add(1)
}

// dest is one real server of one service (the kernel's struct ip_vs_dest): its scheduling
// state lives in the pool's *sched.Dest, its connections in the table under id.
type dest struct {
	id   conntrack.DestID
	svc  *service
	d    *sched.Dest
	addr netip.AddrPort
	// dialAddr is addr as the dialer takes it.
	dialAddr string
	ct       conntrack.Dest
	// entries counts the table's entries bound to the real (connections and templates), as
	// the Accountant sees them come and go.
	entries atomic.Int64
	stats   counters

	// guarded by Engine.mu
	est    *estimator.Estimator
	weight int32
}

// service is one virtual service.
type service struct {
	e    *Engine
	key  lb.ServiceKey
	vip  netip.AddrPort
	pool *sched.Pool
	// cfg is the service as last applied (flags, persistence); read by forwarding goroutines.
	cfg atomic.Pointer[lb.Service]
	// dests maps the pool's reals, current and deleted, to the engine's; replaced, never
	// changed, under amu.
	dests atomic.Pointer[map[*sched.Dest]*dest]
	// amu is held while the pool's reals and dests disagree (during Apply).
	amu   sync.Mutex
	stats counters

	// guarded by Engine.mu
	est   *estimator.Estimator
	cur   map[netip.AddrPort]*dest // the reals of the service
	trash map[netip.AddrPort]*dest // deleted reals that may still have entries
	lns   []*net.TCPListener       // the goroutine path's listeners
	udp   *udpService
}

// publish makes the dests of cur and trash visible to forwarding goroutines.
func (s *service) publish() {
	m := make(map[*sched.Dest]*dest, len(s.cur)+len(s.trash))
	for _, d := range s.cur {
		m[d.d] = d
	}
	for _, d := range s.trash {
		m[d.d] = d
	}
	s.dests.Store(&m)
}

// destOf returns the engine's real for the pool's real sd, or nil.
func (s *service) destOf(sd *sched.Dest) *dest {
	if d := (*s.dests.Load())[sd]; d != nil {
		return d
	}
	// a real added by an Apply in progress: wait for it to be published
	s.amu.Lock()
	defer s.amu.Unlock()
	return (*s.dests.Load())[sd]
}

// pick chooses the real for a new connection of flow f and returns it with the persistence
// template to link the connection to (0 for none), or nil when no real can take it. For a
// retry (tried not empty) persistence is skipped and no real of tried is chosen.
func (s *service) pick(cfg *lb.Service, f sched.Flow, tried []*dest) (*dest, conntrack.Ref) {
	if !cfg.Persistent() || len(tried) > 0 {
		return s.schedule(f, tried), 0
	}
	// ip_vs_sched_persist: the client's template, while valid, decides
	tb := s.e.table
	tk := conntrack.TemplateKey(cfg, f.Protocol, f.Client.Addr(), f.Dest)
	if t, ok := tb.LookupTemplate(tk); ok {
		if d := s.e.destByID(t.Dest.ID); d != nil {
			return d, t.Ref
		}
	}
	d := s.schedule(f, nil)
	if d == nil {
		return nil, 0
	}
	t, err := tb.InsertTemplate(tk, d.ct, time.Duration(cfg.Timeout)*time.Second)
	if err != nil {
		return d, 0
	}
	if t.Dest.ID != d.id { // another connection made the template first
		if o := s.e.destByID(t.Dest.ID); o != nil {
			d = o
		}
	}
	return d, t.Ref
}

// schedule asks the scheduler, avoiding tried: when the scheduler insists on a real already
// tried (a hash scheduler will), the first usable real not tried is taken, in list order.
func (s *service) schedule(f sched.Flow, tried []*dest) *dest {
	sd := s.pool.Schedule(f)
	if sd == nil {
		return nil
	}
	d := s.destOf(sd)
	if d == nil || !slices.Contains(tried, d) {
		return d
	}
	for _, st := range s.pool.Snapshot() {
		if st.Weight <= 0 || st.Overloaded {
			continue
		}
		if o := s.destOf(s.pool.Find(st.Addr, st.Port)); o != nil && !slices.Contains(tried, o) {
			return o
		}
	}
	return nil
}

// accountant passes the table's class changes to the reals' pools.
type accountant struct{ e *Engine }

// Account implements conntrack.Accountant.
func (a accountant) Account(id conntrack.DestID, from, to lb.ConnClass) {
	d := a.e.destByID(id)
	if d == nil {
		return
	}
	d.svc.pool.Account(d.d, from, to)
	switch {
	case from == lb.ClassNone:
		d.entries.Add(1)
	case to == lb.ClassNone:
		d.entries.Add(-1)
	}
}
