package keepalived

import (
	"net/netip"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// timing holds the checker settings that a checker inherits from its real server and the
// real server from its virtual server; nil means not set at that level.
type timing struct {
	delayLoop, connTimeout, retryDelay, warmup *time.Duration
	retry                                      *int
}

// fwdSpec is an lvs_method / lb_kind value.
type fwdSpec struct {
	fwd      lb.Forward
	tunType  lb.TunType
	tunPort  uint16
	tunFlags lb.TunFlags
}

// vsDef is a virtual_server block as written.
type vsDef struct {
	pos       config.Pos
	addr      netip.Addr
	port      uint16
	fwmark    uint32
	group     string
	proto     lb.Protocol
	family    int // 4 or 6 from ip_family, 0 if not given
	sched     string
	schedPos  config.Pos
	flags     lb.SvcFlags
	shFlags   []*stmt // sh-port, sh-fallback, mh-port, mh-fallback: checked against the scheduler
	fwd       *fwdSpec
	persist   uint32
	granPos   config.Pos
	gran      string
	pe        string
	haSuspend bool
	alpha     bool
	omega     bool
	inhibit   bool
	quorum    uint32
	hyst      uint32
	qUp, qDn  string
	vhost     string
	sorry     *sorryDef
	timing
	reals []*rsDef
}

type sorryDef struct {
	pos     config.Pos
	addr    netip.Addr
	port    uint16
	fwd     *fwdSpec
	inhibit bool
}

// rsDef is a real_server block as written.
type rsDef struct {
	pos        config.Pos
	addr       netip.Addr
	port       uint16
	fwd        *fwdSpec
	weight     int32
	uthr, lthr uint32
	inhibit    *bool
	notifyUp   string
	notifyDn   string
	vhost      string
	timing
	checks []*chkDef
}

// schedulers are the IPVS schedulers keepalived 2.2 accepts for lb_algo / lvs_sched.
const schedulers = "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos"

// virtualServer handles a virtual_server block.
func (p *parser) virtualServer(s *stmt) {
	if !p.needBlock(s) {
		return
	}
	vs := &vsDef{pos: s.pos, quorum: 1}
	ok := true
	switch {
	case len(s.args) == 0:
		p.d.errf(s.pos, "virtual_server needs an address, 'fwmark N' or 'group NAME'")
		ok = false
	case s.args[0] == "group":
		if len(s.args) < 2 {
			p.d.errf(s.pos, "virtual_server group needs a group name")
			ok = false
		} else {
			vs.group = s.args[1]
		}
	case s.args[0] == "fwmark":
		if len(s.args) < 2 {
			p.d.errf(s.pos, "virtual_server fwmark needs a mark")
			ok = false
		} else if m, err := parseUint(s.args[1], 1, 0xffffffff); err != nil {
			p.d.errf(s.pos, "virtual server fwmark '%s' must be in [1, %d] - ignoring", s.args[1], uint32(0xffffffff))
			ok = false
		} else {
			vs.fwmark = uint32(m)
		}
	default:
		a, aok := parseAddr(s.args[0])
		port, pok := uint16(0), true
		if len(s.args) > 1 {
			port, pok = parsePort(s.args[1])
		}
		if !aok || !pok {
			p.d.errf(s.pos, "Invalid virtual server IP address/port %s - skipping", strings.Join(s.args, "/"))
			ok = false
		}
		vs.addr, vs.port = a, port
	}
	p.vsBody(vs, s.block)
	if ok {
		p.vss = append(p.vss, vs)
	}
}

func (p *parser) vsBody(vs *vsDef, stmts []*stmt) {
	for _, s := range stmts {
		if p.timingKw(&vs.timing, s) {
			continue
		}
		switch s.kw {
		case "ip_family":
			if p.nargs(s, 1, 1) {
				switch s.args[0] {
				case "inet":
					vs.family = 4
				case "inet6":
					vs.family = 6
				default:
					p.d.errf(s.pos, "unknown address family %s", s.args[0])
				}
			}
		case "lb_algo", "lvs_sched":
			if p.nargs(s, 1, 1) {
				if !strings.Contains(" "+schedulers+" ", " "+s.args[0]+" ") {
					p.d.errf(s.pos, "Invalid lvs_scheduler '%s'", s.args[0])
				} else {
					vs.sched, vs.schedPos = s.args[0], s.pos
				}
			}
		case "lb_kind", "lvs_method":
			if f := p.forwarding(s, "virtual server"); f != nil {
				vs.fwd = f
			}
		case "persistence_timeout":
			if !p.nargs(s, 0, 1) {
				continue
			}
			if len(s.args) == 0 {
				vs.persist = lb.DefaultPersistTimeout
			} else if v, err := parseUint(s.args[0], 1, 0xffffffff); err != nil {
				p.d.errf(s.pos, "persistence_timeout invalid: %v", err)
			} else {
				vs.persist = uint32(v)
			}
		case "persistence_granularity":
			if p.nargs(s, 1, 1) {
				vs.gran, vs.granPos = s.args[0], s.pos
			}
		case "persistence_engine":
			if p.nargs(s, 1, 1) {
				vs.pe = s.args[0]
			}
		case "protocol":
			if p.nargs(s, 1, 1) {
				switch strings.ToUpper(s.args[0]) {
				case "TCP":
					vs.proto = lb.TCP
				case "UDP":
					vs.proto = lb.UDP
				case "SCTP":
					vs.proto = lb.SCTP
				default:
					p.d.errf(s.pos, "Unknown protocol %s", s.args[0])
				}
			}
		case "ha_suspend":
			vs.haSuspend = p.flag(s)
		case "ops":
			if p.flag(s) {
				vs.flags |= lb.OnePacket
			}
		case "flag-1", "flag-2", "flag-3":
			if p.nargs(s, 0, 0) {
				vs.flags |= [...]lb.SvcFlags{lb.Sched1, lb.Sched2, lb.Sched3}[s.kw[5]-'1']
			}
		case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
			if p.nargs(s, 0, 0) {
				vs.shFlags = append(vs.shFlags, s)
			}
		case "hashed":
			p.ignore(s, "(the kernel hashes every service)")
		case "virtualhost":
			if p.nargs(s, 1, 1) {
				vs.vhost = s.args[0]
			}
		case "alpha":
			vs.alpha = p.flag(s)
		case "omega":
			vs.omega = p.flag(s)
		case "inhibit_on_failure":
			vs.inhibit = p.flag(s)
		case "quorum":
			if p.nargs(s, 1, 1) {
				if v, err := parseUint(s.args[0], 1, 0xffffffff); err != nil {
					p.d.errf(s.pos, "Condition not met: Quorum >= 1 (%v)", err)
				} else {
					vs.quorum = uint32(v)
				}
			}
		case "hysteresis":
			if p.nargs(s, 1, 1) {
				if v, err := parseUint(s.args[0], 0, 0xffffffff); err != nil {
					p.d.errf(s.pos, "Condition not met: 0 <= Hysteresis (%v)", err)
				} else {
					vs.hyst = uint32(v)
				}
			}
		case "quorum_up":
			vs.qUp = p.script(s, vs.qUp)
		case "quorum_down":
			vs.qDn = p.script(s, vs.qDn)
		case "sorry_server":
			if p.nargs(s, 1, 2) {
				port := ""
				if len(s.args) > 1 {
					port = s.args[1]
				}
				a, aok := parseAddr(s.args[0])
				pt, pok := parsePort(port)
				if !aok || !pok {
					p.d.errf(s.pos, "Invalid sorry server IP address %s", strings.Join(s.args, " "))
					continue
				}
				vs.sorry = &sorryDef{pos: s.pos, addr: a, port: pt}
			}
		case "sorry_server_inhibit":
			if vs.sorry == nil {
				p.d.errf(s.pos, "Ignoring sorry_server inhibit used before or without sorry_server")
			} else {
				vs.sorry.inhibit = p.flag(s)
			}
		case "sorry_server_lvs_method":
			if vs.sorry == nil {
				p.d.errf(s.pos, "sorry_server forwarding used without sorry_server")
			} else if f := p.forwarding(s, "sorry server"); f != nil {
				vs.sorry.fwd = f
			}
		case "real_server":
			p.realServer(vs, s)
		case "smtp_alert", "snmp_name", "nat_mask":
			p.ignore(s, "")
		default:
			p.unknown(s)
		}
	}
}

// flag reads a keyword that takes no value or an optional <BOOL>.
func (p *parser) flag(s *stmt) bool {
	if !p.nargs(s, 0, 1) {
		return false
	}
	if len(s.args) == 0 {
		return true
	}
	v, ok := parseBool(s.args[0])
	if !ok {
		p.d.errf(s.pos, "Invalid %s parameter %s", s.kw, s.args[0])
	}
	return v
}

// script reads a command keyword: CMD [USER [GROUP]]. The user and group are accepted with a
// warning; a second definition is refused, as keepalived ignores it.
func (p *parser) script(s *stmt, old string) string {
	if !p.nargs(s, 1, 3) {
		return old
	}
	if old != "" {
		p.d.errf(s.pos, "%s script already specified", s.kw)
		return old
	}
	if len(s.args) > 1 {
		p.d.warnf(s.pos, "lvsd ignores the user/group %q of %s: scripts run as lvsd's user", s.args[1:], s.kw)
	}
	return s.args[0]
}

// forwarding reads, for what (named in messages), NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum].
func (p *parser) forwarding(s *stmt, what string) *fwdSpec {
	if !p.nargs(s, 1, -1) {
		return nil
	}
	f := &fwdSpec{}
	switch s.args[0] {
	case "NAT":
		f.fwd = lb.Masq
	case "DR":
		f.fwd = lb.Route
	case "TUN":
		f.fwd = lb.Tunnel
	default:
		p.d.errf(s.pos, "PARSER : unknown [%s] routing method for %s.", s.args[0], what)
		return nil
	}
	rest := s.args[1:]
	if f.fwd != lb.Tunnel {
		if len(rest) > 0 {
			p.d.warnf(s.pos, "'%s': extra words ignored: %q", s.kw, rest)
		}
		return f
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case "type":
			if i+1 >= len(rest) {
				p.d.errf(s.pos, "%s TUN: 'type' needs ipip, gue or gre", s.kw)
				return nil
			}
			i++
			switch rest[i] {
			case "ipip":
				f.tunType = lb.TunIPIP
			case "gre":
				f.tunType = lb.TunGRE
			case "gue":
				f.tunType = lb.TunGUE
				if i+2 >= len(rest)+1 || i+1 >= len(rest) || rest[i+1] != "port" || i+2 >= len(rest) {
					p.d.errf(s.pos, "%s TUN type gue needs 'port N'", s.kw)
					return nil
				}
				v, err := parseUint(rest[i+2], 1, 65535)
				if err != nil {
					p.d.errf(s.pos, "%s TUN gue port: %v", s.kw, err)
					return nil
				}
				f.tunPort = uint16(v)
				i += 2
			default:
				p.d.errf(s.pos, "Unknown tunnel type %s", rest[i])
				return nil
			}
		case "nocsum":
			f.tunFlags = lb.TunNoCsum
		case "csum":
			f.tunFlags = lb.TunCsum
		case "remcsum":
			f.tunFlags = lb.TunRemCsum
		default:
			p.d.errf(s.pos, "Unknown %s TUN option %s", s.kw, rest[i])
			return nil
		}
	}
	if f.tunFlags != 0 && f.tunType != lb.TunGUE && !(f.tunType == lb.TunGRE && f.tunFlags == lb.TunCsum) {
		p.d.errf(s.pos, "%s: checksum options need tunnel type gue (gre takes csum only)", s.kw)
		return nil
	}
	return f
}

// timingKw handles the keywords a virtual server, a real server and a checker share.
func (p *parser) timingKw(t *timing, s *stmt) bool {
	switch s.kw {
	case "delay_loop":
		t.delayLoop = p.timer(s, time.Microsecond)
	case "connect_timeout":
		t.connTimeout = p.timer(s, time.Microsecond)
	case "delay_before_retry":
		t.retryDelay = p.timer(s, 0)
	case "warmup":
		t.warmup = p.timer(s, 0)
	case "retry", "nb_get_retry":
		if s.kw == "nb_get_retry" {
			p.d.warnf(s.pos, "nb_get_retry is deprecated - please use 'retry'")
		}
		if p.nargs(s, 1, 1) {
			if v, err := parseUint(s.args[0], 0, 1<<31-1); err != nil {
				p.d.errf(s.pos, "retry value invalid - %v", err)
			} else {
				r := int(v)
				t.retry = &r
			}
		}
	default:
		return false
	}
	return true
}

// timer reads a <TIMER> keyword; nil when it is malformed (reported).
func (p *parser) timer(s *stmt, min time.Duration) *time.Duration {
	if !p.nargs(s, 1, 1) {
		return nil
	}
	d, err := parseTimer(s.args[0], min)
	if err != nil {
		p.d.errf(s.pos, "%s '%s' is invalid: %v", s.kw, s.args[0], err)
		return nil
	}
	return &d
}
