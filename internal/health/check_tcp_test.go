package health

import (
	"net"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

func TestTCPChecker(t *testing.T) {
	open := serve(t, "tcp4", func(net.Conn) {})
	tests := []struct {
		name   string
		addr   netip.AddrPort
		ok     bool
		reason string
	}{
		{"listening", open, true, "connected to " + open.String()},
		{"closed port", closedPort(t), false, "connect: connection refused"},
		{"no handshake", blackhole(t), false, "connect: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck := mustChecker(t, &config.Check{Kind: config.CheckTCP}, Target{Addr: tt.addr})
			wantResult(t, runCheck(t, ck, checkTimeout), tt.ok, tt.reason)
		})
	}
}

func TestTCPCheckerIPv6(t *testing.T) {
	open := serve(t, "tcp6", func(net.Conn) {})
	ck := mustChecker(t, &config.Check{Kind: config.CheckTCP}, Target{Addr: open})
	wantResult(t, runCheck(t, ck, checkTimeout), true, "connected")
}

// The check connects from Bind when it is set.
func TestTCPCheckerBind(t *testing.T) {
	from := make(chan netip.Addr, 1)
	open := serve(t, "tcp4", func(c net.Conn) {
		from <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	})
	bind := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 0)
	ck := mustChecker(t, &config.Check{Kind: config.CheckTCP}, Target{Addr: open, Bind: bind})
	r := runCheck(t, ck, checkTimeout)
	if !r.OK {
		t.Skipf("cannot bind 127.0.0.2 here: %s", r.Reason)
	}
	if got := <-from; got != bind.Addr() {
		t.Errorf("server saw the check come from %v, want %v", got, bind.Addr())
	}
}
