package vrrpnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/nsutil"
)

// Listen opens the VRRP socket of one interface, in opts.NetNS when set.
//
// It fails with an error naming the interface when the interface does not exist, when
// there is no usable source address (wrapping ErrNoAddress), when an address is of the
// wrong family (wrapping ErrFamily), or when a socket option cannot be set (raw sockets
// need CAP_NET_RAW, binding to a device CAP_NET_RAW too). Nothing stays open on error.
func Listen(opts Options) (*Conn, error) {
	if opts.Interface == "" {
		return nil, errors.New("vrrpnet: listen: no interface given")
	}
	fam := opts.family()
	if fam != 4 && fam != 6 {
		return nil, fmt.Errorf("vrrpnet: listen on %s: family %d is neither 4 nor 6", opts.Interface, fam)
	}
	for _, a := range append([]netip.Addr{opts.Unicast}, opts.Peers...) {
		if a.IsValid() && familyOf(a) != fam {
			return nil, fmt.Errorf("vrrpnet: listen on %s: %s is not an IPv%d address: %w", opts.Interface, a, fam, ErrFamily)
		}
	}
	c := &Conn{name: opts.Interface, family: fam, multicast: opts.Multicast()}
	for _, p := range opts.Peers {
		c.peers = append(c.peers, p.Unmap().WithZone(""))
	}
	err := nsutil.Run(opts.NetNS, func() error { return c.open(opts.Unicast.Unmap()) })
	if err != nil {
		if c.raw != nil {
			_ = c.raw.Close()
		}
		return nil, fmt.Errorf("vrrpnet: listen on %s (IPv%d): %w", opts.Interface, fam, err)
	}
	return c, nil
}

// open resolves the interface and source address and creates the socket. It runs on a
// thread inside the Conn's network namespace.
func (c *Conn) open(unicast netip.Addr) error {
	ifi, err := net.InterfaceByName(c.name)
	if err != nil {
		return err
	}
	c.ifi = ifi
	if c.src, err = sourceAddr(ifi, c.family, unicast); err != nil {
		return err
	}

	// Bind address: the unicast source in unicast mode (keepalived binds its read socket
	// to unicast_src); the group for IPv4 multicast, which makes the kernel deliver only
	// packets sent to 224.0.0.18 (keepalived binds vrrp_mcast_group4). IPv6 multicast
	// binds nothing and Recv drops what is not addressed to ff02::12 (keepalived binds ::1
	// for the same effect, which needs the loopback interface up).
	network, laddr := "ip4:112", Group(4).String()
	if c.family == 6 {
		network, laddr = "ip6:112", "::"
	}
	if !c.multicast {
		laddr = c.src.String()
		if c.src.Is6() && c.src.IsLinkLocalUnicast() {
			laddr = c.src.WithZone(c.name).String()
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = c.presetFD(int(fd)) }); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		if !c.multicast && errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("bind %s: %w: %w", laddr, ErrNoAddress, err)
		}
		return err
	}
	c.raw = pc
	if c.family == 4 {
		return c.setup4(ipv4.NewPacketConn(pc))
	}
	return c.setup6(ipv6.NewPacketConn(pc))
}

// presetFD sets the options that must precede bind(2): the device binding (keepalived's
// if_setsockopt_bindtodevice, on both of its sockets) and, for IPv4, IP_MULTICAST_ALL off
// so that groups joined by other sockets are not delivered here (if_setsockopt_mcast_all).
func (c *Conn) presetFD(fd int) error {
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.name); err != nil {
		return fmt.Errorf("SO_BINDTODEVICE %s: %w", c.name, err)
	}
	if c.family == 4 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
			return fmt.Errorf("IP_MULTICAST_ALL: %w", err)
		}
	}
	return nil
}

func (c *Conn) setup4(p *ipv4.PacketConn) error {
	c.p4 = p
	steps := []sockStep{
		{"IP_TTL", func() error { return p.SetTTL(TTL) }},
		{"IP_MULTICAST_TTL", func() error { return p.SetMulticastTTL(TTL) }},
		{"IP_TOS", func() error { return p.SetTOS(trafficClass) }},
		{"IP_MULTICAST_LOOP", func() error { return p.SetMulticastLoopback(false) }},
		{"IP_MULTICAST_IF", func() error { return p.SetMulticastInterface(c.ifi) }},
		{"IP_PKTINFO/IP_RECVTTL", func() error {
			return p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
		}},
	}
	if c.multicast {
		steps = append(steps, sockStep{"IP_ADD_MEMBERSHIP " + Group(4).String(), func() error {
			return p.JoinGroup(c.ifi, &net.IPAddr{IP: Group(4).AsSlice()})
		}})
	}
	return runSteps(steps)
}

func (c *Conn) setup6(p *ipv6.PacketConn) error {
	c.p6 = p
	steps := []sockStep{
		// Off: the VRRP layer owns the checksum (see the package documentation).
		{"IPV6_CHECKSUM", func() error { return p.SetChecksum(false, 0) }},
		{"IPV6_UNICAST_HOPS", func() error { return p.SetHopLimit(TTL) }},
		{"IPV6_MULTICAST_HOPS", func() error { return p.SetMulticastHopLimit(TTL) }},
		{"IPV6_TCLASS", func() error { return p.SetTrafficClass(trafficClass) }},
		{"IPV6_MULTICAST_LOOP", func() error { return p.SetMulticastLoopback(false) }},
		{"IPV6_MULTICAST_IF", func() error { return p.SetMulticastInterface(c.ifi) }},
		{"IPV6_RECVPKTINFO/IPV6_RECVHOPLIMIT", func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
		}},
	}
	if c.multicast {
		steps = append(steps, sockStep{"IPV6_JOIN_GROUP " + Group(6).String(), func() error {
			return p.JoinGroup(c.ifi, &net.IPAddr{IP: Group(6).AsSlice()})
		}})
	}
	return runSteps(steps)
}

// sockStep is one socket option to set, named for error messages.
type sockStep struct {
	what string
	do   func() error
}

func runSteps(steps []sockStep) error {
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// sourceAddr picks the source address as keepalived does: the configured unicast source
// if any (it must be an address of this host and, for IPv6, not tentative), else the
// interface's primary IPv4 address (the first that is not IFA_F_SECONDARY) or its first
// usable link-local IPv6 address. It runs inside the Conn's namespace.
func sourceAddr(ifi *net.Interface, family int, want netip.Addr) (netip.Addr, error) {
	nlFamily := netlink.FAMILY_V4
	if family == 6 {
		nlFamily = netlink.FAMILY_V6
	}
	var link netlink.Link
	if !want.IsValid() {
		l, err := netlink.LinkByIndex(ifi.Index)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("look up link %s: %w", ifi.Name, err)
		}
		link = l
	}
	addrs, err := netlink.AddrList(link, nlFamily)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list addresses: %w", err)
	}
	tentative := false
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		unusable := a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0
		switch {
		case want.IsValid():
			if ip != want.WithZone("") {
				continue
			}
		case family == 4:
			if a.Flags&unix.IFA_F_SECONDARY != 0 {
				continue
			}
		default:
			if !ip.IsLinkLocalUnicast() {
				continue
			}
		}
		if unusable {
			tentative = true
			continue
		}
		return ip, nil
	}
	what := fmt.Sprintf("no IPv%d address on %s", family, ifi.Name)
	switch {
	case want.IsValid():
		what = fmt.Sprintf("%s is not an address of this host", want)
	case family == 6:
		what = fmt.Sprintf("no link-local IPv6 address on %s", ifi.Name)
	}
	if tentative {
		what += " (only tentative or duplicate ones: duplicate address detection)"
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", what, ErrNoAddress)
}
