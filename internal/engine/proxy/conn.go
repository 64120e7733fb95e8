package proxy

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// What both TCP data paths share: the tcpPath seam, the scheduling of a new connection
// (scheduling), and the accounting of an open one (track). A data path only accepts,
// connects, moves bytes and closes; every decision and every change to the connection table
// and the counters goes through this file, so that the two paths cannot drift apart.

// tcpPath serves the connections of TCP services: goroutines (tcp.go) or event loops
// (reactor_linux.go), as Options.DataPath says.
type tcpPath interface {
	// listen starts accepting connections for service s on its VIP. It fails, leaving
	// nothing open, when the address cannot be bound. Called with Engine.mu held.
	listen(s *service) error
	// unlisten stops accepting for s; its open connections go on. It may be called more
	// than once. Called with Engine.mu held.
	unlisten(s *service)
	// visit calls f for every open connection (one connected to its real) and resets those
	// for which f returns true (their relay then ends with endAborted). It returns when
	// done; f may run on several goroutines at once.
	visit(f func(c openConn) (abort bool))
	// close resets every connection, connecting ones included, and returns when the path's
	// goroutines have ended. Listeners are closed by unlisten before.
	close()
}

// openConn is an open TCP connection of either data path, as the engine's periodic work and
// counters see it.
type openConn interface {
	// tracked returns the connection's accounting.
	tracked() *track
	// flush adds the traffic since the last flush to the counters of the connection's real
	// and service, the client socket's TCP segments too when info is set, and reports
	// whether anything moved.
	flush(info bool) bool
}

// newTCPPath returns the data path o.DataPath names.
func newTCPPath(e *Engine) (tcpPath, error) {
	if e.opts.DataPath == DataPathReactor {
		return newReactor(e)
	}
	return newGoroutinePath(e), nil
}

// scheduling is a new TCP connection being given a real: its flow and the reals it tried.
// A data path calls init, then next for a real and its entry; connects; and, when the
// connect fails, failed, which says whether to call next again.
type scheduling struct {
	s     *service
	cfg   *lb.Service
	flow  sched.Flow
	key   conntrack.Key
	tried []*dest
	buf   [4]*dest
}

// init starts scheduling a connection of client to service s.
func (a *scheduling) init(s *service, client netip.AddrPort) {
	clear(a.buf[:])
	a.s, a.cfg, a.tried = s, s.cfg.Load(), a.buf[:0]
	a.flow = sched.Flow{Protocol: lb.TCP, Client: client, Dest: s.vip}
	a.key = conntrack.Key{Protocol: lb.TCP, Client: client, Virtual: s.vip}
}

// next picks the real to connect to (with persistence, unless this is a retry) and binds
// the connection's entry to it. It reports false when no real can take the connection or
// the table refuses it: the caller then resets the client.
func (a *scheduling) next() (*dest, conntrack.Ref, bool) {
	e := a.s.e
	d, tmpl := a.s.pick(a.cfg, a.flow, a.tried)
	if d == nil {
		e.log.Debug("proxy engine: no real available; resetting", "service", a.s.key.String(), "client", a.flow.Client.String())
		return nil, 0, false
	}
	ref, err := e.bindTCP(a.key, d, tmpl)
	if err != nil {
		e.log.Debug("proxy engine: connection table", "service", a.s.key.String(), "err", err)
		return nil, 0, false
	}
	return d, ref, true
}

// failed removes the entry of a connect to d that failed with err, and reports whether
// another real may be tried (Options.Retries).
func (a *scheduling) failed(d *dest, ref conntrack.Ref, err error) bool {
	e := a.s.e
	e.table.Delete(ref)
	e.log.Debug("proxy engine: connect to real failed", "service", a.s.key.String(), "real", d.addr.String(), "err", err)
	if len(a.tried) >= e.opts.Retries {
		return false
	}
	a.tried = append(a.tried, d)
	return true
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

// segmenter reads the segments received from and sent to the client (tcpi_segs_in,
// tcpi_segs_out of the client socket's TCP_INFO); ok is false when they cannot be read.
type segmenter interface {
	segments() (in, out uint32, ok bool)
}

// track is the accounting of one open TCP connection: its real, its entry, and the traffic
// already added to the counters.
type track struct {
	e      *Engine
	dest   *dest
	ref    conntrack.Ref
	client netip.AddrPort // for the log

	mu               sync.Mutex // guards the rest
	seenUp, seenDown uint64
	segsIn, segsOut  uint32 // latest TCP_INFO of the client socket
	seenIn, seenOut  uint32 // segments counted so far
}

// established makes the connection's entry ESTABLISHED: its real d is connected.
func (t *track) established(e *Engine, d *dest, ref conntrack.Ref, client netip.AddrPort) {
	*t = track{e: e, dest: d, ref: ref, client: client}
	e.table.SetState(ref, conntrack.TCPEstablished)
}

// count adds the traffic since the last count to the connection's real and service: bytes
// (up and down are the totals moved client->real and real->client so far), and segments
// from a fresh TCP_INFO read by sg when sg is not nil. It reports whether anything moved.
func (t *track) count(up, down uint64, sg segmenter) bool {
	t.mu.Lock()
	if sg != nil {
		t.readSegments(sg)
	}
	du, dd := up-t.seenUp, down-t.seenDown
	di, do := uint64(t.segsIn-t.seenIn), uint64(t.segsOut-t.seenOut)
	t.seenUp, t.seenDown, t.seenIn, t.seenOut = up, down, t.segsIn, t.segsOut
	t.mu.Unlock()
	if du|dd|di|do == 0 {
		return false
	}
	t.dest.traffic(di, do, du, dd)
	return true
}

// lastSegments takes the last TCP_INFO of the client socket, before it is closed.
func (t *track) lastSegments(sg segmenter) {
	t.mu.Lock()
	t.readSegments(sg)
	t.mu.Unlock()
}

// readSegments reads TCP_INFO through sg. Call with mu held.
func (t *track) readSegments(sg segmenter) {
	if in, out, ok := sg.segments(); ok {
		t.segsIn, t.segsOut = in, out
	}
}

// halfClosed moves the entry as the kernel's state table does: a FIN from the client is an
// INPUT fin (ESTABLISHED -> CLOSE_WAIT), one from the real an OUTPUT fin (ESTABLISHED ->
// FIN_WAIT); the second FIN gives TIME_WAIT. It returns the new state's timeout, which the
// surviving direction gets as its FIN timeout.
func (t *track) halfClosed(up bool) time.Duration {
	dir := conntrack.Output
	if up {
		dir = conntrack.Input
	}
	st, err := t.e.table.Transition(t.ref, dir, conntrack.FIN|conntrack.ACK)
	if err != nil {
		return t.e.table.Timeout(lb.TCP, conntrack.TCPFinWait)
	}
	return t.e.table.Timeout(lb.TCP, st)
}

// ended counts the connection's last traffic (up and down as for count) and leaves its
// entry as the way the relay ended demands.
func (t *track) ended(end relayEnd, up, down uint64) {
	t.count(up, down, nil)
	switch end {
	case endClean: // both FINs seen: TIME_WAIT already
	case endReset, endError:
		t.e.table.SetState(t.ref, conntrack.TCPClose)
	case endIdle: // the kernel's entry would have expired
		t.e.table.Delete(t.ref)
	case endAborted: // the entry went with its real, or the engine is closing
	}
}
