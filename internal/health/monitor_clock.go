package health

import "github.com/golvs/golvs/internal/clock"

// Clock is the time source of the Monitor's scheduler. Tests inject a fake one and step it;
// the check timeouts themselves are real time (they bound real I/O), see Options. The
// monitor goroutine and the workers read Now concurrently.
type Clock = clock.Clock

// Timer is a one-shot timer of a Clock, used by the monitor's goroutine only.
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System
