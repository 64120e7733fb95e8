package proxy

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufSize is the copy buffer of a direction before it switches to splice: a read that fills
// it marks the direction as bulk (the go-proxy-perf notes: splice pays for large transfers,
// not for small messages).
const bufSize = 16 << 10

// bufPool recycles buffers of one size (TCP copy buffers, UDP datagrams). Pools are
// allocated per engine, not per package (no package state): see Engine.bufs and ubufs.
type bufPool struct{ p sync.Pool }

func newBufPool(size int) *bufPool {
	return &bufPool{p: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (bp *bufPool) get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *bufPool) put(b *[]byte) { bp.p.Put(b) }

// relayEnd is how a relayed connection ended.
type relayEnd uint8

const (
	// endClean: both directions ended with a FIN.
	endClean relayEnd = iota
	// endReset: a side reset (or a write to it failed with EPIPE); the other side was reset.
	endReset
	// endIdle: a half-closed connection moved nothing for its FIN timeout and was closed.
	endIdle
	// endError: another error ended a direction; both sides were closed.
	endError
	// endAborted: the owner aborted the relay (abort); both sides were reset.
	endAborted
)

// relayHooks is what a relay's owner is told.
type relayHooks interface {
	// halfClosed is called in the order the directions end cleanly (one at a time), up
	// telling which (client->backend when true); for the first it returns the FIN timeout of
	// the surviving direction (the second call's result is ignored).
	halfClosed(up bool) time.Duration
	// beforeClose is called once, before the first socket of the pair is closed.
	beforeClose()
}

// relay is one relayed TCP connection: client<->backend until both directions end.
//
// A direction ends at EOF (the peer sent FIN): the other side gets CloseWrite (FIN), and the
// surviving direction must then move data at least every FIN timeout, as the kernel's
// CLOSE_WAIT and FIN_WAIT timeouts demand of a half-closed IPVS connection, or the connection
// is closed. A direction that fails with a reset resets the other side (SetLinger(0) + Close)
// so clients see what they would see without a proxy.
//
// Set the fields, then call run once. up and down count the bytes moved client->backend and
// backend->client as they go; read them at any time.
type relay struct {
	client, backend *net.TCPConn
	bufs            *bufPool
	// finTimeout is the FIN timeout used when hooks is nil.
	finTimeout time.Duration
	// hooks, if set, is told of half-closes and of the close.
	hooks relayHooks

	up, down atomic.Uint64

	finMu    sync.Mutex   // orders the halfClosed calls
	finNanos atomic.Int64 // the FIN timeout of the surviving direction, once done > 0
	done     atomic.Int32 // directions that ended cleanly
	reset    atomic.Bool  // a side reset: reset the other one too
	idle     atomic.Bool  // the FIN timeout expired
	failed   atomic.Bool  // a direction ended with another error
	aborted  atomic.Bool
	shutOnce sync.Once
}

// run relays until both directions end, closes both sockets and says how it ended. It uses
// the calling goroutine for backend->client and one more goroutine for client->backend.
func (r *relay) run() relayEnd {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.copyDir(true)
	}()
	r.copyDir(false)
	wg.Wait()
	r.shut(r.reset.Load())
	switch {
	case r.aborted.Load():
		return endAborted
	case r.reset.Load():
		return endReset
	case r.idle.Load():
		return endIdle
	case r.failed.Load():
		return endError
	}
	return endClean
}

// abort resets both sides; run then returns endAborted. It may be called at any time, from
// any goroutine, more than once.
func (r *relay) abort() {
	r.aborted.Store(true)
	r.reset.Store(true)
	r.shut(true)
}

// shut closes both sockets once, resetting them when rst is set.
func (r *relay) shut(rst bool) {
	r.shutOnce.Do(func() {
		if r.hooks != nil {
			r.hooks.beforeClose()
		}
		if rst {
			r.client.SetLinger(0)
			r.backend.SetLinger(0)
		}
		r.client.Close()
		r.backend.Close()
	})
}

// copyDir moves one direction until its source ends (client->backend when up is set) and
// acts on how it ended.
func (r *relay) copyDir(up bool) {
	dst, src, count := r.client, r.backend, &r.down
	if up {
		dst, src, count = r.backend, r.client, &r.up
	}
	err := r.copyLoop(dst, src, count)
	switch {
	case err == nil: // EOF: pass the FIN on
		dst.CloseWrite()
		r.finMu.Lock()
		first := r.done.Load() == 0
		fin := r.finTimeout
		if r.hooks != nil {
			if d := r.hooks.halfClosed(up); first {
				fin = d
			}
		}
		if first {
			r.finNanos.Store(int64(fin)) // before done: the other direction reads it after
		}
		r.done.Add(1)
		r.finMu.Unlock()
		if first {
			// the other direction now runs on the FIN timeout
			dst.SetReadDeadline(time.Now().Add(fin))
		}
	case isReset(err):
		r.reset.Store(true)
		r.shut(true) // unblocks the other direction with an error
	case isTimeout(err) && r.done.Load() != 0:
		r.idle.Store(true)
		r.shut(false)
	default: // a write to dst failed, or the connection was closed under us
		if !r.reset.Load() {
			r.failed.Store(true)
		}
		r.shut(r.reset.Load())
	}
}

// copyLoop moves src -> dst until src ends. Small messages go through a pooled buffer that
// the direction takes only while data is ready, so an idle connection holds none (the
// go-proxy-perf notes, 4: HAProxy releases buffers as soon as they are sent); once a read
// fills the buffer, the rest of the direction is spliced (TCPConn.ReadFrom).
func (r *relay) copyLoop(dst, src *net.TCPConn, count *atomic.Uint64) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return err
	}
	var (
		bp   *[]byte
		n    int
		rerr error
	)
	read := func(fd uintptr) bool {
		for {
			if bp == nil {
				bp = r.bufs.get()
			}
			n, rerr = syscall.Read(int(fd), *bp)
			switch rerr {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				r.bufs.put(bp) // nothing to read: wait without a buffer
				bp = nil
				return false
			}
			return true
		}
	}
	defer func() {
		if bp != nil {
			r.bufs.put(bp)
		}
	}()
	for {
		if err := rc.Read(read); err != nil {
			return err // closed, or the FIN timeout
		}
		if rerr != nil {
			return os.NewSyscallError("read", rerr)
		}
		if n == 0 {
			return nil // EOF
		}
		if _, err := dst.Write((*bp)[:n]); err != nil {
			return err
		}
		count.Add(uint64(n))
		if r.done.Load() != 0 {
			src.SetReadDeadline(time.Now().Add(time.Duration(r.finNanos.Load())))
		}
		if n == len(*bp) {
			break // bulk
		}
	}
	r.bufs.put(bp)
	bp = nil
	for {
		n, err := dst.ReadFrom(src) // splice
		count.Add(uint64(n))
		if err == nil {
			return nil
		}
		if !isTimeout(err) || r.done.Load() == 0 {
			return err
		}
		if n == 0 {
			return err // half-closed and idle for the FIN timeout
		}
		src.SetReadDeadline(time.Now().Add(time.Duration(r.finNanos.Load())))
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
