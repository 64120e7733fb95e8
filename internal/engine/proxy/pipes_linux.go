package proxy

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Splice pipes of the reactor: each loop keeps a bounded pool, and a direction holds a pipe
// only while bytes sit in it (spliced in from its source, not yet out to its destination),
// so pipes follow the bulk transfers in flight, not the open connections. A direction that
// finds the pool exhausted copies through a buffer for that round.
//
// The bound keeps a non-root proxy clear of the pipe-page limit (pipe(7): past
// /proc/sys/fs/pipe-user-pages-soft, 16384 pages by default, a user's new pipes get one
// page and F_SETPIPE_SZ is refused): loops × pipesPerLoop × reactorPipeSize/4096 pages is
// 2 × 32 × 64 = 4096 pages on two CPUs.
const (
	reactorPipeSize = 256 << 10
	pipesPerLoop    = 32
)

// pipe is one splice pipe; n bytes sit in it.
type pipe struct {
	r, w int
	n    int
}

// pipePool is a loop's pipes. One goroutine owns it.
type pipePool struct {
	free []*pipe
	open int // pipes made and not closed, free or held
	max  int
}

// get returns an empty pipe, or nil when the pool's bound is reached or a pipe cannot be
// made.
func (p *pipePool) get() *pipe {
	if n := len(p.free); n > 0 {
		pp := p.free[n-1]
		p.free = p.free[:n-1]
		return pp
	}
	if p.open >= p.max {
		return nil
	}
	var fds [2]int32
	if _, _, e := syscall.RawSyscall(unix.SYS_PIPE2, uintptr(unsafe.Pointer(&fds)), unix.O_NONBLOCK|unix.O_CLOEXEC, 0); e != 0 {
		return nil
	}
	// refused past the soft limit: the pipe keeps its default size, which still works
	syscall.RawSyscall(unix.SYS_FCNTL, uintptr(fds[1]), unix.F_SETPIPE_SZ, reactorPipeSize)
	p.open++
	return &pipe{r: int(fds[0]), w: int(fds[1])}
}

// put returns pp to the pool; a pipe that still holds bytes is closed instead.
func (p *pipePool) put(pp *pipe) {
	if pp.n != 0 {
		p.destroy(pp)
		return
	}
	p.free = append(p.free, pp)
}

func (p *pipePool) destroy(pp *pipe) {
	rawClose(pp.r)
	rawClose(pp.w)
	p.open--
}

// close closes the free pipes; held ones are the holders' to put back or destroy.
func (p *pipePool) close() {
	for _, pp := range p.free {
		p.destroy(pp)
	}
	p.free = nil
}
