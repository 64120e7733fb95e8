package health

import "context"

// TCPChecker checks that a TCP connection to the real can be opened, as keepalived's
// TCP_CHECK (keepalived/check/check_tcp.c: tcp_check_thread closes the socket as soon as the
// connect succeeds) and ldirectord's checktype=connect (ld_check_connect: connect, close).
// Nothing is sent.
type TCPChecker struct {
	t Target
}

// Interface guards.
var _ Checker = (*TCPChecker)(nil)

func newTCPChecker(t Target) *TCPChecker { return &TCPChecker{t: t} }

// Check connects (from the target's Bind address when set) and closes at once. It passes
// when the three-way handshake completes; it fails with the connect error ("connection
// refused", "no route to host") or "timed out" when ctx ends first.
func (c *TCPChecker) Check(ctx context.Context) Result {
	conn, err := dialTarget(ctx, c.t)
	if err != nil {
		return checkDownErr(ctx, "connect", err)
	}
	conn.Close()
	return checkOK("connected to %s", c.t.Addr)
}
