//go:build !linux

package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// openICMP: ICMP echo is implemented for Linux only.
func openICMP(context.Context, bool, netip.Addr) (net.PacketConn, bool, error) {
	return nil, false, errors.New("ICMP echo is supported on Linux only")
}
