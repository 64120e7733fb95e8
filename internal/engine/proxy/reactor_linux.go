package proxy

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reactor is the event-loop TCP data path (Options.DataPath "reactor"): Options.Listeners
// loops, each a goroutine with its own epoll descriptor, its own SO_REUSEPORT listener per
// TCP service, and the connections accepted there, from accept to close. A connection costs
// no goroutine, closure or timer: its state is a pooled rconn, found by descriptor. Work
// that may block (Apply, counters, the 2 s sample, Close) stays on ordinary goroutines and
// reaches a loop through its command queue and eventfd (loop.post), waiting for the loop to
// run it.
type reactor struct {
	e     *Engine
	loops []*loop
}

// Interface guards.
var (
	_ tcpPath  = (*reactor)(nil)
	_ openConn = (*rconn)(nil)
)

// The Pad word of an epoll event says what its descriptor is: the loop's eventfd, a
// listener, or a connection's socket, whose rconn generation it then holds (so that an
// event for a connection closed earlier in the same batch is recognised and dropped).
const (
	tagWake      = 0
	tagListener  = 1
	tagFirstConn = 2
)

const (
	// eventsPerWait is how many events one epoll_wait returns at most.
	eventsPerWait = 256
	// acceptBatch is how many connections a listener event accepts at most; the listener
	// is level-triggered, so more waiting means another event.
	acceptBatch = 8
	// maxFreeConns and maxFreeBufs bound what a loop keeps for reuse.
	maxFreeConns = 4096
	maxFreeBufs  = 64
	// listenBacklog is capped by net.core.somaxconn.
	listenBacklog = 65535
)

func newReactor(e *Engine) (tcpPath, error) {
	r := &reactor{e: e}
	for range e.opts.Listeners {
		l, err := newLoop(e)
		if err != nil {
			for _, l := range r.loops {
				l.closeFDs()
			}
			return nil, err
		}
		r.loops = append(r.loops, l)
	}
	for _, l := range r.loops {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); l.run() }()
	}
	return r, nil
}

// each runs f on every loop at once and returns when all are done; f(i, l) runs on loop
// l = r.loops[i]. It reports, by loop, whether f ran (false for a loop that has ended).
func (r *reactor) each(f func(i int, l *loop)) []bool {
	ran := make([]bool, len(r.loops))
	var wg sync.WaitGroup
	for i, l := range r.loops {
		wg.Add(1)
		ok := l.post(func() {
			defer wg.Done()
			ran[i] = true
			f(i, l)
		})
		if !ok {
			wg.Done()
		}
	}
	wg.Wait()
	return ran
}

// listen opens a listener per loop for s, then hands each to its loop.
func (r *reactor) listen(s *service) error {
	fds := make([]int, 0, len(r.loops))
	for range r.loops {
		fd, err := listenFD(s.vip)
		if err != nil {
			for _, fd := range fds {
				rawClose(fd)
			}
			return err
		}
		fds = append(fds, fd)
	}
	ran := r.each(func(i int, l *loop) { l.addListener(s, fds[i]) })
	for i, ok := range ran {
		if !ok {
			rawClose(fds[i])
		}
	}
	return nil
}

func (r *reactor) unlisten(s *service) { r.each(func(_ int, l *loop) { l.removeListener(s) }) }

func (r *reactor) visit(f func(c openConn) bool) { r.each(func(_ int, l *loop) { l.visit(f) }) }

func (r *reactor) close() {
	r.each(func(_ int, l *loop) {
		l.abortAll()
		l.closing = true
	})
}

// listenFD opens a nonblocking listening socket on vip: SO_REUSEADDR and SO_REUSEPORT (one
// per loop), IP_FREEBIND (a VIP not on the host yet can be bound, as listenControl does for
// the goroutine path) and TCP_NODELAY, which accepted sockets inherit.
func listenFD(vip netip.AddrPort) (int, error) {
	var sa sockaddr
	family := sa.set(vip)
	network := "tcp4"
	if family == unix.AF_INET6 {
		network = "tcp6"
	}
	fail := func(op string, e syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: network, Addr: net.TCPAddrFromAddrPort(vip), Err: os.NewSyscallError(op, e)}
	}
	fd, e := rawSocket(family)
	if e != 0 {
		return -1, fail("socket", e)
	}
	opts := []struct{ level, opt int }{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR}, {unix.SOL_SOCKET, unix.SO_REUSEPORT},
		{unix.IPPROTO_TCP, unix.TCP_NODELAY},
	}
	if family == unix.AF_INET6 {
		opts = append(opts, struct{ level, opt int }{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
			struct{ level, opt int }{unix.IPPROTO_IPV6, unix.IPV6_FREEBIND})
	} else {
		opts = append(opts, struct{ level, opt int }{unix.IPPROTO_IP, unix.IP_FREEBIND})
	}
	for _, o := range opts {
		if e := rawSetsockopt(fd, o.level, o.opt, 1); e != 0 {
			rawClose(fd)
			return -1, fail("setsockopt", e)
		}
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw)), uintptr(sa.len)); e != 0 {
		rawClose(fd)
		return -1, fail("bind", e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_LISTEN, uintptr(fd), listenBacklog, 0); e != 0 {
		rawClose(fd)
		return -1, fail("listen", e)
	}
	return fd, nil
}

// rlistener is a service's listener on one loop.
type rlistener struct {
	fd int
	s  *service
}

// loop is one event loop. Past newLoop, only its goroutine touches its fields, but for
// those under mu.
type loop struct {
	e    *Engine
	epfd int
	// ep is epfd in Go's poller, where the loop waits when it has nothing to do: parked
	// like any goroutine waiting for I/O, not blocked in a system call, which would have
	// the scheduler take its P away and sysmon poll every 20 µs while the loops are busy.
	ep       *os.File
	epRaw    syscall.RawConn
	poll     func(fd uintptr) bool // the wait's check: epoll_wait without blocking
	got      int                   // what poll got
	deadline bool                  // ep has a read deadline
	efd      int                   // eventfd: commands are waiting
	events   []unix.EpollEvent

	conns []*rconn // by descriptor: the connection a socket belongs to
	lnFD  map[int32]*rlistener
	lnOf  map[*service]*rlistener
	live  []*rconn // connected to their real (visit's set), each knowing its index
	again []queued // connections whose budget ran out with work left
	spare []queued
	free  []*rconn
	bufs  []*[]byte // free copy buffers
	pipes pipePool
	wheel wheel[*rconn]
	fire  func(t *timer[*rconn])
	gen   uint32 // the last generation given to a connection

	epoch        time.Time
	tick         int64 // wheel ticks since epoch, as of the last wakeup
	connectTicks int64

	// accept is paused (listeners out of epoll) until pausedUntil when it ran out of
	// descriptors or memory; acceptDelay is the last pause.
	pausedUntil int64
	acceptDelay time.Duration

	// stalls counts writes refused with EAGAIN (a direction then waits for EPOLLOUT)
	stalls uint64

	scratch []byte // what one read takes; written out at once
	sa      sockaddr
	rsa     unix.RawSockaddrAny
	info    unix.TCPInfo
	closing bool

	mu     sync.Mutex
	cmds   []func()
	closed bool
}

// queued is a connection in loop.again, as of generation gen.
type queued struct {
	c   *rconn
	gen uint32
}

func newLoop(e *Engine) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// nonblocking, so that os.NewFile puts it in Go's poller (an epoll descriptor is
	// readable while events are ready)
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	epRaw, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ep.Close()
		return nil, os.NewSyscallError("eventfd", err)
	}
	l := &loop{
		e: e, epfd: epfd, ep: ep, epRaw: epRaw, efd: efd, events: make([]unix.EpollEvent, eventsPerWait),
		lnFD: map[int32]*rlistener{}, lnOf: map[*service]*rlistener{},
		pipes: pipePool{max: pipesPerLoop}, epoch: time.Now(),
		connectTicks: ticksOf(e.opts.ConnectTimeout) + 1,
		scratch:      make([]byte, bufSize),
	}
	l.fire = l.expired
	l.poll = l.pollOnce
	l.wheel.init(0)
	if e := l.ctl(unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, tagWake); e != 0 {
		l.closeFDs()
		return nil, os.NewSyscallError("epoll_ctl", e)
	}
	return l, nil
}

// ticksOf returns d in wheel ticks, rounded up.
func ticksOf(d time.Duration) int64 { return int64((d + wheelTick - 1) / wheelTick) }

func (l *loop) closeFDs() {
	rawClose(l.efd)
	l.ep.Close()
}

// ctl adds (or modifies) fd in the loop's epoll set with events and tag.
func (l *loop) ctl(op, fd int, events uint32, tag uint32) syscall.Errno {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(tag)}
	_, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(l.epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	return e
}

// post queues f to run on the loop and wakes it; it reports false when the loop has ended
// (f will not run).
func (l *loop) post(f func()) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.cmds = append(l.cmds, f)
	l.mu.Unlock()
	one := [8]byte{1}
	rawWrite(l.efd, one[:])
	return true
}

// runCommands runs the queued commands.
func (l *loop) runCommands() {
	var b [8]byte
	rawRead(l.efd, b[:])
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, f := range cmds {
		f()
	}
}

// run is the loop: wait for events, serve them, then the connections that have work left,
// the timers due and the commands; until close.
func (l *loop) run() {
	for !l.closing {
		n := l.wait(l.timeout())
		l.tick = int64(time.Since(l.epoch) / wheelTick)
		cmds := false
		for i := range n {
			ev := &l.events[i]
			switch uint32(ev.Pad) {
			case tagWake:
				cmds = true
			case tagListener:
				l.accept(ev.Fd)
			default:
				l.event(ev)
			}
		}
		l.runAgain()
		l.wheel.advance(l.tick, l.fire)
		if l.pausedUntil != 0 && l.tick >= l.pausedUntil {
			l.resumeAccept()
		}
		if cmds {
			l.runCommands()
		}
	}
	l.shutdown()
}

// timeout is how long the next wait may block, in milliseconds (-1: until an event).
func (l *loop) timeout() int {
	if len(l.again) > 0 {
		return 0
	}
	ticks := l.wheel.next()
	if l.pausedUntil != 0 {
		if d := max(l.pausedUntil-l.tick, 1); ticks < 0 || d < ticks {
			ticks = d
		}
	}
	if ticks < 0 {
		return -1
	}
	return int(time.Duration(ticks) * wheelTick / time.Millisecond)
}

// wait waits up to msec (-1: no limit) for events and returns how many arrived. Events
// ready now are taken without parking; otherwise the loop parks in Go's poller until epfd
// is readable or the deadline passes. No event is lost in between: the poller's readiness
// is reset before the check, and an event that comes after it makes epfd readable again.
func (l *loop) wait(msec int) int {
	if msec == 0 {
		l.pollOnce(uintptr(l.epfd))
		return l.got
	}
	switch {
	case msec > 0:
		l.ep.SetReadDeadline(time.Now().Add(time.Duration(msec) * time.Millisecond))
		l.deadline = true
	case l.deadline:
		l.ep.SetReadDeadline(time.Time{})
		l.deadline = false
	}
	l.got = 0
	if err := l.epRaw.Read(l.poll); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// cannot happen while the loop holds ep; do not spin
		l.e.log.Error("proxy engine: epoll wait", "err", err)
		time.Sleep(wheelTick)
	}
	return l.got
}

// pollOnce takes the events ready now; it reports whether there were any.
func (l *loop) pollOnce(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&l.events[0])),
			uintptr(len(l.events)), 0, 0, 0)
		switch e {
		case 0:
			l.got = int(n)
			return n > 0
		case unix.EINTR:
			continue
		}
		l.e.log.Error("proxy engine: epoll_wait", "err", e)
		l.got = 0
		return true
	}
}
