package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// goroutinePath is the goroutine TCP data path: per service, one SO_REUSEPORT listener
// and accept goroutine per Options.Listeners; per connection, a goroutine that schedules,
// connects and relays real->client, and one that relays client->real.
type goroutinePath struct {
	e     *Engine
	watch *dialWatch
	// dialer connects to reals: no keep-alive, the connect timeout from watch.
	dialer net.Dialer
	live   liveSet
}

// Interface guards.
var (
	_ tcpPath  = (*goroutinePath)(nil)
	_ openConn = (*tcpConn)(nil)
)

func newGoroutinePath(e *Engine) *goroutinePath {
	g := &goroutinePath{e: e, watch: newDialWatch(e.opts.ConnectTimeout)}
	g.dialer = net.Dialer{KeepAlive: -1, ControlContext: g.watch.control}
	g.live.m = map[*tcpConn]struct{}{}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); g.watch.run(e.stop) }()
	return g
}

// listen opens the service's SO_REUSEPORT listeners and starts an accept goroutine on
// each.
func (g *goroutinePath) listen(s *service) error {
	lc := net.ListenConfig{KeepAlive: -1, Control: listenControl}
	network := "tcp4"
	if s.vip.Addr().Is6() {
		network = "tcp6"
	}
	addr := s.vip.String()
	for range g.e.opts.Listeners {
		l, err := lc.Listen(context.Background(), network, addr)
		if err != nil {
			g.unlisten(s)
			return err
		}
		s.lns = append(s.lns, l.(*net.TCPListener))
	}
	for _, l := range s.lns {
		g.e.wg.Add(1)
		go g.accept(s, l)
	}
	return nil
}

func (g *goroutinePath) unlisten(s *service) {
	for _, l := range s.lns {
		l.Close()
	}
	s.lns = nil
}

func (g *goroutinePath) visit(f func(c openConn) bool) {
	for _, c := range g.live.snapshot() {
		if f(c) {
			c.abort()
		}
	}
}

func (g *goroutinePath) close() {
	g.watch.close()
	for _, c := range g.live.close() {
		c.abort()
	}
}

// accept serves listener l until it is closed.
func (g *goroutinePath) accept(s *service, l *net.TCPListener) {
	e := g.e
	defer e.wg.Done()
	var delay time.Duration
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// out of descriptors or memory: back off as net/http does
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			e.log.Warn("proxy engine: accept", "service", s.key.String(), "err", err, "retry", delay)
			select {
			case <-time.After(delay):
			case <-e.stop:
				return
			}
			continue
		}
		delay = 0
		e.wg.Add(1)
		go g.serve(s, c)
	}
}

// tcpConn is one TCP connection of the goroutine path.
type tcpConn struct {
	relay
	track
	pd pendingDial
}

func (c *tcpConn) tracked() *track { return &c.track }

func (c *tcpConn) flush(info bool) bool {
	var sg segmenter
	if info {
		sg = c
	}
	return c.count(c.up.Load(), c.down.Load(), sg)
}

func (c *tcpConn) segments() (in, out uint32, ok bool) { return segments(c.relay.client) }

// beforeClose takes the last TCP_INFO of the client socket (relayHooks).
func (c *tcpConn) beforeClose() { c.lastSegments(c) }

// serve proxies client connection c of service s.
func (g *goroutinePath) serve(s *service, c *net.TCPConn) {
	e := g.e
	defer e.wg.Done()
	client := addrPortOf(c.RemoteAddr())
	tc := &tcpConn{}
	tc.pd.Context = context.Background()
	var a scheduling
	a.init(s, client)
	for {
		d, ref, ok := a.next()
		if !ok {
			resetConn(c)
			return
		}
		bc, err := g.dial(&tc.pd, d)
		if err == nil {
			tc.established(e, d, ref, client)
			tc.backend = bc
			break
		}
		if !a.failed(d, ref, err) {
			resetConn(c)
			return
		}
	}
	tc.relay.client, tc.bufs = c, e.bufs
	tc.hooks = tc
	if !g.live.add(tc) {
		tc.abort() // the engine is closing
		return
	}
	end := tc.run()
	g.live.remove(tc)
	tc.ended(end, tc.up.Load(), tc.down.Load())
}

// dial connects to real d from an unspecified local address, within the connect timeout.
//
// It dials d's address string rather than using Go 1.26's Dialer.DialTCP with a zero local
// AddrPort: DialTCP always binds the local address it is given, and bind(0.0.0.0:0) costs a
// syscall and takes the ephemeral port before connect, so that a port serves one real only
// instead of one per real. Parsing an IP literal costs no syscall.
func (g *goroutinePath) dial(pd *pendingDial, d *dest) (*net.TCPConn, error) {
	c, err := g.dialer.DialContext(pd, "tcp", d.dialAddr)
	if !g.watch.finish(pd) {
		if c != nil {
			c.Close()
		}
		return nil, errConnectTimeout
	}
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// resetConn closes c with a reset.
func resetConn(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// liveSet holds the open TCP connections, for the 2 s sample, zeroing, and Close.
type liveSet struct {
	mu     sync.Mutex
	m      map[*tcpConn]struct{}
	closed bool
}

// add adds c; it reports false when the set is closed.
func (l *liveSet) add(c *tcpConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.m[c] = struct{}{}
	return true
}

func (l *liveSet) remove(c *tcpConn) {
	l.mu.Lock()
	delete(l.m, c)
	l.mu.Unlock()
}

func (l *liveSet) snapshot() []*tcpConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*tcpConn, 0, len(l.m))
	for c := range l.m {
		out = append(out, c)
	}
	return out
}

// close refuses further adds and returns the connections still open.
func (l *liveSet) close() []*tcpConn {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.snapshot()
}
