package keepalived

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// realServer handles real_server IP [PORT] { ... }.
func (p *parser) realServer(vs *vsDef, s *stmt) {
	if !p.needBlock(s) {
		return
	}
	if len(s.args) == 0 || len(s.args) > 2 {
		p.d.errf(s.pos, "real_server needs an address and an optional port")
		return
	}
	port := ""
	if len(s.args) > 1 {
		port = s.args[1]
	}
	a, aok := parseAddr(s.args[0])
	pt, pok := parsePort(port)
	if !aok || !pok {
		p.d.errf(s.pos, "Invalid real server ip address/port %s/%s - skipping", s.args[0], port)
		return
	}
	rs := &rsDef{pos: s.pos, addr: a, port: pt, weight: -1}
	for _, c := range s.block {
		if p.timingKw(&rs.timing, c) {
			continue
		}
		switch c.kw {
		case "weight":
			if p.nargs(c, 1, 1) {
				if v, err := parseUint(c.args[0], 0, 1<<31-1); err != nil {
					p.d.errf(c.pos, "Real server weight %s is outside range 0-2147483647", c.args[0])
				} else {
					rs.weight = int32(v)
				}
			}
		case "lvs_method", "lb_kind":
			if f := p.forwarding(c, "real server"); f != nil {
				rs.fwd = f
			}
		case "uthreshold", "lthreshold":
			if p.nargs(c, 1, 1) {
				v, err := parseUint(c.args[0], 0, 0xffffffff)
				if err != nil {
					p.d.errf(c.pos, "%s: %v", c.kw, err)
				} else if c.kw == "uthreshold" {
					rs.uthr = uint32(v)
				} else {
					rs.lthr = uint32(v)
				}
			}
		case "inhibit_on_failure":
			v := p.flag(c)
			rs.inhibit = &v
		case "notify_up":
			rs.notifyUp = p.script(c, rs.notifyUp)
		case "notify_down":
			rs.notifyDn = p.script(c, rs.notifyDn)
		case "virtualhost":
			if p.nargs(c, 1, 1) {
				rs.vhost = c.args[0]
			}
		case "alpha":
			p.flag(c)
			p.d.warnf(c.pos, "lvsd ignores 'alpha' on a real server: set it on the virtual_server")
		case "smtp_alert", "snmp_name":
			p.ignore(c, "")
		case "HTTP_GET", "SSL_GET", "TCP_CHECK", "SMTP_CHECK", "DNS_CHECK", "MISC_CHECK", "PING_CHECK":
			if ch := p.checker(c); ch != nil {
				rs.checks = append(rs.checks, ch)
			}
		case "UDP_CHECK", "FILE_CHECK", "BFD_CHECK":
			p.ignore(c, "(the real server is not checked by it)")
		default:
			p.unknown(c)
		}
	}
	vs.reals = append(vs.reals, rs)
}

// vsGroup is a virtual_server_group.
type vsGroup struct {
	name    string
	pos     config.Pos
	entries []groupEntry
	used    bool
}

// groupEntry is one address (range) with a port, or one fwmark.
type groupEntry struct {
	pos     config.Pos
	first   netip.Addr
	last    netip.Addr
	port    uint16
	fwmark  uint32
	family6 bool // fwmark ... inet6
}

// maxGroupRange bounds the addresses one range may expand to.
const maxGroupRange = 65536

// vsGroup handles virtual_server_group NAME { IP[-END|/LEN] [PORT] | fwmark N [inet|inet6] }.
func (p *parser) vsGroup(s *stmt) {
	if !p.needBlock(s) {
		return
	}
	if len(s.args) < 1 {
		p.d.errf(s.pos, "virtual_server_group needs a name")
		return
	}
	g := &vsGroup{name: s.args[0], pos: s.pos}
	if old, dup := p.groups[g.name]; dup {
		p.d.errf(s.pos, "virtual_server_group %s is already defined at %v", g.name, old.pos)
		return
	}
	for _, e := range s.block {
		if e.hasBlock {
			p.d.errf(e.pos, "'%s' takes no block", e.kw)
			continue
		}
		if e.kw == "fwmark" {
			if len(e.args) < 1 || len(e.args) > 2 {
				p.d.errf(e.pos, "fwmark needs a mark and an optional inet|inet6")
				continue
			}
			m, err := parseUint(e.args[0], 1, 0xffffffff)
			if err != nil {
				p.d.errf(e.pos, "virtual server group fwmark: %v", err)
				continue
			}
			ge := groupEntry{pos: e.pos, fwmark: uint32(m)}
			if len(e.args) == 2 {
				switch e.args[1] {
				case "inet":
				case "inet6":
					ge.family6 = true
				default:
					p.d.errf(e.pos, "unknown address family %s", e.args[1])
					continue
				}
			}
			g.entries = append(g.entries, ge)
			continue
		}
		if len(e.args) > 1 {
			p.d.warnf(e.pos, "extra words ignored: %q", e.args[1:])
		}
		port := ""
		if len(e.args) > 0 {
			port = e.args[0]
		}
		pt, pok := parsePort(port)
		first, last, aok := parseRange(e.kw)
		if !aok || !pok {
			p.d.errf(e.pos, "VS group %s: invalid address range or port %s %s", g.name, e.kw, port)
			continue
		}
		g.entries = append(g.entries, groupEntry{pos: e.pos, first: first, last: last, port: pt})
	}
	if len(g.entries) == 0 {
		p.d.warnf(s.pos, "virtual server group %s has no entries - removing", g.name)
	}
	p.groups[g.name] = g
}

// parseRange reads A, A-N (the last part of A replaced by N), A-B, or A/LEN.
func parseRange(s string) (first, last netip.Addr, ok bool) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		pfx = pfx.Masked()
		first = pfx.Addr()
		last = first
		count := 1
		for n := first.Next(); n.IsValid() && pfx.Contains(n); n = n.Next() {
			last = n
			if count++; count > maxGroupRange {
				return first, last, false
			}
		}
		return first, last, true
	}
	a, b, isRange := strings.Cut(s, "-")
	first, ok = parseAddr(a)
	if !ok {
		return first, first, false
	}
	if !isRange {
		return first, first, true
	}
	if l, lok := parseAddr(b); lok {
		last = l
	} else {
		// keepalived's short form: the last byte (IPv4) or group (IPv6) of the address.
		raw := first.AsSlice()
		if first.Is4() {
			v, err := parseUint(b, 0, 255)
			if err != nil {
				return first, first, false
			}
			raw[3] = byte(v)
		} else {
			v, err := parseHex16(b)
			if err != nil {
				return first, first, false
			}
			raw[14], raw[15] = byte(v>>8), byte(v)
		}
		last, _ = netip.AddrFromSlice(raw)
	}
	if last.Is4() != first.Is4() || last.Less(first) || rangeLen(first, last) > maxGroupRange {
		return first, last, false
	}
	return first, last, true
}

var errBadHex = errors.New("bad hex number")

func parseHex16(s string) (uint64, error) {
	var v uint64
	if s == "" || len(s) > 4 {
		return 0, errBadHex
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, errBadHex
		}
	}
	return v, nil
}

// rangeLen counts the addresses from a to b, stopping past maxGroupRange.
func rangeLen(a, b netip.Addr) int {
	n := 1
	for x := a; x != b && n <= maxGroupRange; x = x.Next() {
		n++
	}
	return n
}
