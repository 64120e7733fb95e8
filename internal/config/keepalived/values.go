package keepalived

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// parseUint reads a decimal unsigned number in [lo, hi], with keepalived's messages.
func parseUint(s string, lo, hi uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("number '%s' outside range [%d, %d]", s, lo, hi)
		}
		return 0, fmt.Errorf("invalid number '%s'", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("number '%s' outside range [%d, %d]", s, lo, hi)
	}
	return v, nil
}

// parseInt reads a decimal signed number in [lo, hi].
func parseInt(s string, lo, hi int64) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number '%s'", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("number '%s' outside range [%d, %d]", s, lo, hi)
	}
	return v, nil
}

// parseTimer reads a keepalived <TIMER>: seconds, with up to six decimals (microseconds).
// min is the least value accepted.
func parseTimer(s string, min time.Duration) (time.Duration, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("invalid timer '%s'", s)
	}
	var sec uint64
	if whole != "" {
		v, err := strconv.ParseUint(whole, 10, 64)
		if err != nil || v > math.MaxInt32 {
			return 0, fmt.Errorf("invalid timer '%s'", s)
		}
		sec = v
	}
	d := time.Duration(sec) * time.Second
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		f, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid timer '%s'", s)
		}
		for i := len(frac); i < 6; i++ {
			f *= 10
		}
		d += time.Duration(f) * time.Microsecond
	}
	if d < min {
		return 0, fmt.Errorf("timer '%s' below the minimum %v", s, min)
	}
	return d, nil
}

// parseBool reads keepalived's <BOOL>: on|off|true|false|yes|no.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// parseAddr reads an IPv4 or IPv6 address (no zone).
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parsePort reads a port; "" is 0.
func parsePort(s string) (uint16, bool) {
	if s == "" {
		return 0, true
	}
	v, err := strconv.ParseUint(s, 10, 16)
	return uint16(v), err == nil
}

// seconds formats a duration as keepalived prints timers.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
