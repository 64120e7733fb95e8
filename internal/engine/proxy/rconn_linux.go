package proxy

import (
	"syscall"
	"unsafe"

	"github.com/golvs/golvs/internal/conntrack"
	"golang.org/x/sys/unix"
)

// A reactor connection, from accept to close, on its loop:
//
//   - connect: scheduling picks the real and binds the entry (conn.go); the loop opens a
//     nonblocking socket (TCP_NODELAY) and connects, registers it, and arms the connect
//     timer. The socket's first event says how it went: an error removes the entry and
//     tries another real (Options.Retries) or resets the client.
//   - relay: once connected, the client socket is registered too. Both sockets are
//     edge-triggered, so the loop keeps per socket what the last events said (readable,
//     writable, the peer closed) and each direction (source side -> other side) does one
//     read per readiness: a read shorter than asked drained the socket, so no read is made
//     just to see EAGAIN. What is read goes out at once with one write; bytes the
//     destination does not take wait in a pooled buffer (the direction reads no more)
//     until EPOLLOUT. A read that fills the buffer makes the direction bulk: it then
//     splices through a pipe from the loop's pool, held only while bytes sit in it.
//   - half-close, reset and timeouts as the goroutine path's relay (relay.go): EOF passes
//     a FIN on (shutdown) and moves the entry (track.halfClosed); the surviving direction
//     must then move data every FIN timeout (the wheel) or both sockets are closed; a
//     reset, or a write failing with EPIPE, resets both sides (SO_LINGER 0).
//
// A direction does at most pumpBudget reads per event; with work left, the connection is
// served again after the other events of the round.

// Sides of a connection, which also name its directions by their source: direction
// sideClient is client->real (up), sideReal is real->client (down).
const (
	sideClient = 0
	sideReal   = 1
)

// pumpBudget is how many reads or writes a direction makes per turn.
const pumpBudget = 8

type connState uint8

const (
	connFree connState = iota
	connConnecting
	connOpen
)

// rconn is one TCP connection of the reactor.
type rconn struct {
	track
	l     *loop
	sch   scheduling
	gen   uint32
	state connState
	fd    [2]int // by side; -1 when closed
	// what the last events said of each side's socket: data or EOF to read (cleared by a
	// short read or EAGAIN), room to write (cleared by EAGAIN), the peer's FIN arrived
	// (EPOLLRDHUP), the socket failed or hung up (read it to the end: the error is there)
	rd, wr, fin, hup [2]bool
	dir              [2]half // by source side
	done             int     // directions whose FIN was passed on
	// the real and entry of the connect in progress
	cdest *dest
	cref  conntrack.Ref
	tm    timer[*rconn]
	// after the first FIN: the FIN timeout, and when the surviving direction last moved data
	finTicks, lastMove int64
	live               int // index in loop.live, -1 when not there
	queued             bool
}

// half is one direction of a connection.
type half struct {
	buf      *[]byte // bytes read, not yet written: (*buf)[off:end]
	off, end int
	pipe     *pipe // bytes spliced in, not yet out: pipe.n
	bulk     bool  // splice from now on
	eof      bool  // the source sent its FIN
	finSent  bool  // and it was passed on
	moved    uint64
}

func (h *half) pending() bool { return h.end > h.off || h.pipe != nil && h.pipe.n > 0 }

func (c *rconn) tracked() *track { return &c.track }

func (c *rconn) flush(info bool) bool {
	var sg segmenter
	if info {
		sg = c
	}
	return c.count(c.dir[sideClient].moved, c.dir[sideReal].moved, sg)
}

func (c *rconn) segments() (in, out uint32, ok bool) {
	if c.fd[sideClient] < 0 || !rawTCPInfo(c.fd[sideClient], &c.l.info) {
		return 0, 0, false
	}
	return c.l.info.Segs_in, c.l.info.Segs_out, true
}

// reset clears c for reuse.
func (c *rconn) reset() {
	l, gen, tm := c.l, c.gen, c.tm
	*c = rconn{l: l, gen: gen, tm: tm, live: -1}
}

// early reads what the client sent with its connect, before a real is chosen. Most
// clients speak first, so the request is usually there already and can go out with the
// connect (connect); the read costs an EAGAIN only for protocols whose server speaks
// first. It reports false when the client reset, and was closed.
func (c *rconn) early() bool {
	l, h := c.l, &c.dir[sideClient]
	b := l.getBuf()
	n, e := rawRead(c.fd[sideClient], *b)
	switch {
	case e == 0 && n > 0:
		h.buf, h.off, h.end = b, 0, n
		if n == len(*b) { // there may be more: bulk
			h.bulk, c.rd[sideClient] = true, true
		}
		return true
	case e == 0:
		h.eof = true // the client closed at once; the FIN goes on once connected
	case e != unix.EAGAIN && e != unix.EINTR:
		l.putBuf(b)
		c.refuse()
		return false
	}
	l.putBuf(b)
	return true
}

// connect picks a real and starts connecting to it, trying others (Options.Retries) when
// the connect fails; with no real left, it resets the client. The client's first bytes, if
// early read them, are sent at once: on a fast path (loopback, a local real) the connect
// is complete when connect(2) returns, and a send that goes through says so without
// waiting for EPOLLOUT. A send refused with EAGAIN means still connecting.
func (c *rconn) connect() {
	l := c.l
	for {
		d, ref, ok := c.sch.next()
		if !ok {
			c.refuse()
			return
		}
		e := c.dial(d)
		if e == 0 && c.dir[sideClient].pending() {
			switch e = c.sendFirst(); e {
			case 0:
				c.open(d, ref, 0)
				return
			case unix.EAGAIN:
				e = 0
			default:
				c.closeFD(sideReal)
			}
		}
		if e == 0 {
			c.cdest, c.cref, c.state = d, ref, connConnecting
			l.wheel.arm(&c.tm, l.tick+l.connectTicks)
			return
		}
		if !c.sch.failed(d, ref, e) {
			c.refuse()
			return
		}
	}
}

// sendFirst sends the client's early bytes to the real being connected.
func (c *rconn) sendFirst() syscall.Errno {
	h := &c.dir[sideClient]
	m, e := rawSend(c.fd[sideReal], (*h.buf)[h.off:h.end], 0)
	if e == 0 {
		c.wrote(sideClient, m)
	}
	return e
}

// dial opens a nonblocking socket to d, starts the connect and registers the socket.
func (c *rconn) dial(d *dest) syscall.Errno {
	l := c.l
	family := l.sa.set(d.addr)
	fd, e := rawSocket(family)
	if e != 0 {
		return e
	}
	rawSetsockopt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if e := rawConnect(fd, unsafe.Pointer(&l.sa.raw), l.sa.len); e != 0 && e != unix.EINPROGRESS && e != unix.EINTR {
		rawClose(fd)
		return e
	}
	if e := l.register(fd, c); e != 0 {
		rawClose(fd)
		return e
	}
	c.fd[sideReal] = fd
	l.setConn(fd, c)
	return 0
}

// refuse resets the client of a connection that got no real, and forgets it.
func (c *rconn) refuse() {
	if fd := c.fd[sideClient]; fd >= 0 {
		rawSetLinger0(fd)
		c.closeFD(sideClient)
	}
	if h := &c.dir[sideClient]; h.buf != nil {
		c.l.putBuf(h.buf)
	}
	c.l.release(c)
}

// abortConnect ends a connect in progress as a failed one that may not be retried.
func (c *rconn) abortConnect() {
	c.l.wheel.disarm(&c.tm)
	c.l.e.table.Delete(c.cref)
	c.closeFD(sideReal)
	c.refuse()
}

func (c *rconn) closeFD(side int) {
	fd := c.fd[side]
	rawClose(fd)
	c.l.conns[fd] = nil
	c.fd[side] = -1
}

// event handles events ev of socket fd.
func (c *rconn) event(fd int, ev uint32) {
	if c.state == connConnecting {
		if fd == c.fd[sideReal] {
			c.connected(ev)
		}
		return
	}
	side := sideClient
	if fd == c.fd[sideReal] {
		side = sideReal
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.rd[side] = true
	}
	switch {
	case ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0:
		c.hup[side] = true
	case ev&unix.EPOLLRDHUP != 0:
		c.fin[side] = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.wr[side] = true
	}
	// the direction reading this socket, then the one writing to it
	if c.pump(side) {
		c.pump(1 - side)
	}
}

// connected handles the first events of the socket to the real: the connect's outcome.
func (c *rconn) connected(ev uint32) {
	l := c.l
	l.wheel.disarm(&c.tm)
	d, ref := c.cdest, c.cref
	c.cdest, c.cref = nil, 0
	if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		e := rawSoError(c.fd[sideReal])
		switch e {
		case unix.ECONNRESET, unix.EPIPE: // connected, then reset before this event
			c.open(d, ref, 0)
			if c.state == connOpen {
				c.close(endReset)
			}
			return
		case 0:
			e = unix.ECONNREFUSED
		}
		c.closeFD(sideReal)
		if c.sch.failed(d, ref, e) {
			c.connect()
		} else {
			c.refuse()
		}
		return
	}
	c.open(d, ref, ev)
}

// open makes the connection relay: its entry is ESTABLISHED and the client socket joins the
// epoll set. ev are the real socket's first events (0 when a send found it connected).
func (c *rconn) open(d *dest, ref conntrack.Ref, ev uint32) {
	l := c.l
	c.established(l.e, d, ref, c.sch.flow.Client)
	c.state = connOpen
	c.wr = [2]bool{true, true}
	c.rd[sideReal] = ev&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0
	c.fin[sideReal] = ev&unix.EPOLLRDHUP != 0
	l.addLive(c)
	if e := l.register(c.fd[sideClient], c); e != 0 {
		c.close(endError)
		return
	}
	// the client's early bytes or FIN, and what the real said
	if c.pump(sideClient) {
		c.pump(sideReal)
	}
}

// timedOut handles the connection's timer: the connect timeout, or the FIN timeout.
func (c *rconn) timedOut() {
	l := c.l
	switch {
	case c.state == connConnecting:
		d, ref := c.cdest, c.cref
		c.cdest, c.cref = nil, 0
		c.closeFD(sideReal) // aborts the connect
		if c.sch.failed(d, ref, errConnectTimeout) {
			c.connect()
		} else {
			c.refuse()
		}
	case c.state == connOpen && c.done == 1:
		if l.tick-c.lastMove >= c.finTicks {
			c.close(endIdle)
		} else {
			l.wheel.arm(&c.tm, c.lastMove+c.finTicks+1)
		}
	}
}
