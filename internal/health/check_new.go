package health

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// NewChecker builds the checker for one configured check of the real at t, validating the
// settings of its kind first. It returns an error, naming the setting, for a check it cannot
// run as configured: an unknown kind, a regular expression that does not compile, a digest
// that is not 32 hex digits, a status range outside 100-599, an HTTP method other than GET
// and HEAD, an unknown DNS type, an external command that does not parse, or a negotiate
// service this package cannot speak faithfully (pgsql, oracle, radius, sip).
//
// Each kind's type documents what passes, with the keepalived or ldirectord code it follows.
// A checker keeps no connection or process between two checks, reads nothing from the
// filesystem or network until Check is called, and is safe for concurrent use.
func NewChecker(c *config.Check, t Target) (Checker, error) {
	if c == nil {
		return nil, errors.New("health: nil check")
	}
	switch c.Kind {
	case config.CheckTCP:
		return newTCPChecker(t), nil
	case config.CheckHTTP, config.CheckHTTPS:
		return newHTTPChecker(c, t)
	case config.CheckExternal:
		return newExternalChecker(c)
	case config.CheckDNS:
		return newDNSChecker(c.DNSType, c.DNSName, c.Receive, t)
	case config.CheckPing:
		return newPingChecker(t), nil
	case config.CheckSMTP:
		return newSMTPChecker(t, c.Request, false), nil
	case config.CheckNegotiate:
		return newNegotiateChecker(c, t)
	case "":
		return nil, errors.New("health: check kind missing")
	}
	return nil, fmt.Errorf("health: unknown check kind %q", c.Kind)
}

// checkOK and checkDown build results that leave the real's weight alone.
func checkOK(format string, args ...any) Result {
	return Result{OK: true, Reason: fmt.Sprintf(format, args...), Weight: -1}
}

func checkDown(format string, args ...any) Result {
	return Result{OK: false, Reason: fmt.Sprintf(format, args...), Weight: -1}
}

// checkDownErr is checkDown for an error met at step: when ctx has expired (the check's timeout) the
// reason says so instead of repeating the i/o error the expiry caused.
func checkDownErr(ctx context.Context, step string, err error) Result {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return checkDown("%s: timed out", step)
		}
		return checkDown("%s: %v", step, ctxErr)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return checkDown("%s: timed out", step)
	}
	return checkDown("%s: %s", step, errText(err))
}

// errText shortens the errors of package net to their cause ("connection refused" rather
// than "dial tcp 127.0.0.1:80: connect: connection refused").
func errText(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// dialTCP connects to t.Addr, from t.Bind when set, giving up when ctx ends.
func dialTarget(ctx context.Context, t Target) (net.Conn, error) {
	d := net.Dialer{LocalAddr: bindTCP(t)}
	return d.DialContext(ctx, "tcp", t.Addr.String())
}

// bindTCP is the local address to connect from, nil for any: t.Bind, which may be a port
// with no address, or an address with port 0.
func bindTCP(t Target) net.Addr {
	if !t.Bind.Addr().IsValid() && t.Bind.Port() == 0 {
		return nil
	}
	a := &net.TCPAddr{Port: int(t.Bind.Port())}
	if ip := t.Bind.Addr(); ip.IsValid() {
		a.IP, a.Zone = ip.AsSlice(), ip.Zone()
	}
	return a
}

// bindUDP is bindTCP for UDP sockets.
func bindUDP(t Target) net.Addr {
	if a, ok := bindTCP(t).(*net.TCPAddr); ok {
		return &net.UDPAddr{IP: a.IP, Port: a.Port, Zone: a.Zone}
	}
	return nil
}

// guardConn makes every read and write on conn end by ctx's deadline, and ctx's
// cancellation end them at once (a deadline in the past). The returned stop must be called
// once the conversation is over.
func guardConn(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// hostPort is the Host header value of a target with no virtual host: the address, with
// brackets for IPv6, and the port (keepalived's request_template / request_template_ipv6).
func hostPort(ap netip.AddrPort) string {
	return net.JoinHostPort(ap.Addr().Unmap().String(), fmt.Sprint(ap.Port()))
}

// quoteReason keeps text from the network printable and short in a reason.
func quoteReason(s string) string {
	const max = 80
	s = strings.TrimRight(s, "\r\n")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}
