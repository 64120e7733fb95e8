package vip

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/nsutil"
)

// maxLabel is the longest IFA_LABEL the kernel keeps (IFNAMSIZ - 1).
const maxLabel = 15

// Manager adds and removes VIPs in one network namespace. It is safe for concurrent use.
type Manager struct {
	ns netns.NsHandle // immutable

	mu sync.Mutex // guards h
	h  *netlink.Handle
}

// NewManager opens a netlink handle in ns (the zero value or netns.None() for the current
// namespace). The caller keeps ownership of ns, which must stay open while the Manager
// is used for sysctls (SetPromoteSecondaries).
func NewManager(ns netns.NsHandle) (*Manager, error) {
	h, err := newHandle(ns)
	if err != nil {
		return nil, fmt.Errorf("vip: open netlink in namespace %s: %w", ns, err)
	}
	return &Manager{ns: ns, h: h}, nil
}

// Close releases the netlink handle. Addresses stay as they are.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		m.h.Close()
		m.h = nil
	}
	return nil
}

// Add puts the VIP on its device (v.Dev must be set: the VRRP layer resolves the
// instance's interface). Adding an address that is already there with the same prefix
// length is not an error and changes nothing (not even its label). IPv6 VIPs are added
// with IFA_F_NODAD, and a /128 as deprecated (preferred lifetime 0), as keepalived does;
// label and scope are ignored for IPv6.
//
// Errors name the VIP and device and wrap ErrInvalid (bad VIP), a
// netlink.LinkNotFoundError (no such device) or the kernel's errno.
func (m *Manager) Add(v config.VIP) error {
	a, err := nlAddr(v, true)
	if err != nil {
		return fmt.Errorf("vip: add %s: %w", describe(v), err)
	}
	err = m.withLink(v.Dev, func(h *netlink.Handle, l netlink.Link) error { return h.AddrAdd(l, a) })
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("vip: add %s: %w", describe(v), err)
	}
	return nil
}

// Remove takes the VIP off its device. Removing an address that is absent (or whose
// device no longer exists) is not an error. As in keepalived, the address must match with
// its prefix length: 192.0.2.1/24 does not remove 192.0.2.1/32.
//
// Removing the primary IPv4 address of a subnet also removes its secondaries unless
// promote_secondaries is on for the device; see SetPromoteSecondaries.
func (m *Manager) Remove(v config.VIP) error {
	a, err := nlAddr(v, false)
	if err != nil {
		return fmt.Errorf("vip: remove %s: %w", describe(v), err)
	}
	err = m.withLink(v.Dev, func(h *netlink.Handle, l netlink.Link) error { return h.AddrDel(l, a) })
	var notFound netlink.LinkNotFoundError
	switch {
	case err == nil, errors.Is(err, unix.EADDRNOTAVAIL), errors.As(err, &notFound):
		return nil
	}
	return fmt.Errorf("vip: remove %s: %w", describe(v), err)
}

// Has reports whether the VIP's address is on its device with the VIP's prefix length.
func (m *Manager) Has(v config.VIP) (bool, error) {
	if !v.Prefix.IsValid() || v.Dev == "" {
		return false, fmt.Errorf("vip: look up %s: %w", describe(v), ErrInvalid)
	}
	var found bool
	err := m.withLink(v.Dev, func(h *netlink.Handle, l netlink.Link) error {
		fam := netlink.FAMILY_V4
		if v.Prefix.Addr().Is6() && !v.Prefix.Addr().Is4In6() {
			fam = netlink.FAMILY_V6
		}
		addrs, err := h.AddrList(l, fam)
		if err != nil {
			return err
		}
		want := v.Prefix.Addr().Unmap().AsSlice()
		for _, a := range addrs {
			ones, _ := a.Mask.Size()
			if a.IP.Equal(want) && ones == v.Prefix.Bits() {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("vip: look up %s: %w", describe(v), err)
	}
	return found, nil
}

// SetPromoteSecondaries sets net.ipv4.conf.DEV.promote_secondaries in the Manager's
// namespace and returns the previous value, so the caller can restore it. keepalived
// turns it on for the interfaces of its instances (vrrp_if_config.c
// set_promote_secondaries) so that removing a VIP which became the primary address of a
// subnet does not flush the other addresses of that subnet.
func (m *Manager) SetPromoteSecondaries(dev string, on bool) (previous bool, err error) {
	path := "/proc/sys/net/ipv4/conf/" + dev + "/promote_secondaries"
	if dev == "" || strings.ContainsAny(dev, "/") || dev == "." || dev == ".." {
		return false, fmt.Errorf("vip: promote_secondaries: bad device name %q: %w", dev, ErrInvalid)
	}
	val := "0\n"
	if on {
		val = "1\n"
	}
	err = nsutil.Run(m.ns, func() error {
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		previous = strings.TrimSpace(string(old)) == "1"
		return os.WriteFile(path, []byte(val), 0o644)
	})
	if err != nil {
		return false, fmt.Errorf("vip: promote_secondaries on %s: %w", dev, err)
	}
	return previous, nil
}

// newHandle opens a route netlink handle whose socket lives in ns.
func newHandle(ns netns.NsHandle) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := nsutil.Run(ns, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil && h != nil {
		h.Close()
		h = nil
	}
	return h, err
}

// withLink looks dev up and calls fn with the handle, under the lock.
func (m *Manager) withLink(dev string, fn func(*netlink.Handle, netlink.Link) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return errors.New("manager closed")
	}
	l, err := m.h.LinkByName(dev)
	if err != nil {
		return err
	}
	return fn(m.h, l)
}

// nlAddr converts a VIP to a netlink address; for removal it leaves out what the kernel
// would otherwise also have to match (the label).
func nlAddr(v config.VIP, add bool) (*netlink.Addr, error) {
	if !v.Prefix.IsValid() {
		return nil, fmt.Errorf("no address: %w", ErrInvalid)
	}
	if v.Dev == "" {
		return nil, fmt.Errorf("no device: %w", ErrInvalid)
	}
	ip := v.Prefix.Addr().Unmap()
	bits := v.Prefix.Bits()
	if v.Prefix.Addr().Is4In6() {
		bits -= 96
	}
	if bits < 0 {
		return nil, fmt.Errorf("prefix length %d: %w", v.Prefix.Bits(), ErrInvalid)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, ip.BitLen())}}
	if ip.Is4() {
		// No broadcast address (keepalived adds IFA_BROADCAST only when configured).
		a.Broadcast = net.IPv4zero
		scope, err := ParseScope(v.Scope)
		if err != nil {
			return nil, err
		}
		a.Scope = int(scope)
		if add {
			if len(v.Label) > maxLabel {
				return nil, fmt.Errorf("label %q longer than %d bytes: %w", v.Label, maxLabel, ErrInvalid)
			}
			a.Label = v.Label
		}
		return a, nil
	}
	if add {
		a.Flags = unix.IFA_F_NODAD
		if bits == 128 {
			a.PreferedLft = 0
			a.ValidLft = infiniteLifetime()
		}
	}
	return a, nil
}

// infiniteLifetime is INFINITY_LIFE_TIME (0xffffffff) as netlink.Addr wants it. On 32-bit
// platforms it does not fit an int, and netlink then leaves the lifetimes at their
// defaults (the /128 is not deprecated there).
func infiniteLifetime() int {
	lft := uint64(math.MaxUint32)
	return int(lft)
}

func describe(v config.VIP) string {
	s := v.Prefix.String()
	if v.Dev != "" {
		s += " dev " + v.Dev
	}
	if v.Label != "" {
		s += " label " + v.Label
	}
	return s
}
