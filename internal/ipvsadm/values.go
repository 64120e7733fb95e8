package ipvsadm

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/golvs/golvs/internal/lb"
)

// The option values ipvsadm checks itself (ipvsadm.c: parse_timeout, parse_fwmark,
// parse_sched_flags, the --mcast-group case of parse_options).

func (st *state) mcastGroup(s string) *Error {
	if strings.Contains(s, ":") {
		a, ok := inetPton6(s)
		if !ok || !a.IsMulticast() || a.Is4In6() {
			return fail(fmt.Sprintf("invalid IPv6 mcast-group `%s'", s))
		}
		st.cmd.Daemon.MCastGroup = a
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || !a.IsMulticast() {
		return fail(fmt.Sprintf("invalid IPv4 mcast-group `%s'", s))
	}
	st.cmd.Daemon.MCastGroup = a
	return nil
}

// parseTimeout is parse_timeout: no argument means lb.DefaultPersistTimeout (360).
func parseTimeout(s string, has bool, min, max int64) (uint32, *Error) {
	if !has {
		return lb.DefaultPersistTimeout, nil
	}
	n, ok := stringToNumber(s, min, max)
	if !ok {
		return 0, fail(fmt.Sprintf("invalid timeout value `%s' specified", s))
	}
	return uint32(n), nil
}

// parseFWMark is parse_fwmark: a whole decimal number 1..2^32-1.
func parseFWMark(s string) (uint32, bool) {
	v, digits, whole, overflow := strtol(s)
	if !digits || !whole || overflow || v <= 0 || v > 0xffffffff {
		return 0, false
	}
	return uint32(v), true
}

// parseSchedFlags is parse_sched_flags: comma-separated flag names, checked against the
// scheduler (wlc when -s is absent). An argument made only of commas makes ipvsadm crash
// (strtok returns NULL); here it means no flags.
func parseSchedFlags(sched, arg string) (lb.SvcFlags, *Error) {
	if sched == "" {
		sched = lb.DefaultScheduler
	}
	flags, err := lb.ParseSchedFlags(sched, arg)
	if err != nil {
		return 0, fail(err.Error())
	}
	return flags, nil
}

// truncate cuts s to at most n bytes, as ipvsadm's strncpy into fixed buffers does.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
