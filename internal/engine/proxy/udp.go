package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// udpService is the data plane of a UDP service: one socket on VIP:port, read by one
// goroutine, and per-client sessions, each a socket connected to the client's real and a
// goroutine relaying the real's replies back to the client from the VIP socket.
//
// A session lives while its connection entry does: traffic refreshes the entry (UDP timeout
// from the state's Timeouts), and the 1 s expiry sweep closes sessions whose entry expired.
// Services with -o (one-packet scheduling) schedule every datagram on its own: its entry is
// made and removed at once, as the kernel frees one-packet entries after the packet, but the
// socket that sent it stays open for OnePacketReplyTime after the last datagram from that
// client to that real, so that replies (DNS answers) still reach the client.
type udpService struct {
	s    *service
	conn *net.UDPConn
	// drops counts datagrams dropped because the session bound was reached; dropsLogged is
	// how many of them were logged (guarded by Engine.mu).
	drops       atomic.Uint64
	dropsLogged uint64

	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	ops      map[opsKey]*udpSession
	closed   bool
}

type opsKey struct{ client, real netip.AddrPort }

// udpSession relays one client's datagrams to one real.
type udpSession struct {
	u      *udpService
	client netip.AddrPort
	dest   *dest
	conn   *net.UDPConn
	ref    conntrack.Ref // 0 for a one-packet session
	// last is when the session last carried a datagram from the client (one-packet
	// sessions), in Engine.now's Unix nanoseconds.
	last atomic.Int64
}

// listenUDP opens the VIP socket of s and starts its reader. Call with Engine.mu held.
func (e *Engine) listenUDP(s *service) error {
	lc := net.ListenConfig{Control: udpControl}
	network := "udp4"
	if s.vip.Addr().Is6() {
		network = "udp6"
	}
	pc, err := lc.ListenPacket(context.Background(), network, s.vip.String())
	if err != nil {
		return err
	}
	u := &udpService{s: s, conn: pc.(*net.UDPConn), sessions: map[netip.AddrPort]*udpSession{},
		ops: map[opsKey]*udpSession{}}
	s.udp = u
	e.wg.Add(1)
	go u.serve()
	return nil
}

// serve reads the VIP socket until it is closed.
func (u *udpService) serve() {
	e := u.s.e
	defer e.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, client, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error for an earlier datagram
		}
		u.datagram(buf[:n], netip.AddrPortFrom(client.Addr().Unmap(), client.Port()))
	}
}

// datagram forwards one datagram from client.
func (u *udpService) datagram(b []byte, client netip.AddrPort) {
	s, e := u.s, u.s.e
	u.mu.Lock()
	ss := u.sessions[client]
	u.mu.Unlock()
	if ss != nil {
		if _, err := e.table.Transition(ss.ref, conntrack.Input, 0); err != nil {
			u.closeSession(ss) // its entry expired: schedule anew, as the kernel would
			ss = nil
		}
	}
	if ss == nil {
		cfg := s.cfg.Load()
		f := sched.Flow{Protocol: lb.UDP, Client: client, Dest: s.vip}
		d, tmpl := s.pick(cfg, f, nil)
		if d == nil {
			return // no real: dropped (the kernel sends ICMP port unreachable)
		}
		key := conntrack.Key{Protocol: lb.UDP, Client: client, Virtual: s.vip}
		if cfg.Flags&lb.OnePacket != 0 {
			ss = u.onePacket(key, d, tmpl)
		} else {
			ss = u.newSession(key, d, tmpl)
		}
		if ss == nil {
			return
		}
	}
	if _, err := ss.conn.Write(b); err == nil {
		ss.dest.traffic(1, 0, uint64(len(b)), 0)
	}
}

// newSession binds client's flow to real d and opens its session.
func (u *udpService) newSession(key conntrack.Key, d *dest, tmpl conntrack.Ref) *udpSession {
	e := u.s.e
	if !u.room() {
		return nil
	}
	ref, err := e.table.Insert(key, d.ct, tmpl)
	if errors.Is(err, conntrack.ErrExists) { // an entry left by a session closed meanwhile
		e.table.Delete(ref)
		ref, err = e.table.Insert(key, d.ct, tmpl)
	}
	if err != nil {
		return nil
	}
	d.newConn()
	e.table.Transition(ref, conntrack.Input, 0)
	ss := u.open(key.Client, d, ref)
	if ss == nil {
		e.table.Delete(ref)
		return nil
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		ss.conn.Close()
		e.table.Delete(ref)
		return nil
	}
	u.sessions[key.Client] = ss
	u.mu.Unlock()
	return ss
}

// onePacket counts a one-packet connection to d (an entry made and removed at once) and
// returns the reply window session of client and d, opening it if needed.
func (u *udpService) onePacket(key conntrack.Key, d *dest, tmpl conntrack.Ref) *udpSession {
	e := u.s.e
	if ref, err := e.table.Insert(key, d.ct, tmpl); err == nil {
		e.table.Delete(ref)
	}
	d.newConn()
	k := opsKey{key.Client, d.addr}
	u.mu.Lock()
	ss := u.ops[k]
	u.mu.Unlock()
	if ss == nil {
		if !u.room() {
			return nil
		}
		if ss = u.open(key.Client, d, 0); ss == nil {
			return nil
		}
		u.mu.Lock()
		if u.closed {
			u.mu.Unlock()
			ss.conn.Close()
			return nil
		}
		u.ops[k] = ss
		u.mu.Unlock()
	}
	ss.last.Store(e.now().UnixNano())
	return ss
}

// room reports whether one more session fits, counting a drop when not.
func (u *udpService) room() bool {
	u.mu.Lock()
	n := len(u.sessions) + len(u.ops)
	u.mu.Unlock()
	if n >= u.s.e.opts.MaxUDPSessions {
		u.drops.Add(1)
		return false
	}
	return true
}

// open connects a socket to real d for client and starts relaying its replies.
func (u *udpService) open(client netip.AddrPort, d *dest, ref conntrack.Ref) *udpSession {
	e := u.s.e
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(d.addr))
	if err != nil {
		e.log.Debug("proxy engine: UDP socket to real", "service", u.s.key.String(), "real", d.addr.String(), "err", err)
		return nil
	}
	ss := &udpSession{u: u, client: client, dest: d, conn: c, ref: ref}
	e.wg.Add(1)
	go ss.replies()
	return ss
}

// replies relays the real's datagrams to the client until the session is closed. It holds
// a buffer only while a datagram is ready.
func (ss *udpSession) replies() {
	e := ss.u.s.e
	defer e.wg.Done()
	rc, err := ss.conn.SyscallConn()
	if err != nil {
		return
	}
	var rerr error
	for {
		err := rc.Read(func(fd uintptr) bool {
			for {
				bp := e.ubufs.get()
				n, again, err := recvConnected(fd, *bp)
				if err == nil && !again {
					ss.reply((*bp)[:n])
				}
				e.ubufs.put(bp)
				switch {
				case again:
					return false // wait until readable
				case err != nil && !errors.Is(err, syscall.ECONNREFUSED):
					rerr = err
					return true
				}
			}
		})
		if err != nil || rerr != nil {
			return // closed
		}
	}
}

// reply sends a datagram of the real to the client, from the VIP.
func (ss *udpSession) reply(b []byte) {
	e := ss.u.s.e
	if _, err := ss.u.conn.WriteToUDPAddrPort(b, ss.client); err != nil {
		return
	}
	ss.dest.traffic(0, 1, 0, uint64(len(b)))
	if ss.ref != 0 {
		e.table.Transition(ss.ref, conntrack.Output, 0)
	}
}

// closeSession closes ss and forgets it.
func (u *udpService) closeSession(ss *udpSession) {
	u.mu.Lock()
	if ss.ref != 0 {
		if u.sessions[ss.client] == ss {
			delete(u.sessions, ss.client)
		}
	} else if k := (opsKey{ss.client, ss.dest.addr}); u.ops[k] == ss {
		delete(u.ops, k)
	}
	u.mu.Unlock()
	ss.conn.Close()
}

// closeSessions closes the sessions for which match is true.
func (u *udpService) closeSessions(match func(*udpSession) bool) {
	var out []*udpSession
	u.mu.Lock()
	for k, ss := range u.sessions {
		if match(ss) {
			delete(u.sessions, k)
			out = append(out, ss)
		}
	}
	for k, ss := range u.ops {
		if match(ss) {
			delete(u.ops, k)
			out = append(out, ss)
		}
	}
	u.mu.Unlock()
	for _, ss := range out {
		ss.conn.Close()
	}
}

// sweep closes the sessions whose entry expired and the one-packet reply windows that ended.
func (u *udpService) sweep() {
	e := u.s.e
	now := e.now().UnixNano()
	window := int64(e.opts.OnePacketReplyTime)
	u.closeSessions(func(ss *udpSession) bool {
		if ss.ref == 0 {
			return now-ss.last.Load() >= window
		}
		_, ok := e.table.Get(ss.ref)
		return !ok
	})
}

// close closes the VIP socket and every session; their entries are removed (a session's
// replies cannot go back without the VIP socket).
func (u *udpService) close() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.conn.Close()
	e := u.s.e
	u.closeSessions(func(ss *udpSession) bool {
		if ss.ref != 0 {
			e.table.Delete(ss.ref)
		}
		return true
	})
}
