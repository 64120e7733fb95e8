// Package health runs the health checks of real servers, keepalived's and ldirectord's way:
// the checkers (TCP connect, HTTP/HTTPS GET with status, MD5 digest or regex, DNS, ICMP
// ping, SMTP, ldirectord's negotiate, external commands), the monitor that schedules them
// with jitter and turns results into up/down transitions with retries, and the table logic
// that turns transitions into the state the engine gets: failed reals removed or quiesced,
// sorry servers, quorum with hysteresis, notify scripts.
package health

import (
	"context"
	"net/netip"
)

// Result is the outcome of one check.
type Result struct {
	// OK reports that the real passed.
	OK bool
	// Reason says what failed, or what passed, for logs and the API ("connect: refused",
	// "HTTP status 503, want 200-299", "exit status 1").
	Reason string
	// Weight, when >= 0, is a new weight for the real (MISC_CHECK misc_dynamic); -1 leaves
	// the configured weight.
	Weight int
}

// Checker performs one health check of one real server.
type Checker interface {
	// Check runs the check once and returns its result. It returns by the deadline of ctx
	// (the check's timeout) at the latest, with OK false and the reason when it expired.
	Check(ctx context.Context) Result
}

// Target is what a checker checks: the real server, and what the service says about it.
type Target struct {
	// Addr is where to connect (the check's connect_ip/port if set, else the real's).
	Addr netip.AddrPort
	// Bind is the local address (and port) to connect from; zero for any.
	Bind netip.AddrPort
	// VirtualHost is the Host header / SNI for HTTP(S), "" for the address.
	VirtualHost string
}
