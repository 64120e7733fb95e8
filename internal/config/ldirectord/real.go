package ldirectord

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// real is one real server as add_real_server keeps it.
type real struct {
	line    int
	addr    netip.Addr
	server  string // resolved address as ldirectord keeps it: dotted quad or [IPv6]
	port    string // resolved port as written, "0" when omitted
	portNum uint16
	forward string // gate, masq or ipip
	weight  uint64
	// request and receive are the real's own check strings; nil when it has none.
	request, receive *string
	lower, upper     uint64
}

// fallback is a fallback server (parse_fallback), resolved.
type fallback struct {
	line    int
	server  string // as written, then resolved
	addr    netip.Addr
	port    string // "" when not given; "0" for none
	portNum uint16
	forward string
}

// Patterns of parse_fallback, _ld_read_config_real_resolve and add_real_server.
var (
	reFallbackFwd  = perl(`(\S+)(\s+(\S+))?\s*$`)
	reFallbackPort = regexp.MustCompile(`(:([0-9]+|[A-Za-z0-9_-]+))?$`)
	reRealLine     = perl(`([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[A-Za-z0-9.-]+|\[[0-9A-fa-f:]+\])` +
		`(->([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[A-Za-z0-9.-]+|\[[0-9A-fa-f:]+\]))?` +
		`(:([0-9]+|[A-Za-z0-9_-]+))?\s+(.*)`)
	reFlagsForward = regexp.MustCompile(`(\w+)(.*)`)
	reFlagsWeight  = perl(`\s+([0-9]+)(.*)`)
	reFlagsCheck   = perl(`\s+"(.*)"[, ]\s*"(.*)"(.*)`)
	reFlagsLower   = perl(`\s+l:([0-9]+)(.*)`)
	reFlagsUpper   = perl(`\s+u:([0-9]+)(.*)`)
	reFlagsRest    = perl(`\S`)
)

// parseFallback is parse_fallback: "host[:port] [gate|masq|ipip]". A virtual section's
// fallback without a port takes defPort, the virtual service's port as written; a global
// one keeps none (port "").
func (p *parser) parseFallback(at int, text, defPort string, inVirtual bool) (*fallback, bool) {
	rest, fwd := text, ""
	if m := reFallbackFwd.FindStringSubmatch(text); m != nil {
		rest, fwd = m[1], m[3]
	}
	fb := &fallback{line: at, forward: "gate"}
	loc := reFallbackPort.FindStringSubmatchIndex(rest)
	fb.server = rest[:loc[0]]
	if loc[4] >= 0 {
		fb.port = rest[loc[4]:loc[5]]
	} else if inVirtual {
		fb.port = defPort
	}
	if fwd != "" && fwd != "0" { // Perl's if ($fwd): "0" is false
		if fwd != "gate" && fwd != "masq" && fwd != "ipip" {
			p.errorf(at, "forward method must be gate, masq or ipip")
			return nil, false
		}
		fb.forward = fwd
	}
	return fb, true
}

// resolveFallback is _ld_read_config_fallback_resolve for protocol.
func (p *parser) resolveFallback(fb *fallback, protocol string, v6 bool) bool {
	h, ok := p.lookupHost(fb.server, v6)
	if !ok {
		family := "IPv4"
		if v6 {
			family = "IPv6"
		}
		p.errorf(fb.line, "invalid %s address or could not resolve for fallback server: %s", family, fb.server)
		return false
	}
	if h.loose {
		p.warnf(fb.line, "fallback: ldirectord reads %s as %s", fb.server, h.addr)
	}
	fb.server, fb.addr = h.str, h.addr
	if fb.port == "" || fb.port == "0" {
		return true
	}
	s, n, ok := p.lookupPort(fb.port, protocol)
	if !ok {
		p.errorf(fb.line, "invalid port for fallback server")
		return false
	}
	fb.port, fb.portNum = s, n
	return true
}

// globalFallback reads fallback= or fallback6= outside a virtual section, resolved for TCP
// and UDP services.
func (p *parser) globalFallback(at int, v6 bool, text string) {
	tcp, ok := p.parseFallback(at, text, "", false)
	if !ok {
		return
	}
	udp := &fallback{}
	*udp = *tcp
	if !p.resolveFallback(tcp, "tcp", v6) || !p.resolveFallback(udp, "udp", v6) {
		return
	}
	i := 0
	if v6 {
		i = 1
	}
	p.g.fallback[i] = &globalFallback{tcp: tcp, udp: udp, line: at}
}

// endSection resolves what a virtual section named, in ldirectord's order: its fallback,
// its address and port, its reals; then refuses a second section for the same service.
func (p *parser) endSection(v *virtual) {
	if v.fallback != nil && !p.resolveFallback(v.fallback, v.protocol, v.v6) {
		v.fallback = nil
	}
	if v.bad {
		return
	}
	if v.fwm != "" {
		n, err := strconv.ParseUint(v.fwm, 10, 32)
		if err != nil || n == 0 {
			p.errorf(v.line, "firewall mark %s out of range 1..4294967295 (ipvsadm refuses it)", v.fwm)
			v.bad = true
			return
		}
		v.mark = uint32(n)
		v.key = "fwm:" + v.fwm
		if v.v6 {
			v.key = "fwm6:" + v.fwm
		}
	} else {
		h, ok := p.lookupHost(v.host, v.v6)
		s, n, ok2 := p.lookupPort(v.portRaw, v.protocol)
		if !ok || !ok2 {
			p.errorf(v.line, "invalid address for virtual service")
			v.bad = true
			return
		}
		if h.loose {
			p.warnf(v.line, "virtual: ldirectord reads %s as %s", v.host, h.addr)
		}
		v.addr, v.server, v.port, v.portNum = h.addr, h.str, s, n
		if !v.serviceSet {
			v.service = portToService(v.port)
		}
		v.key = v.protocol + ":" + v.server + ":" + v.port
	}
	for _, t := range v.realsTodo {
		p.realLine(v, t)
	}
	// ldirectord's id keeps numbers as written ("fwm:05", "tcp:10.0.0.1:080"); ipvsadm does
	// not, so the same service written twice differently is a duplicate too.
	id := fmt.Sprintf("%s/%s/%d/%d", v.protocol, v.addr, v.portNum, v.mark)
	if v.v6 {
		id += "/6"
	}
	if first, dup := p.seen[id]; dup {
		p.errorf(v.line, "duplicate virtual server (first defined at line %d)", first)
		v.bad = true
		return
	}
	p.seen[id] = v.line
}

// maxRange is the most addresses a range of real servers may hold (a /20), and maxReals
// the most real servers of a file; ldirectord has no limit, but takes minutes to read
// tens of thousands of reals.
const (
	maxRange = 4096
	maxReals = 65536
)

// realLine is _ld_read_config_real_resolve for one real= line: an address or range, an
// optional port, and the flags.
func (p *parser) realLine(v *virtual, t realTodo) {
	m := reRealLine.FindStringSubmatch(t.text)
	if m == nil {
		p.errorf(t.line, "invalid address for real server (wrong format)")
		return
	}
	ip1, ip2, port, flags := m[1], m[3], m[5], m[6]
	if port == "" {
		port = "0"
	}
	h1, ok := p.lookupHost(ip1, v.v6)
	if !ok {
		p.errorf(t.line, "invalid address (%s) for real server (could not resolve host)", ip1)
		return
	}
	portStr, portNum, ok := p.lookupPort(port, "")
	if !ok {
		p.errorf(t.line, "invalid port (%s) for real server (could not resolve port)", port)
		return
	}
	if h1.loose {
		p.warnf(t.line, "real: ldirectord reads %s as %s", ip1, h1.addr)
	}
	if m[2] == "" {
		p.addReal(v, t.line, h1, portStr, portNum, flags)
		return
	}
	h2, ok := p.lookupHost(ip2, v.v6)
	if !ok {
		p.errorf(t.line, "invalid address (%s) for real server (could not resolve end host)", ip2)
		return
	}
	if h2.loose {
		p.warnf(t.line, "real: ldirectord reads %s as %s", ip2, h2.addr)
	}
	if v.v6 {
		p.errorf(t.line, "Address range for IPv6 is not supported yet")
		return
	}
	first, last := ip4Int(h1.addr), ip4Int(h2.addr)
	if first > last {
		p.errorf(t.line, "Invalid Range: %s-%s: First value must be greater than or equal to the second value", h1.str, h2.str)
		return
	}
	if last-first >= maxRange || p.nreals+int(last-first) >= maxReals {
		p.errorf(t.line, "range %s-%s holds %d addresses: lvsd takes at most %d in a range and %d in all", h1.str, h2.str, uint64(last-first)+1, maxRange, maxReals)
		return
	}
	if len(strconv.FormatUint(uint64(first), 10)) != len(strconv.FormatUint(uint64(last), 10)) {
		// add_real_server_range loops while "$i le $last_i", a string comparison.
		p.warnf(t.line, "range %s-%s: ldirectord adds none of these real servers (it compares the addresses as strings); lvsd adds all %d", h1.str, h2.str, last-first+1)
	}
	for i := first; ; i++ {
		a := netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		if !p.addReal(v, t.line, resolvedHost{addr: a, str: a.String()}, portStr, portNum, flags) || i == last {
			break // every address has the same flags: one error is enough
		}
	}
}

func ip4Int(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// addReal is add_real_server: flags are "gate|masq|ipip [weight] ["request", "receive"]
// [l:lower] [u:upper]", each part found where ldirectord's unanchored patterns find it. It
// reports whether the flags were valid.
func (p *parser) addReal(v *virtual, at int, h resolvedHost, port string, portNum uint16, flags string) bool {
	m := reFlagsForward.FindStringSubmatch(flags)
	if m == nil || (m[1] != "gate" && m[1] != "masq" && m[1] != "ipip") {
		p.errorf(at, "forward method must be gate, masq or ipip")
		return false
	}
	r := &real{line: at, addr: h.addr, server: h.str, port: port, portNum: portNum, forward: m[1], weight: 1}
	rest, restDefined := m[2], true
	if m := reFlagsWeight.FindStringSubmatch(rest); m != nil {
		w, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil || w > maxWeight {
			p.errorf(at, "weight %s out of range 0..%d (ipvsadm: illegal weight specified)", m[1], maxWeight)
			return false
		}
		r.weight, rest = w, m[2]
	}
	if m := reFlagsCheck.FindStringSubmatch(rest); m != nil {
		req, rcv := m[1], m[2]
		if strings.HasPrefix(req, "/") {
			// ldirectord tests the request with a second match, which resets $2 and $3:
			// the real's receive string and the rest of the line are lost.
			p.warnf(at, "real: ldirectord ignores the receive string %q and anything after it, and checks HTTP with the virtual service's request, because the request starts with \"/\"; lvsd does the same (write the request without the leading \"/\")", rcv)
			r.request, restDefined = &req, false
		} else {
			req = "/" + req
			r.request, r.receive, rest = &req, &rcv, m[3]
		}
	}
	if restDefined {
		if m := reFlagsLower.FindStringSubmatch(rest); m != nil {
			n, err := strconv.ParseUint(m[1], 10, 64)
			if err != nil || n > maxWeight {
				p.errorf(at, "lower threshold %s out of range 0..%d", m[1], maxWeight)
				return false
			}
			r.lower, rest = n, m[2]
		}
		if m := reFlagsUpper.FindStringSubmatch(rest); m != nil {
			n, err := strconv.ParseUint(m[1], 10, 64)
			if err != nil || n > maxWeight {
				p.errorf(at, "upper threshold %s out of range 0..%d", m[1], maxWeight)
				return false
			}
			r.upper, rest = n, m[2]
		}
		if reFlagsRest.MatchString(rest) {
			p.errorf(at, "Invalid real server line, around %q", rest)
			return false
		}
	}
	if p.nreals >= maxReals {
		p.errorf(at, "more than %d real servers: lvsd takes at most %d", maxReals, maxReals)
		return false
	}
	p.nreals++
	v.reals = append(v.reals, r)
	return true
}

// maxWeight is the largest weight and threshold ipvsadm takes (Debian's: INT_MAX).
const maxWeight = 1<<31 - 1
