package proxy

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// errConnectTimeout is the error of a connect to a real that took longer than
// Options.ConnectTimeout.
var errConnectTimeout = errors.New("connect timeout")

// errEngineClosed is returned by operations on a closed engine.
var errEngineClosed = errors.New("proxy engine: closed")

// dialWatch enforces the connect timeout without a timer or a deadline context per dial
// (the go-proxy-perf notes, 2.1: a dial context with a deadline arms write deadlines and a
// context.AfterFunc per connect). Each dial passes its pendingDial as context; the dialer's
// ControlContext registers the socket in a list ordered by deadline (the timeout is the same
// for all), and one goroutine aborts the connects whose deadline passed.
type dialWatch struct {
	timeout time.Duration
	mu      sync.Mutex
	head    *pendingDial
	tail    *pendingDial
	closed  bool
}

// pendingDial is one connect in progress. It is the dial's context: Background's (no Done
// channel, so connect arms nothing) with Value answering pendingKey.
type pendingDial struct {
	context.Context
	// the rest is guarded by dialWatch.mu
	rc         syscall.RawConn
	deadline   time.Time
	state      dialState
	prev, next *pendingDial
}

type dialState uint8

const (
	dialIdle dialState = iota
	dialPending
	dialTimedOut
)

type pendingKey struct{}

// Value returns p itself for pendingKey.
func (p *pendingDial) Value(k any) any {
	if k == (pendingKey{}) {
		return p
	}
	return p.Context.Value(k)
}

func newDialWatch(timeout time.Duration) *dialWatch { return &dialWatch{timeout: timeout} }

// control is the Dialer's ControlContext: it registers the socket of the dial.
func (w *dialWatch) control(ctx context.Context, _, _ string, c syscall.RawConn) error {
	p, _ := ctx.Value(pendingKey{}).(*pendingDial)
	if p == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errEngineClosed
	}
	p.rc, p.deadline, p.state = c, time.Now().Add(w.timeout), dialPending
	p.prev, p.next = w.tail, nil
	if w.tail != nil {
		w.tail.next = p
	} else {
		w.head = p
	}
	w.tail = p
	return nil
}

// finish ends the watch of p's dial; it reports false when the dial was aborted for taking
// too long (then the caller must treat it as failed even if it connected).
func (w *dialWatch) finish(p *pendingDial) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := p.state
	if st == dialPending {
		w.unlink(p)
	}
	p.state, p.rc = dialIdle, nil
	return st != dialTimedOut
}

func (w *dialWatch) unlink(p *pendingDial) {
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		w.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		w.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

// expire aborts the connects whose deadline is not after now, or all of them when all is set.
func (w *dialWatch) expire(now time.Time, all bool) {
	var abort []syscall.RawConn
	w.mu.Lock()
	for p := w.head; p != nil && (all || !now.Before(p.deadline)); p = w.head {
		w.unlink(p)
		p.state = dialTimedOut
		abort = append(abort, p.rc)
	}
	w.mu.Unlock()
	for _, rc := range abort {
		abortConnect(rc)
	}
}

// run checks deadlines until stop is closed, at a tenth of the timeout (10 ms to 1 s).
func (w *dialWatch) run(stop <-chan struct{}) {
	t := time.NewTicker(min(max(w.timeout/10, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			w.expire(now, false)
		}
	}
}

// close aborts every connect in progress and refuses new ones.
func (w *dialWatch) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.expire(time.Time{}, true)
}
