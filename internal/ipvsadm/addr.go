package ipvsadm

import (
	"math"
	"net/netip"
	"strings"

	"github.com/golvs/golvs/internal/lb"
)

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// strtol parses s as C's strtol(s, &end, 10) does and reports the value, whether any digit
// was read, whether the whole string was used, and whether it overflowed a 64-bit long.
func strtol(s string) (v int64, digits, whole, overflow bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var u uint64
	start := i
	for i < len(s) && isDigit(s[i]) {
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			overflow = true
		} else {
			u = u*10 + d
		}
		i++
	}
	if i == start {
		return 0, false, false, false
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if overflow || u > limit {
		overflow = true
		if neg {
			return math.MinInt64, true, i == len(s), true
		}
		return math.MaxInt64, true, i == len(s), true
	}
	if neg {
		return -int64(u), true, i == len(s), false
	}
	return int64(u), true, i == len(s), false
}

// stringToNumber is ipvsadm's string_to_number: a whole decimal number (C strtol: leading
// white space and a sign allowed) within [min, max], or ok false.
func stringToNumber(s string, min, max int64) (int64, bool) {
	v, digits, whole, overflow := strtol(s)
	if !digits || !whole || overflow || v < min || v > max {
		return 0, false
	}
	return v, true
}

// atoi is C's atoi as glibc implements it: (int)strtol(s, NULL, 10).
func atoi(s string) int32 {
	v, _, _, _ := strtol(s)
	return int32(v) // truncation, as the C conversion does
}

// strIsDigit is ipvsadm's str_is_digit: true when every byte is a digit (also for "").
func strIsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// inetAton parses s as glibc's inet_aton: one to four parts separated by dots, each
// decimal, octal (leading 0) or hex (0x), the last part filling the remaining bytes;
// trailing white space is allowed.
func inetAton(s string) (netip.Addr, bool) {
	var parts []uint64
	i := 0
	for {
		if i >= len(s) || !isDigit(s[i]) {
			return netip.Addr{}, false
		}
		v, n, ok := strtoulBase0(s[i:])
		if !ok {
			return netip.Addr{}, false
		}
		i += n
		if i < len(s) && s[i] == '.' {
			if len(parts) > 2 || v > 0xff {
				return netip.Addr{}, false
			}
			parts = append(parts, v)
			i++
			continue
		}
		parts = append(parts, v)
		break
	}
	if i < len(s) && !isCSpace(s[i]) {
		return netip.Addr{}, false
	}
	last := parts[len(parts)-1]
	max := [...]uint64{0xffffffff, 0xffffff, 0xffff, 0xff}[len(parts)-1]
	if last > max {
		return netip.Addr{}, false
	}
	var word uint32
	for j, p := range parts[:len(parts)-1] {
		word |= uint32(p) << (24 - 8*j)
	}
	word |= uint32(last)
	return netip.AddrFrom4([4]byte{byte(word >> 24), byte(word >> 16), byte(word >> 8), byte(word)}), true
}

// strtoulBase0 reads an unsigned number at the start of s as strtoul(s, &end, 0) does (s
// starts with a digit) and returns it with the number of bytes read; ok is false when it
// does not fit 32 bits, as inet_aton requires.
func strtoulBase0(s string) (v uint64, n int, ok bool) {
	base := uint64(10)
	i := 0
	if s[0] == '0' {
		if len(s) > 2 && (s[1] == 'x' || s[1] == 'X') && hexVal(s[2]) >= 0 {
			base, i = 16, 2
		} else {
			base = 8
		}
	}
	for ; i < len(s); i++ {
		d := int64(-1)
		switch {
		case base == 16:
			d = hexVal(s[i])
		case isDigit(s[i]) && uint64(s[i]-'0') < base:
			d = int64(s[i] - '0')
		}
		if d < 0 {
			break
		}
		v = v*base + uint64(d)
		if v > 0xffffffff {
			return 0, 0, false
		}
	}
	return v, i, true
}

func hexVal(c byte) int64 {
	switch {
	case isDigit(c):
		return int64(c - '0')
	case c >= 'a' && c <= 'f':
		return int64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int64(c-'A') + 10
	}
	return -1
}

// inetPton6 parses an IPv6 address as inet_pton(AF_INET6) does: no zone, no brackets.
func inetPton6(s string) (netip.Addr, bool) {
	if !strings.Contains(s, ":") || strings.ContainsAny(s, "%[]") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// protoName is the /etc/services protocol name for a service protocol, "" for others.
func protoName(p lb.Protocol) string {
	switch p {
	case lb.TCP:
		return "tcp"
	case lb.UDP:
		return "udp"
	case lb.SCTP:
		return "sctp"
	}
	return ""
}

// hostPort is what parseService found.
type hostPort struct {
	addr    netip.Addr
	port    uint16
	hasPort bool
}

// parseService is ipvsadm's parse_service: "host", "host:port", "[v6]:port" or a bare
// IPv6 address; host is an IPv4 address in inet_aton's forms or a name resolved to IPv4
// (gethostbyname), port a number 0-65535 or a service name of proto. ok is false where
// ipvsadm's result lacks SERVICE_ADDR. Its quirks are kept: all-digit strings are refused,
// a bare IPv6 address has no port ("fd00::1:80" is an address), and "[10.0.0.1]:80" is
// 10.0.0.1 without a port.
func parseService(buf string, proto lb.Protocol, res Resolver) (hostPort, bool) {
	if strIsDigit(buf) {
		return hostPort{}, false
	}
	var port string
	hasPort := false
	if strings.HasPrefix(buf, "[") {
		buf = buf[1:]
		end := strings.IndexByte(buf, ']')
		if end < 0 {
			return hostPort{}, false
		}
		after := buf[end+1:]
		buf = buf[:end]
		if !strings.HasPrefix(after, ":") {
			return hostPort{}, false
		}
		port, hasPort = after[1:], true
	}
	var hp hostPort
	if a, ok := inetPton6(buf); ok {
		hp.addr = a
	} else {
		// The port separator is looked for again, in what is left: inside the brackets
		// when there were brackets.
		hasPort = false
		if i := strings.LastIndexByte(buf, ':'); i >= 0 {
			buf, port, hasPort = buf[:i], buf[i+1:], true
		}
		a, ok := inetAton(buf)
		if !ok {
			a, ok = res.LookupHost(buf)
		}
		if !ok || !a.Is4() {
			return hostPort{}, false
		}
		hp.addr = a
	}
	if hasPort {
		hp.hasPort = true
		if n, ok := stringToNumber(port, 0, 65535); ok {
			hp.port = uint16(n)
		} else if name := protoName(proto); name != "" {
			n, ok := res.LookupPort(port, name)
			if !ok {
				return hostPort{}, false
			}
			hp.port = n
		} else {
			return hostPort{}, false
		}
	}
	return hp, true
}

// parseNetmask is ipvsadm's parse_netmask: an address in inet_aton's forms or a host name,
// returned as a<<24|b<<16|c<<8|d.
func parseNetmask(s string, res Resolver) (uint32, bool) {
	a, ok := inetAton(s)
	if !ok {
		a, ok = res.LookupHost(s)
	}
	if !ok || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}
