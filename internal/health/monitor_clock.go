package health

import "time"

// Clock is the time source of the Monitor's scheduler. Tests inject a fake one and step it;
// the check timeouts themselves are real time (they bound real I/O), see Options.
//
// Implementations must be safe for concurrent use: the monitor goroutine and the workers
// read Now.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock. Its methods are called by one goroutine only (the
// monitor's).
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset makes the timer fire d from now, discarding any firing not yet received.
	Reset(d time.Duration)
	// Stop cancels the timer.
	Stop()
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer. With Go 1.23 timer semantics, Reset and Stop discard a
// firing that was not received.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop()                 { s.t.Stop() }

// Interface guards.
var (
	_ Clock = SystemClock{}
	_ Timer = sysTimer{}
)
