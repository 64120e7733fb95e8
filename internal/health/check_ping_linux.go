package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// openICMP opens an ICMP socket for echo: a ping socket (SOCK_DGRAM) when the kernel allows
// one, else a raw socket; raw reports which. bind, when valid, is the local address. The
// error says why neither could be had.
func openICMP(ctx context.Context, v6 bool, bind netip.Addr) (conn net.PacketConn, raw bool, err error) {
	conn, dgramErr := openPingSocket(v6, bind)
	if dgramErr == nil {
		return conn, false, nil
	}
	network, laddr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	if bind.IsValid() {
		laddr = bind.String()
	}
	var lc net.ListenConfig
	conn, rawErr := lc.ListenPacket(ctx, network, laddr)
	if rawErr == nil {
		return conn, true, nil
	}
	if errors.Is(rawErr, unix.EPERM) || errors.Is(rawErr, unix.EACCES) {
		return nil, false, fmt.Errorf("no ICMP socket: ping sockets are not allowed (%v; net.ipv4.ping_group_range is %s, this process's group is %d) and raw sockets need CAP_NET_RAW",
			errText(dgramErr), pingGroupRange(), os.Getegid())
	}
	return nil, false, fmt.Errorf("no ICMP socket: ping socket: %v; raw socket: %v", errText(dgramErr), errText(rawErr))
}

// openPingSocket opens an unprivileged ICMP socket (Linux ping socket, "net.ipv4.ping_group_range").
func openPingSocket(v6 bool, bind netip.Addr) (net.PacketConn, error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if bind.IsValid() {
		var sa unix.Sockaddr
		if v6 {
			sa6 := &unix.SockaddrInet6{Addr: bind.As16()}
			if z := bind.Zone(); z != "" {
				if ifi, err := net.InterfaceByName(z); err == nil {
					sa6.ZoneId = uint32(ifi.Index)
				}
			}
			sa = sa6
		} else {
			sa = &unix.SockaddrInet4{Addr: bind.Unmap().As4()}
		}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("bind", err)
		}
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close()
	// Package net sees a datagram socket of an IP family and wraps it as a UDPConn: the
	// "port" of its addresses is the ICMP identifier.
	return net.FilePacketConn(f)
}

// pingGroupRange reads net.ipv4.ping_group_range for error messages.
func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return "unreadable"
	}
	return fmt.Sprintf("%q", strings.Join(strings.Fields(string(b)), " "))
}
