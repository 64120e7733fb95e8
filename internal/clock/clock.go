// Package clock is the injectable time source of lvsd's schedulers (health checks, VRRP):
// production code uses System, tests a fake they step without sleeping.
package clock

import "time"

// Clock is a time source. Implementations must be safe for concurrent use.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock, used by one goroutine.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset makes the timer fire d from now, discarding a firing not yet received.
	Reset(d time.Duration)
	// Stop cancels the timer.
	Stop()
}

// System is the wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer (Go 1.23 semantics: Reset and Stop discard a pending
// firing).
func (System) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop()                 { s.t.Stop() }

// Interface guards.
var (
	_ Clock = System{}
	_ Timer = sysTimer{}
)
