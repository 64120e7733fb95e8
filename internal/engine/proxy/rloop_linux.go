package proxy

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// shutdown closes what the loop still holds, once it has stopped; commands that came in
// the meantime run first, with no connection left.
func (l *loop) shutdown() {
	for _, ln := range l.lnOf {
		rawClose(ln.fd)
	}
	clear(l.lnOf)
	clear(l.lnFD)
	l.mu.Lock()
	l.closed = true
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, f := range cmds {
		f()
	}
	l.pipes.close()
	l.closeFDs()
}

func (l *loop) addListener(s *service, fd int) {
	if l.closing {
		rawClose(fd)
		return
	}
	ln := &rlistener{fd: fd, s: s}
	l.lnFD[int32(fd)], l.lnOf[s] = ln, ln
	if l.pausedUntil == 0 {
		if e := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, tagListener); e != 0 {
			l.e.log.Error("proxy engine: epoll_ctl listener", "service", s.key.String(), "err", e)
		}
	}
}

// removeListener closes s's listener (closing it takes it out of the epoll set).
func (l *loop) removeListener(s *service) {
	ln := l.lnOf[s]
	if ln == nil {
		return
	}
	delete(l.lnOf, s)
	delete(l.lnFD, int32(ln.fd))
	rawClose(ln.fd)
}

// accept takes up to acceptBatch connections from listener fd and starts serving them.
func (l *loop) accept(fd int32) {
	ln := l.lnFD[fd]
	if ln == nil {
		return
	}
	for range acceptBatch {
		cfd, e := rawAccept(ln.fd, &l.rsa)
		switch e {
		case 0:
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			l.pauseAccept(ln.s, e)
			return
		default:
			l.e.log.Warn("proxy engine: accept", "service", ln.s.key.String(), "err", e)
			return
		}
		l.acceptDelay = 0
		c := l.newConn()
		c.fd[sideClient] = cfd
		l.setConn(cfd, c)
		c.sch.init(ln.s, addrPortOfRaw(&l.rsa))
		if c.early() {
			c.connect()
		}
	}
}

// pauseAccept takes the listeners out of the epoll set for a while, doubling the pause each
// time (5 ms to 1 s) as the goroutine path's accept does: out of descriptors, a
// level-triggered listener would wake the loop at once, forever.
func (l *loop) pauseAccept(s *service, e syscall.Errno) {
	l.acceptDelay = min(max(2*l.acceptDelay, 5*time.Millisecond), time.Second)
	l.e.log.Warn("proxy engine: accept", "service", s.key.String(), "err", e, "retry", l.acceptDelay)
	for _, ln := range l.lnOf {
		l.ctl(unix.EPOLL_CTL_DEL, ln.fd, 0, 0)
	}
	l.pausedUntil = l.tick + ticksOf(l.acceptDelay) + 1
}

func (l *loop) resumeAccept() {
	l.pausedUntil = 0
	for _, ln := range l.lnOf {
		l.ctl(unix.EPOLL_CTL_ADD, ln.fd, unix.EPOLLIN, tagListener)
	}
}

// setConn records that descriptor fd belongs to c (nil: to nothing).
func (l *loop) setConn(fd int, c *rconn) {
	if fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*rconn, max(fd+1, 2*len(l.conns))-len(l.conns))...)
	}
	l.conns[fd] = c
}

// register adds socket fd of c to the epoll set, edge-triggered for reading, writing and
// the peer's FIN: a socket is added once and never modified (no epoll_ctl per message), and
// closing it takes it out.
func (l *loop) register(fd int, c *rconn) syscall.Errno {
	return l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, c.gen)
}

// event passes a socket's event to its connection, unless the connection it was for is gone.
func (l *loop) event(ev *unix.EpollEvent) {
	fd := int(ev.Fd)
	if fd >= len(l.conns) {
		return
	}
	if c := l.conns[fd]; c != nil && c.gen == uint32(ev.Pad) {
		c.event(fd, ev.Events)
	}
}

// requeue puts c on the list of connections served again after this round of events.
func (l *loop) requeue(c *rconn) {
	if !c.queued {
		c.queued = true
		l.again = append(l.again, queued{c, c.gen})
	}
}

func (l *loop) runAgain() {
	if len(l.again) == 0 {
		return
	}
	batch := l.again
	l.again = l.spare[:0]
	for _, q := range batch {
		if c := q.c; c.gen == q.gen && c.state == connOpen {
			c.queued = false
			if c.pump(sideClient) {
				c.pump(sideReal)
			}
		}
	}
	clear(batch)
	l.spare = batch[:0]
}

// expired is the wheel's fire: a connection's timer is due.
func (l *loop) expired(t *timer[*rconn]) { t.val.timedOut() }

// visit calls f for each connected connection and aborts those it says to.
func (l *loop) visit(f func(c openConn) bool) {
	for i := 0; i < len(l.live); {
		c := l.live[i]
		if f(c) {
			c.close(endAborted) // takes it out of live: i now holds the last one
			continue
		}
		i++
	}
}

// abortAll resets every connection of the loop, connecting ones included.
func (l *loop) abortAll() {
	for len(l.live) > 0 {
		l.live[len(l.live)-1].close(endAborted)
	}
	for fd, c := range l.conns {
		if c != nil && c.state == connConnecting && c.fd[sideReal] == fd {
			c.abortConnect()
		}
	}
}

func (l *loop) addLive(c *rconn) {
	c.live = len(l.live)
	l.live = append(l.live, c)
}

func (l *loop) removeLive(c *rconn) {
	i := c.live
	if i < 0 {
		return
	}
	last := len(l.live) - 1
	l.live[i] = l.live[last]
	l.live[i].live = i
	l.live[last] = nil
	l.live = l.live[:last]
	c.live = -1
}

// newConn returns a connection struct, reused when one is free, with a new generation.
func (l *loop) newConn() *rconn {
	var c *rconn
	if n := len(l.free); n > 0 {
		c = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	} else {
		c = &rconn{l: l}
		newTimer(&c.tm, c)
	}
	if l.gen++; l.gen < tagFirstConn {
		l.gen = tagFirstConn
	}
	c.gen, c.fd, c.live = l.gen, [2]int{-1, -1}, -1
	return c
}

// release forgets c and keeps it for reuse.
func (l *loop) release(c *rconn) {
	c.reset()
	if len(l.free) < maxFreeConns {
		l.free = append(l.free, c)
	}
}

func (l *loop) getBuf() *[]byte {
	if n := len(l.bufs); n > 0 {
		b := l.bufs[n-1]
		l.bufs[n-1] = nil
		l.bufs = l.bufs[:n-1]
		return b
	}
	b := make([]byte, bufSize)
	return &b
}

func (l *loop) putBuf(b *[]byte) {
	if len(l.bufs) < maxFreeBufs {
		l.bufs = append(l.bufs, b)
	}
}
