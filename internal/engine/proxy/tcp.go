package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// listenTCP opens the service's SO_REUSEPORT listeners and starts an accept goroutine on
// each. Call with Engine.mu held.
func (e *Engine) listenTCP(s *service) error {
	lc := net.ListenConfig{KeepAlive: -1, Control: listenControl}
	network := "tcp4"
	if s.vip.Addr().Is6() {
		network = "tcp6"
	}
	addr := s.vip.String()
	for range e.opts.Listeners {
		l, err := lc.Listen(context.Background(), network, addr)
		if err != nil {
			s.closeListeners()
			return err
		}
		s.lns = append(s.lns, l.(*net.TCPListener))
	}
	for _, l := range s.lns {
		e.wg.Add(1)
		go e.accept(s, l)
	}
	return nil
}

// accept serves listener l until it is closed.
func (e *Engine) accept(s *service, l *net.TCPListener) {
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
		go e.serveTCP(s, c)
	}
}

// tcpConn is one proxied TCP connection.
type tcpConn struct {
	relay
	e    *Engine
	pd   pendingDial
	dest *dest
	ref  conntrack.Ref

	mu               sync.Mutex // guards the rest; flush holds it
	seenUp, seenDown uint64
	segsIn, segsOut  uint32 // latest TCP_INFO of the client socket
	seenIn, seenOut  uint32 // segments counted so far
}

// flush adds the connection's traffic since the last flush to its real and service: bytes,
// and segments from a fresh TCP_INFO when info is set. It reports whether anything moved.
func (c *tcpConn) flush(info bool) bool {
	c.mu.Lock()
	if info {
		c.readSegments()
	}
	up, down := c.up.Load(), c.down.Load()
	du, dd := up-c.seenUp, down-c.seenDown
	di, do := uint64(c.segsIn-c.seenIn), uint64(c.segsOut-c.seenOut)
	c.seenUp, c.seenDown, c.seenIn, c.seenOut = up, down, c.segsIn, c.segsOut
	c.mu.Unlock()
	if du|dd|di|do == 0 {
		return false
	}
	c.dest.traffic(di, do, du, dd)
	return true
}

// halfClosed moves the entry as the kernel's state table does: a FIN from the client is an
// INPUT fin (ESTABLISHED -> CLOSE_WAIT), one from the real an OUTPUT fin (ESTABLISHED ->
// FIN_WAIT); the second FIN gives TIME_WAIT. The surviving direction gets the new state's
// timeout.
func (c *tcpConn) halfClosed(up bool) time.Duration {
	dir := conntrack.Output
	if up {
		dir = conntrack.Input
	}
	st, err := c.e.table.Transition(c.ref, dir, conntrack.FIN|conntrack.ACK)
	if err != nil {
		return c.e.table.Timeout(lb.TCP, conntrack.TCPFinWait)
	}
	return c.e.table.Timeout(lb.TCP, st)
}

// beforeClose takes the last TCP_INFO of the client socket.
func (c *tcpConn) beforeClose() {
	c.mu.Lock()
	c.readSegments()
	c.mu.Unlock()
}

// readSegments reads TCP_INFO of the client socket. Call with mu held.
func (c *tcpConn) readSegments() {
	if in, out, ok := segments(c.client); ok {
		c.segsIn, c.segsOut = in, out
	}
}

// serveTCP proxies client connection c of service s.
func (e *Engine) serveTCP(s *service, c *net.TCPConn) {
	defer e.wg.Done()
	cfg := s.cfg.Load()
	f := sched.Flow{Protocol: lb.TCP, Client: addrPortOf(c.RemoteAddr()), Dest: s.vip}
	key := conntrack.Key{Protocol: lb.TCP, Client: f.Client, Virtual: s.vip}
	tc := &tcpConn{e: e}
	tc.pd.Context = context.Background()
	var triedBuf [4]*dest
	tried := triedBuf[:0]
	for {
		d, tmpl := s.pick(cfg, f, tried)
		if d == nil {
			e.log.Debug("proxy engine: no real available; resetting", "service", s.key.String(), "client", f.Client.String())
			resetConn(c)
			return
		}
		ref, err := e.bindTCP(key, d, tmpl)
		if err != nil {
			e.log.Debug("proxy engine: connection table", "service", s.key.String(), "err", err)
			resetConn(c)
			return
		}
		bc, err := e.dial(&tc.pd, d)
		if err == nil {
			tc.dest, tc.ref, tc.backend = d, ref, bc
			break
		}
		e.table.Delete(ref)
		e.log.Debug("proxy engine: connect to real failed", "service", s.key.String(), "real", d.addr.String(), "err", err)
		if len(tried) >= e.opts.Retries {
			resetConn(c)
			return
		}
		tried = append(tried, d)
	}
	e.table.SetState(tc.ref, conntrack.TCPEstablished)
	tc.client, tc.bufs = c, e.bufs
	tc.hooks = tc
	if !e.live.add(tc) {
		tc.abort() // the engine is closing
		return
	}
	end := tc.run()
	e.live.remove(tc)
	tc.flush(false)
	switch end {
	case endClean: // both FINs seen: TIME_WAIT already
	case endReset, endError:
		e.table.SetState(tc.ref, conntrack.TCPClose)
	case endIdle: // the kernel's entry would have expired
		e.table.Delete(tc.ref)
	case endAborted: // the entry went with its real, or the engine is closing
	}
}

// bindTCP inserts the connection entry for key bound to real d (linked to template tmpl)
// and counts the connection; the entry counts as active (SYN_RECV) while the real is
// connected. An old entry with the same key (a TIME_WAIT entry whose client port is used
// again) is replaced, as the kernel's conn_reuse_mode does.
func (e *Engine) bindTCP(key conntrack.Key, d *dest, tmpl conntrack.Ref) (conntrack.Ref, error) {
	ref, err := e.table.Insert(key, d.ct, tmpl)
	if errors.Is(err, conntrack.ErrExists) {
		e.table.Delete(ref)
		ref, err = e.table.Insert(key, d.ct, tmpl)
	}
	if err != nil {
		return 0, err
	}
	d.newConn()
	e.table.SetState(ref, conntrack.TCPSynRecv)
	return ref, nil
}

// dial connects to real d from an unspecified local address, within the connect timeout.
//
// It dials d's address string rather than using Go 1.26's Dialer.DialTCP with a zero local
// AddrPort: DialTCP always binds the local address it is given, and bind(0.0.0.0:0) costs a
// syscall and takes the ephemeral port before connect, so that a port serves one real only
// instead of one per real. Parsing an IP literal costs no syscall.
func (e *Engine) dial(pd *pendingDial, d *dest) (*net.TCPConn, error) {
	c, err := e.dialer.DialContext(pd, "tcp", d.dialAddr)
	if !e.watch.finish(pd) {
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
