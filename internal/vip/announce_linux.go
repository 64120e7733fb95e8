package vip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nsutil"
)

// Link-layer and network constants of the announcements.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	icmpv6        = 58
	ndHopLimit    = 255 // RFC 4861: neighbour discovery is only accepted with hop limit 255
)

// Where announcements go (keepalived: Ethernet broadcast for ARP, all-nodes for NA).
func allNodes() netip.Addr { return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01}) }

func etherBroadcast() net.HardwareAddr { return net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// etherAllNodes is ff02::1 mapped to Ethernet (RFC 2464 section 7).
func etherAllNodes() net.HardwareAddr { return net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1} }

// Announcer sends gratuitous ARPs and unsolicited neighbour advertisements for VIPs, in
// one network namespace. It holds no socket between calls and is safe for concurrent use.
type Announcer struct {
	ns netns.NsHandle
	// Interval is the pause between two packets of one round (keepalived's
	// vrrp_garp_interval / vrrp_gna_interval; default 0). Set it before use.
	Interval time.Duration
}

// NewAnnouncer returns an Announcer for ns (the zero value or netns.None() for the
// current namespace). The caller keeps ownership of ns and keeps it open while announcing.
func NewAnnouncer(ns netns.NsHandle) *Announcer { return &Announcer{ns: ns} }

// Announce sends one round: one gratuitous ARP per IPv4 VIP and one unsolicited
// neighbour advertisement per IPv6 VIP, each on the VIP's device (v.Dev must be set),
// Interval apart. IPv4 VIPs on IFF_NOARP devices are skipped, as keepalived does.
//
// A failure for one VIP does not stop the others; the result joins the errors, each
// naming the VIP and device (wrapping ErrInvalid, ErrNotSupported for an interface
// without a 6-byte hardware address, or the socket error). If ctx ends during an
// Interval pause, Announce stops and the result includes ctx.Err().
func (a *Announcer) Announce(ctx context.Context, vips []config.VIP) error {
	return a.rounds(ctx, vips, 1)
}

// Burst sends n rounds back to back, as keepalived's vrrp_send_link_update does with
// garp_master_repeat (or garp_master_refresh_repeat): every address once per round. It
// opens each device's socket once for all the rounds. It stops at ctx's end and returns
// the joined errors of all rounds (a device that cannot be opened is reported once per
// address).
func (a *Announcer) Burst(ctx context.Context, vips []config.VIP, n int) error {
	return a.rounds(ctx, vips, n)
}

// rounds sends n rounds over one socket per device.
func (a *Announcer) rounds(ctx context.Context, vips []config.VIP, n int) error {
	if n <= 0 {
		return nil
	}
	var errs []error
	byDev, order := groupByDev(vips, &errs)
	senders := map[string]*sender{}
	defer func() {
		for _, s := range senders {
			_ = s.conn.Close()
		}
	}()
	for _, dev := range order {
		s, err := a.open(dev)
		if err != nil {
			for _, v := range byDev[dev] {
				errs = append(errs, fmt.Errorf("vip: announce %s: %w", describe(v), err))
			}
			continue
		}
		senders[dev] = s
	}
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		first := true
		for _, dev := range order {
			s := senders[dev]
			if s == nil {
				continue
			}
			for _, v := range byDev[dev] {
				if !first && a.Interval > 0 {
					if err := sleep(ctx, a.Interval); err != nil {
						return errors.Join(append(errs, err)...)
					}
				}
				first = false
				if err := s.announce(v.Prefix.Addr().Unmap()); err != nil {
					errs = append(errs, fmt.Errorf("vip: announce %s: %w", describe(v), err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Master runs keepalived's schedule for a new master with the real clock: a burst of
// t.Repeat rounds at once, another after t.Delay (if > 0), then t.RefreshRepeat rounds
// every t.Refresh (if > 0) until ctx ends. It returns nil when the schedule is complete
// (no refresh), ctx.Err() when ctx ended it, or the first failed burst's error. A VRRP
// state machine with an injected clock schedules Burst itself instead.
func (a *Announcer) Master(ctx context.Context, vips []config.VIP, t Timing) error {
	if err := a.Burst(ctx, vips, t.Repeat); err != nil {
		return err
	}
	if t.Delay > 0 {
		if err := sleep(ctx, t.Delay); err != nil {
			return err
		}
		if err := a.Burst(ctx, vips, t.Repeat); err != nil {
			return err
		}
	}
	if t.Refresh <= 0 {
		return nil
	}
	tick := time.NewTicker(t.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := a.Burst(ctx, vips, t.RefreshRepeat); err != nil {
				return err
			}
		}
	}
}

// sender is a packet socket on one interface with what the frames need.
type sender struct {
	conn       *packet.Conn
	ifi        *net.Interface
	noARP      bool
	forwarding bool // IPv6 forwarding on the interface: the NA's router flag
}

// open resolves dev and opens a packet socket on it inside the namespace. The socket
// is bound to protocol 0, so it receives nothing (keepalived binds ETH_P_RARP for the
// same purpose).
func (a *Announcer) open(dev string) (*sender, error) {
	s := &sender{}
	err := nsutil.Run(a.ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		if len(ifi.HardwareAddr) != 6 {
			return fmt.Errorf("interface %s has no Ethernet address: %w", dev, ErrNotSupported)
		}
		s.ifi = ifi
		// net.Interface does not expose IFF_NOARP; netlink's package functions open
		// their socket on this thread, so in the namespace.
		l, err := netlink.LinkByIndex(ifi.Index)
		if err != nil {
			return err
		}
		s.noARP = l.Attrs().RawFlags&unix.IFF_NOARP != 0
		// keepalived's get_ipv6_forwarding reads the same sysctl.
		if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + dev + "/forwarding"); err == nil {
			s.forwarding = strings.TrimSpace(string(b)) == "1"
		}
		s.conn, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		if s.conn != nil {
			_ = s.conn.Close()
		}
		return nil, err
	}
	return s, nil
}

// announce sends the frame for one address.
func (s *sender) announce(ip netip.Addr) error {
	if ip.Is4() {
		if s.noARP {
			return nil
		}
		frame, err := garpFrame(s.ifi.HardwareAddr, ip)
		if err != nil {
			return err
		}
		_, err = s.conn.WriteTo(frame, &packet.Addr{HardwareAddr: etherBroadcast()})
		return err
	}
	frame, err := naFrame(s.ifi.HardwareAddr, ip, s.forwarding)
	if err != nil {
		return err
	}
	_, err = s.conn.WriteTo(frame, &packet.Addr{HardwareAddr: etherAllNodes()})
	return err
}

// garpFrame is keepalived's gratuitous ARP: an Ethernet broadcast ARP request whose
// sender and target IP are the VIP and whose target hardware address is broadcast.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, ip, etherBroadcast(), ip)
	if err != nil {
		return nil, err
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(etherHeader(etherBroadcast(), mac, etherTypeARP), body...), nil
}

// naFrame is keepalived's unsolicited neighbour advertisement: from the VIP to
// all-nodes, override set, router flag from forwarding, target link-layer option.
func naFrame(mac net.HardwareAddr, ip netip.Addr, router bool) ([]byte, error) {
	na := &ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, ip, allNodes())
	if err != nil {
		return nil, err
	}
	ip6 := make([]byte, 40)
	ip6[0] = 0x60 // version 6, traffic class 0, flow label 0
	binary.BigEndian.PutUint16(ip6[4:], uint16(len(icmp)))
	ip6[6] = icmpv6
	ip6[7] = ndHopLimit
	src, dst := ip.As16(), allNodes().As16()
	copy(ip6[8:], src[:])
	copy(ip6[24:], dst[:])
	frame := etherHeader(etherAllNodes(), mac, etherTypeIPv6)
	frame = append(frame, ip6...)
	return append(frame, icmp...), nil
}

func etherHeader(dst, src net.HardwareAddr, etherType uint16) []byte {
	h := make([]byte, 14, 14+68)
	copy(h, dst)
	copy(h[6:], src)
	binary.BigEndian.PutUint16(h[12:], etherType)
	return h
}

// groupByDev groups valid VIPs by device, keeping first-seen device order; invalid ones
// are reported in errs.
func groupByDev(vips []config.VIP, errs *[]error) (map[string][]config.VIP, []string) {
	byDev := map[string][]config.VIP{}
	var order []string
	for _, v := range vips {
		if !v.Prefix.IsValid() || v.Dev == "" {
			*errs = append(*errs, fmt.Errorf("vip: announce %s: no address or device: %w", describe(v), ErrInvalid))
			continue
		}
		if _, ok := byDev[v.Dev]; !ok {
			order = append(order, v.Dev)
		}
		byDev[v.Dev] = append(byDev[v.Dev], v)
	}
	return byDev, order
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
