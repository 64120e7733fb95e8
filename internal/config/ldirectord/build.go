package ldirectord

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// build turns the virtual sections into the canonical configuration, with the final values
// of the global directives (ldirectord applies them in ld_setup, after the whole file).
func (p *parser) build() *config.Config {
	cfg := &config.Config{Global: config.Global{Callback: p.g.callback, AutoReload: p.g.autoReload}}
	for _, v := range p.vs {
		if v.bad {
			continue
		}
		if s := p.service(v); s != nil {
			cfg.Services = append(cfg.Services, s)
		}
	}
	return cfg
}

func (p *parser) pos(line int) config.Pos { return config.Pos{File: p.file, Line: line} }

// timing is what ld_setup resolves for a virtual service's checks.
type timing struct {
	checkTimeout, negotiateTimeout time.Duration
	interval                       time.Duration
	retries                        int
}

// firstSet returns the first value that is not negative.
func firstSet(vals ...int) int {
	for _, v := range vals {
		if v >= 0 {
			return v
		}
	}
	return 0
}

// timingOf resolves the timeouts as ld_setup does: checktimeout and negotiatetimeout each
// default to the other (the section's before the global ones), then to 5 and 30 seconds;
// checkinterval is the global one (10 s) unless fork=yes and the section has its own;
// failurecount is the section's, else the global one (1).
func (p *parser) timingOf(v *virtual) timing {
	ct := firstSet(v.checkTimeout, v.negotiateTimeout, p.g.checkTimeout, p.g.negotiateTimeout, 5)
	nt := firstSet(v.negotiateTimeout, v.checkTimeout, p.g.negotiateTimeout, p.g.checkTimeout, 30)
	ci := p.g.checkInterval
	if p.g.fork == "yes" && v.checkInterval > 0 {
		ci = v.checkInterval
	}
	fc := firstSet(v.failureCount, p.g.failureCount)
	return timing{checkTimeout: seconds(ct), negotiateTimeout: seconds(nt), interval: seconds(ci), retries: fc - 1}
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// service builds the config.Service of v, or returns nil after reporting errors.
func (p *parser) service(v *virtual) *config.Service {
	nerr := len(p.errs)
	s := &config.Service{Pos: p.pos(v.line), Quorum: 1, Alpha: true}
	if v.fwm != "" {
		s.ServiceKey = lb.FWMarkKey(v.mark, v.v6)
	} else {
		s.Protocol, s.Addr, s.Port = lb.TCP, v.addr, v.portNum
		if v.protocol == "udp" {
			s.Protocol = lb.UDP
		}
	}
	s.Scheduler = v.scheduler
	p.persistence(v, s)
	if v.ops == "yes" {
		if v.protocol == "udp" {
			s.Flags |= lb.OnePacket
		} else {
			p.ignored(v.opsLine, "ops", "ldirectord sets one-packet scheduling only on UDP services")
		}
	}
	if v.schedFlags != nil {
		f, err := lb.ParseSchedFlags(v.scheduler, *v.schedFlags) // as ipvsadm parses -b
		if err != nil {
			p.errorf(v.schedFlagsLine, "%v", err)
		}
		s.Flags |= f
	}
	if err := lb.ValidateService(&s.Service, lb.Catalog{}); err != nil {
		p.errorf(v.line, "virtual service: %v", err)
	}
	quiescent := v.quiescent
	if quiescent == "" {
		quiescent = p.g.quiescent
	}
	t := p.timingOf(v)
	b := &checkBuilder{p: p, v: v, t: t, once: map[string]bool{}}
	if v.checktype == "off" {
		what := "leaves them out"
		if quiescent == "yes" {
			what = "keeps them at weight 0 (quiescent=yes)"
		}
		p.warnf(v.checktypeLine, "checktype=off: ldirectord never activates these real servers, only the fallback; lvsd %s", what)
	}
	seen := map[string]int{}
	for _, r := range v.reals {
		id := netip.AddrPortFrom(r.addr, r.portNum).String()
		if first, dup := seen[id]; dup {
			p.warnf(r.line, "real server %s:%d is already in this virtual service (line %d); ignored", r.server, r.portNum, first)
			continue
		}
		seen[id] = r.line
		lr := lb.Real{Addr: r.addr, Port: r.portNum, Forward: forward(r.forward), Weight: int32(r.weight),
			UThreshold: uint32(r.upper), LThreshold: uint32(r.lower)}
		if err := lb.ValidateReal(&s.Service, &lr); err != nil {
			p.errorf(r.line, "real server %s: %v", lr.AddrPort(), err)
			continue
		}
		if v.checktype == "off" {
			if quiescent != "yes" {
				continue
			}
			lr.Weight = 0
		}
		cr := &config.Real{Real: lr, Pos: p.pos(r.line), InhibitOnFailure: quiescent == "yes"}
		cr.Checks = b.checks(r)
		s.Reals = append(s.Reals, cr)
	}
	p.sorry(v, s)
	cmd := v.fallbackCommand
	if cmd == nil {
		cmd = p.g.fallbackCommand
	}
	if cmd != nil {
		// do_fallback_command: system("CMD start|stop VIP:PORT PROTOCOL").
		id := v.server + ":" + v.port + " " + v.protocol
		s.QuorumDown = shellCommand(*cmd + " start " + id)
		s.QuorumUp = shellCommand(*cmd + " stop " + id)
	}
	if len(p.errs) > nerr {
		return nil
	}
	return s
}

// persistence sets the persistence flag, timeout and netmask as ld_setup passes them to
// ipvsadm (-p, and -M only with -p).
func (p *parser) persistence(v *virtual, s *config.Service) {
	s.Netmask = 0xffffffff
	if v.v6 {
		s.Netmask = 128
	}
	if v.persistent == nil {
		if v.netmask != nil {
			p.ignored(v.maskLine, "netmask", "ldirectord passes it to ipvsadm only with persistent=")
		}
		return
	}
	n, err := strconv.ParseUint(*v.persistent, 10, 32)
	if err != nil || n < 1 || n > 86400*31 {
		p.errorf(v.persistentLine, "invalid timeout value `%s' specified (ipvsadm refuses persistent=%s)", *v.persistent, *v.persistent)
		return
	}
	s.Flags |= lb.Persistent
	s.Timeout = uint32(n)
	if v.netmask == nil {
		return
	}
	if v.v6 {
		m, _ := strconv.Atoi(*v.netmask) // checked when read
		s.Netmask = uint32(m)
		return
	}
	a, ok := inetAton(*v.netmask)
	if !ok {
		p.errorf(v.maskLine, "illegal virtual server persistent mask specified (ipvsadm refuses netmask=%s)", *v.netmask)
		return
	}
	s.Netmask = ip4Int(a)
}

func forward(name string) lb.Forward {
	switch name {
	case "masq":
		return lb.Masq
	case "ipip":
		return lb.Tunnel
	}
	return lb.Route
}

// sorry sets the fallback server, as fallback_find finds it: the section's own, else the
// global one of the service's family and protocol, with the service's port when it has
// none. A fallback is never quiescent (_remove_service) and has weight 1.
func (p *parser) sorry(v *virtual, s *config.Service) {
	fb := v.fallback
	if fb == nil {
		i := 0
		if v.v6 {
			i = 1
		}
		g := p.g.fallback[i]
		if g == nil {
			return
		}
		if v.protocol == "fwm" {
			p.warnf(v.line, "the global fallback (line %d) does not apply to firewall-mark services: ldirectord looks it up by protocol and finds none; set fallback= in this section", g.line)
			return
		}
		c := *g.tcp
		if v.protocol == "udp" {
			c = *g.udp
		}
		if c.port == "" {
			c.port, c.portNum = v.port, v.portNum
		}
		fb = &c
	}
	r := lb.Real{Addr: fb.addr, Port: fb.portNum, Forward: forward(fb.forward), Weight: 1}
	if err := lb.ValidateReal(&s.Service, &r); err != nil {
		p.errorf(fb.line, "fallback server %s: %v", r.AddrPort(), err)
		return
	}
	s.Sorry = &config.Sorry{Addr: fb.addr, Port: fb.portNum, Forward: r.Forward}
}
