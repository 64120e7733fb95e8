package health

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync/atomic"
)

// ICMP message types.
const (
	icmpv4EchoReply   = 0
	icmpv4EchoRequest = 8
	icmpv6EchoRequest = 128
	icmpv6EchoReply   = 129
)

// pingPayloadLen is the size of the echo data, as keepalived's ICMP_BUFSIZE.
const pingPayloadLen = 128

// PingChecker sends one ICMP (or ICMPv6) echo request to the real and passes when the echo
// reply comes back before ctx ends, as keepalived's PING_CHECK
// (keepalived/check/check_ping.c: ping_it / recv_it, ping6_it / recv6_it) and ldirectord's
// checktype=ping (ld_check_ping with Net::Ping "icmp"). ldirectord's checkcount attempts are
// the monitor's retries here.
//
// It uses an unprivileged ICMP "ping" socket (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6)
// when the kernel lets this process's group have one (sysctl net.ipv4.ping_group_range, which
// governs IPv6 too), as keepalived does; otherwise a raw socket, which needs CAP_NET_RAW
// (ldirectord's Net::Ping icmp is raw, as root). keepalived widens ping_group_range itself
// (set_ping_group_range); lvsd changes no sysctl: when neither socket can be had the check
// fails saying so, on every check, so the operator sees it.
//
// A ping socket gets from the kernel only the replies to its own identifier. On a raw socket
// every ICMP message arrives, so the checker keeps only an echo reply from the target with
// its identifier and sequence number, and ignores the rest (its own request on loopback
// among them) until the deadline.
type PingChecker struct {
	t   Target
	id  uint16
	seq atomic.Uint32
}

// Interface guards.
var _ Checker = (*PingChecker)(nil)

func newPingChecker(t Target) *PingChecker {
	return &PingChecker{t: t, id: uint16(rand.Uint32())}
}

// Check sends one echo request and waits for its reply until ctx ends.
func (c *PingChecker) Check(ctx context.Context) Result {
	dst := c.t.Addr.Addr()
	v6 := dst.Is6() && !dst.Is4In6()
	conn, raw, err := openICMP(ctx, v6, c.t.Bind.Addr())
	if err != nil {
		return checkDown("ping %s: %v", dst, err)
	}
	defer conn.Close()
	defer guardConn(ctx, conn)()

	seq := uint16(c.seq.Add(1))
	req := make([]byte, 8+pingPayloadLen)
	req[0] = icmpv4EchoRequest
	if v6 {
		req[0] = icmpv6EchoRequest
	}
	binary.BigEndian.PutUint16(req[4:], c.id)
	binary.BigEndian.PutUint16(req[6:], seq)
	for i := range pingPayloadLen {
		req[8+i] = byte(i)
	}
	if !v6 {
		// The kernel fills in the checksum on ping sockets and for ICMPv6, not for a
		// raw ICMPv4 socket; setting it is harmless on the others.
		binary.BigEndian.PutUint16(req[2:], icmpChecksum(req))
	}
	var to net.Addr
	if raw {
		to = &net.IPAddr{IP: dst.Unmap().AsSlice(), Zone: dst.Zone()}
	} else {
		to = &net.UDPAddr{IP: dst.Unmap().AsSlice(), Zone: dst.Zone()}
	}
	if _, err := conn.WriteTo(req, to); err != nil {
		return checkDownErr(ctx, "ping "+dst.String(), err)
	}
	want := byte(icmpv4EchoReply)
	if v6 {
		want = icmpv6EchoReply
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return checkDownErr(ctx, "ping "+dst.String(), err)
		}
		m := buf[:n]
		if n < 8 || m[0] != want || binary.BigEndian.Uint16(m[6:]) != seq {
			continue
		}
		if raw {
			ip, ok := from.(*net.IPAddr)
			if !ok || binary.BigEndian.Uint16(m[4:]) != c.id || !ip.IP.Equal(dst.Unmap().AsSlice()) {
				continue
			}
		}
		return checkOK("echo reply from %s", dst)
	}
}

// icmpChecksum is the Internet checksum (RFC 1071) of b.
func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
