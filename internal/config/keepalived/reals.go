package keepalived

import (
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// realFwd is a real server's forwarding method: its own, else the virtual server's (nil
// when neither is set).
func realFwd(vs *vsDef, r *rsDef) *fwdSpec {
	if r.fwd != nil {
		return r.fwd
	}
	return vs.fwd
}

// reals checks the real servers of a virtual server (family, duplicates) and returns those
// kept with the sum of their weights.
func (p *parser) reals(vs *vsDef, name string, fwd *fwdSpec, v6 bool) ([]*rsDef, uint32) {
	var kept []*rsDef
	var sum uint64
	for _, r := range vs.reals {
		f := r.fwd
		if f == nil {
			f = fwd
		}
		if f.fwd != lb.Tunnel && r.addr.Is6() != v6 {
			p.d.errf(r.pos, "Address family of virtual server and real server %s don't match", r.addr)
			continue
		}
		dup := false
		for _, o := range kept {
			if o.addr == r.addr && o.port == r.port {
				p.d.warnf(r.pos, "VS %s: real server %s is duplicated - removing second rs", name, r.addr)
				dup = true
			}
		}
		if r.lthr > r.uthr {
			p.d.errf(r.pos, "real server %s: lthreshold %d is above uthreshold %d", r.addr, r.lthr, r.uthr)
		}
		if dup {
			continue
		}
		if r.weight < 0 {
			r.weight = defWeight
		}
		sum += uint64(r.weight)
		kept = append(kept, r)
	}
	if sum > 0xffffffff {
		sum = 0xffffffff
	}
	return kept, uint32(sum)
}

// realPort is the port of a real server (or sorry server) of service k, as keepalived sets
// it: NAT keeps the port given (0: the service's, except for fwmark); DR and TUN cannot
// change the port, so it is the service's (0 for fwmark), with a warning when one was given.
func (p *parser) realPort(pos config.Pos, what string, port uint16, f lb.Forward, k vsKey) uint16 {
	if f == lb.Masq {
		if port == 0 && !k.key.IsFWMark() {
			return k.port
		}
		return port
	}
	if k.key.IsFWMark() {
		if port != 0 {
			p.d.warnf(pos, "WARNING - fwmark virtual server %s, %s has port specified - clearing", k.key, what)
		}
		return 0
	}
	if port != 0 && port != k.port {
		p.d.warnf(pos, "WARNING - virtual server %s and %s ports don't match - resetting", k.key, what)
	}
	return k.port
}

// realFor builds the Real of r for service k.
func (p *parser) realFor(vs *vsDef, name string, r *rsDef, k vsKey) *config.Real {
	f := realFwd(vs, r)
	if f == nil {
		f = &fwdSpec{fwd: lb.Masq}
	}
	rl := &config.Real{
		Real: lb.Real{
			Addr: r.addr, Forward: f.fwd, Weight: r.weight, UThreshold: r.uthr, LThreshold: r.lthr,
			TunType: f.tunType, TunPort: f.tunPort, TunFlags: f.tunFlags,
		},
		Pos: r.pos, InhibitOnFailure: vs.inhibit, NotifyUp: r.notifyUp, NotifyDown: r.notifyDn,
	}
	rl.Port = p.realPort(r.pos, "real server "+r.addr.String(), r.port, f.fwd, k)
	if r.inhibit != nil {
		rl.InhibitOnFailure = *r.inhibit
	}
	for _, ch := range r.checks {
		rl.Checks = append(rl.Checks, p.resolveCheck(ch, r, vs, rl))
	}
	return rl
}

// sorryFor builds the sorry server of service k.
func (p *parser) sorryFor(vs *vsDef, name string, fwd *fwdSpec, k vsKey) *config.Sorry {
	s := vs.sorry
	if s == nil {
		return nil
	}
	f := s.fwd
	if f == nil {
		f = fwd
	}
	if f.fwd != lb.Tunnel && s.addr.Is6() != k.key.Is6() {
		p.d.warnf(s.pos, "Address family of virtual server and sorry server %s don't match - skipping sorry server.", s.addr)
		return nil
	}
	return &config.Sorry{
		Addr: s.addr, Port: p.realPort(s.pos, "sorry server", s.port, f.fwd, k),
		Forward: f.fwd, Inhibit: s.inhibit,
	}
}

// pick returns the first set duration.
func pick(ds ...*time.Duration) *time.Duration {
	for _, d := range ds {
		if d != nil {
			return d
		}
	}
	return nil
}

// resolveCheck returns a copy of the check with every timing resolved as keepalived's
// validate_check_config does: the checker's value, else the real server's, else the
// virtual server's, else the default.
func (p *parser) resolveCheck(ch *chkDef, r *rsDef, vs *vsDef, rl *config.Real) *config.Check {
	c := *ch.c
	c.URLs = append([]config.URL(nil), ch.c.URLs...)
	c.Interval = defDelayLoop
	if d := pick(ch.delayLoop, r.delayLoop, vs.delayLoop); d != nil {
		c.Interval = *d
	}
	if c.Kind == config.CheckExternal {
		// check_misc.c runs the script with misc_timeout, else the virtual server's
		// delay_loop (not the checker's).
		c.Timeout = defDelayLoop
		if vs.delayLoop != nil {
			c.Timeout = *vs.delayLoop
		}
		if ch.miscTimeout != nil && *ch.miscTimeout > 0 {
			c.Timeout = *ch.miscTimeout
		}
	} else {
		c.Timeout = defConnTimeout
		if d := pick(ch.connTimeout, r.connTimeout, vs.connTimeout); d != nil {
			c.Timeout = *d
		}
	}
	switch {
	case ch.retry != nil:
		c.Retries = *ch.retry
	case r.retry != nil:
		c.Retries = *r.retry
	case vs.retry != nil:
		c.Retries = *vs.retry
	case c.Kind == config.CheckExternal:
		c.Retries = defRetryMisc
	case c.Kind == config.CheckDNS:
		c.Retries = defRetryDNS
	default:
		c.Retries = defRetry
	}
	if d := pick(ch.retryDelay, r.retryDelay, vs.retryDelay); d != nil {
		c.RetryDelay = *d
	} else {
		switch c.Kind {
		case config.CheckHTTP, config.CheckHTTPS:
			c.RetryDelay = defRetryDelayWeb
		case config.CheckDNS:
			c.RetryDelay = c.Interval
		default:
			c.RetryDelay = defRetryDelay
		}
	}
	c.Warmup = c.Interval
	if d := pick(ch.warmup, r.warmup, vs.warmup); d != nil {
		c.Warmup = *d
	}
	switch c.Kind {
	case config.CheckHTTP, config.CheckHTTPS:
		c.Method = "GET"
		if c.VirtualHost == "" {
			c.VirtualHost = r.vhost
		}
		if c.VirtualHost == "" {
			c.VirtualHost = vs.vhost
		}
	case config.CheckDNS:
		if c.DNSType == "" {
			c.DNSType = "SOA"
		}
		if c.DNSName == "" {
			c.DNSName = "."
		}
		if c.Port == 0 && rl.Port == 0 {
			c.Port = 53
		}
	case config.CheckSMTP:
		if c.Port == 0 && rl.Port == 0 {
			c.Port = 25
		}
	}
	switch c.Kind {
	case config.CheckTCP, config.CheckHTTP, config.CheckHTTPS:
		if c.Port == 0 && rl.Port == 0 {
			p.d.errf(c.Pos, "%s of real server %s has no port to connect to: set connect_port", c.Kind, rl.Addr)
		}
	}
	if c.BindAddr.IsValid() && c.Addr.IsValid() && c.BindAddr.Is6() != c.Addr.Is6() {
		p.d.errf(c.Pos, "bindto address %s does not match address family of connect_ip", c.BindAddr)
	}
	return &c
}
