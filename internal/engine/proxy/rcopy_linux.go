package proxy

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pump moves direction i (from side i to the other side) as far as readiness and its
// budget allow. It reports false when the connection was closed.
func (c *rconn) pump(i int) bool {
	h := &c.dir[i]
	o := 1 - i
	for range pumpBudget {
		if h.pending() {
			if !c.wr[o] {
				return true
			}
			if !c.writeOut(i) {
				return false
			}
			if h.pending() {
				continue // a partial write: the next one says EAGAIN or takes the rest
			}
		}
		if h.eof {
			if h.finSent {
				return true
			}
			return c.passFIN(i)
		}
		if !c.rd[i] {
			return true
		}
		if !c.readIn(i) {
			return false
		}
	}
	c.l.requeue(c) // budget spent, maybe with work left
	return true
}

// readIn makes one read of direction i and writes what it got at once; what the other
// side does not take stays pending.
func (c *rconn) readIn(i int) bool {
	l, h, o := c.l, &c.dir[i], 1-i
	if h.bulk {
		if h.pipe == nil {
			h.pipe = l.pipes.get()
		}
		if h.pipe != nil {
			return c.spliceIn(i)
		}
	}
	n, e := rawRead(c.fd[i], l.scratch)
	if n, alive := c.took(i, n, e); n == 0 {
		return alive
	}
	switch {
	case n < len(l.scratch):
		// edge-triggered: a short read emptied the socket, and data that comes later
		// brings a new event. If the FIN had arrived, it is all that is left: no read
		// is needed to see the EOF. After an error or hang-up, read on: the error is next.
		switch {
		case c.hup[i]:
		case c.fin[i]:
			h.eof, c.rd[i] = true, false
		default:
			c.rd[i] = false
		}
	default:
		h.bulk = true
	}
	m, e := rawSend(c.fd[o], l.scratch[:n], c.more(i))
	switch e {
	case 0:
	case unix.EAGAIN:
		m, c.wr[o] = 0, false
		l.stalls++
	default:
		c.fail(e)
		return false
	}
	c.moved(i, m)
	if m < n {
		h.buf = l.getBuf()
		h.off, h.end = 0, copy(*h.buf, l.scratch[m:n])
	}
	return true
}

// more returns MSG_MORE when direction i's FIN follows its bytes: the kernel then holds
// them for the FIN (shutdown or close, at once) to go in the same segment.
func (c *rconn) more(i int) int {
	if c.dir[i].eof {
		return unix.MSG_MORE
	}
	return 0
}

// spliceIn splices what direction i's source has into the direction's pipe.
func (c *rconn) spliceIn(i int) bool {
	h := &c.dir[i]
	n, e := rawSplice(c.fd[i], h.pipe.w, reactorPipeSize)
	n, alive := c.took(i, n, e)
	switch {
	case !alive:
		return false
	case n > 0:
		h.pipe.n += n
		return true
	}
	c.l.pipes.put(h.pipe) // empty
	h.pipe = nil
	return true
}

// took sorts out a read of direction i that returned n, e: it returns the bytes read, or
// 0 after EAGAIN (the source is drained), EINTR, EOF (noted) or an error, which closed the
// connection (alive is then false).
func (c *rconn) took(i, n int, e syscall.Errno) (got int, alive bool) {
	switch {
	case e == unix.EAGAIN:
		c.rd[i] = false
	case e == unix.EINTR:
	case e != 0:
		c.fail(e)
		return 0, false
	case n == 0:
		c.dir[i].eof, c.rd[i] = true, false
	default:
		return n, true
	}
	return 0, true
}

// writeOut writes direction i's pending bytes once.
func (c *rconn) writeOut(i int) bool {
	l, h, o := c.l, &c.dir[i], 1-i
	var m int
	var e syscall.Errno
	for {
		if h.pipe != nil && h.pipe.n > 0 {
			m, e = rawSplice(h.pipe.r, c.fd[o], h.pipe.n)
		} else {
			m, e = rawSend(c.fd[o], (*h.buf)[h.off:h.end], c.more(i))
		}
		if e != unix.EINTR {
			break
		}
	}
	switch e {
	case 0:
	case unix.EAGAIN:
		c.wr[o] = false
		l.stalls++
		return true
	default:
		c.fail(e)
		return false
	}
	c.wrote(i, m)
	return true
}

// wrote counts m bytes of direction i's pending ones written, and gives back the pipe or
// buffer they were in once it is empty.
func (c *rconn) wrote(i, m int) {
	l, h := c.l, &c.dir[i]
	c.moved(i, m)
	if h.pipe != nil && h.pipe.n > 0 {
		if h.pipe.n -= m; h.pipe.n == 0 {
			l.pipes.put(h.pipe)
			h.pipe = nil
		}
		return
	}
	if h.off += m; h.off == h.end {
		l.putBuf(h.buf)
		h.buf, h.off, h.end = nil, 0, 0
	}
}

// moved counts m bytes written by direction i.
func (c *rconn) moved(i, m int) {
	c.dir[i].moved += uint64(m)
	if c.done > 0 && m > 0 {
		c.lastMove = c.l.tick
	}
}

// passFIN passes direction i's FIN on, once its bytes are all out, and moves the entry.
// The first FIN starts the FIN timeout of the other direction; the second closes the
// connection (the close sends that FIN: both sockets were read to their end).
func (c *rconn) passFIN(i int) bool {
	l := c.l
	c.dir[i].finSent = true
	c.done++
	if c.done == 2 {
		c.halfClosed(i == sideClient)
		c.close(endClean)
		return false
	}
	rawShutdownWrite(c.fd[1-i])
	c.finTicks = ticksOf(c.halfClosed(i == sideClient))
	c.lastMove = l.tick
	l.wheel.arm(&c.tm, c.lastMove+c.finTicks+1)
	return true
}

// fail ends the connection after error e: a reset (or EPIPE) resets the other side too.
func (c *rconn) fail(e syscall.Errno) {
	if e == unix.ECONNRESET || e == unix.EPIPE {
		c.close(endReset)
		return
	}
	c.l.e.log.Debug("proxy engine: relay", "service", c.dest.svc.key.String(), "client", c.client.String(), "err", e)
	c.close(endError)
}

// close ends an open connection as end says: takes the client socket's last TCP_INFO,
// closes both sockets (resetting them for endReset and endAborted), frees its buffer and
// pipes, and leaves its entry and counters as the goroutine path does (track.ended).
func (c *rconn) close(end relayEnd) {
	l := c.l
	l.wheel.disarm(&c.tm)
	c.lastSegments(c)
	rst := end == endReset || end == endAborted
	for side, fd := range c.fd {
		if fd >= 0 {
			if rst {
				rawSetLinger0(fd)
			}
			c.closeFD(side)
		}
	}
	for i := range c.dir {
		h := &c.dir[i]
		if h.buf != nil {
			l.putBuf(h.buf)
		}
		if h.pipe != nil {
			l.pipes.put(h.pipe) // destroyed if bytes are left in it
		}
	}
	l.removeLive(c)
	c.ended(end, c.dir[sideClient].moved, c.dir[sideReal].moved)
	l.release(c)
}
