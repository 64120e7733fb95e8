package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Errors the package wraps; test with errors.Is.
var (
	// ErrNotSupported: the platform (anything but Linux) or the interface type (not
	// Ethernet-like) cannot do what was asked.
	ErrNotSupported = errors.New("not supported")
	// ErrInvalid: the VIP itself is unusable (no address, no device, bad label or scope).
	ErrInvalid = errors.New("invalid VIP")
)

// LinkEvent reports the state of a watched interface.
type LinkEvent struct {
	// Name is the interface name as passed to Watch.
	Name string
	// Up is true when the interface exists and has both IFF_UP and IFF_RUNNING
	// (administratively up with carrier), keepalived's IF_FLAGS_UP.
	Up bool
}

// AddrEvent reports that an address is now configured on at least one interface
// (Present) or on none (WatchAddrs).
type AddrEvent struct {
	Addr    netip.Addr // unmapped, without zone
	Present bool
}

// Timing is keepalived's schedule of gratuitous ARPs / neighbour advertisements after an
// instance becomes master: Repeat rounds at once, Repeat rounds again after Delay, then
// RefreshRepeat rounds every Refresh while master.
type Timing struct {
	// Repeat is garp_master_repeat: rounds sent at once on becoming master and again
	// after Delay. Default 5.
	Repeat int
	// Delay is garp_master_delay: when the second burst goes; 0 means no second burst.
	// Default 5 s.
	Delay time.Duration
	// Refresh is garp_master_refresh: the period of refresh bursts while master; 0 (the
	// default) means none.
	Refresh time.Duration
	// RefreshRepeat is garp_master_refresh_repeat: rounds per refresh burst. Default 1.
	RefreshRepeat int
}

// DefaultTiming is keepalived 2.2's default schedule (vrrp.h: VRRP_GARP_REP 5,
// VRRP_GARP_DELAY 5 s, VRRP_GARP_REFRESH 0, VRRP_GARP_REFRESH_REP 1).
func DefaultTiming() Timing {
	return Timing{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1}
}

// ParseScope converts a keepalived / iproute2 address scope ("global", "site", "link",
// "host", "nowhere", or a number 0-255) to its numeric value; "" is global (0).
func ParseScope(s string) (uint8, error) {
	switch s { // keepalived's default rt_scopes table
	case "", "global", "universe":
		return 0, nil
	case "site":
		return 200, nil
	case "link":
		return 253, nil
	case "host":
		return 254, nil
	case "nowhere":
		return 255, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("scope %q: not a scope name or a number 0-255: %w", s, ErrInvalid)
	}
	return uint8(n), nil
}
