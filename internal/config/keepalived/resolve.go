package keepalived

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// keepalived's defaults, from keepalived/check/check_data.c (alloc_vs, alloc_rs),
// check_api.c (queue_checker) and the checkers' *_check_handler functions.
const (
	defDelayLoop     = 60 * time.Second         // KEEPALIVED_DEFAULT_DELAY, alloc_vs
	defConnTimeout   = 5 * time.Second          // alloc_vs: connection_to = 5 * TIMER_HZ
	defRetry         = 1                        // queue_checker: default_retry
	defRetryMisc     = 0                        // misc_check_handler
	defRetryDNS      = 3                        // dns_check_handler (man: "The retry default is 3")
	defRetryDelay    = 1 * time.Second          // queue_checker: default_delay_before_retry
	defRetryDelayWeb = 3 * time.Second          // http_get_handler / ssl_get_handler
	defWeight        = 1                        // alloc_vs: weight = 1, inherited by real servers
	defPersist       = lb.DefaultPersistTimeout // IPVS_SVC_PERSISTENT_TIMEOUT (360 s)
	defScheduler     = lb.DefaultScheduler      // IPVS_DEF_SCHED ("wlc")
)

// resolve turns the definitions read into the Config's services and VRRP setup.
func (p *parser) resolve() {
	seen := map[lb.ServiceKey]config.Pos{}
	for _, vs := range p.vss {
		for _, svc := range p.services(vs) {
			if old, dup := seen[svc.ServiceKey]; dup {
				p.d.errf(vs.pos, "virtual server %s is already defined at %v", svc.ServiceKey, old)
				continue
			}
			seen[svc.ServiceKey] = vs.pos
			p.cfg.Services = append(p.cfg.Services, svc)
		}
	}
	for _, g := range p.groups {
		if !g.used {
			p.d.warnf(g.pos, "virtual_server_group %s is not used by any virtual_server", g.name)
		}
	}
	p.resolveVRRP()
}

// vsKey is one service a virtual_server stands for.
type vsKey struct {
	key  lb.ServiceKey
	port uint16 // the port reals default to (0 for fwmark)
}

// services returns the resolved services of a virtual_server (several for a group).
func (p *parser) services(vs *vsDef) []*config.Service {
	name := vsName(vs)
	if len(vs.reals) == 0 {
		p.d.warnf(vs.pos, "Virtual server %s has no real servers - ignoring", name)
		return nil
	}
	keys, zeroPort := p.keys(vs, name)
	if len(keys) == 0 {
		return nil
	}
	persist := vs.persist
	if vs.gran != "" && persist == 0 {
		persist = defPersist // keepalived: persistence_granularity implies persistence
	}
	if zeroPort && persist == 0 {
		p.d.warnf(vs.pos, "Virtual server %s: zero port only valid for persistent services - setting", name)
		persist = defPersist
	}
	sched := vs.sched
	if sched == "" {
		p.d.warnf(vs.pos, "Virtual server %s: no scheduler set, setting default '%s'", name, defScheduler)
		sched = defScheduler
	}
	flags := vs.flags
	for _, s := range vs.shFlags {
		if sched != s.kw[:2] {
			p.d.warnf(s.pos, "%s only applies to %s scheduler - ignoring", s.kw, s.kw[:2])
			continue
		}
		if s.kw[3:] == "port" {
			flags |= lb.Sched2
		} else {
			flags |= lb.Sched1
		}
	}
	if persist > 0 {
		flags |= lb.Persistent
	}
	fwd := vs.fwd
	if fwd == nil {
		p.d.warnf(vs.pos, "Virtual server %s: no forwarding method set, setting default NAT", name)
		fwd = &fwdSpec{fwd: lb.Masq}
	}
	haSuspend := vs.haSuspend
	if haSuspend && keys[0].key.IsFWMark() {
		p.d.warnf(vs.pos, "Virtual server %s: cannot use ha_suspend with fwmarks - clearing ha_suspend", name)
		haSuspend = false
	}
	v6 := keys[0].key.Is6()
	for _, k := range keys {
		if k.key.Is6() != v6 && !allTunnel(vs) {
			p.d.errf(vs.pos, "virtual_server_group %s mixes IPv4 and IPv6 services: its real and sorry servers must then all use TUN", vs.group)
			return nil
		}
	}
	mask, ok := p.netmask(vs, v6)
	if !ok {
		return nil
	}
	reals, weightSum := p.reals(vs, name, fwd, v6)
	quorum, hyst := vs.quorum, vs.hyst
	if quorum > weightSum {
		p.d.warnf(vs.pos, "Warning - quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", quorum, name, weightSum, weightSum)
		quorum = weightSum
	}
	if hyst >= quorum && (hyst > 0 || quorum == 0) {
		h := uint32(0)
		if quorum > 0 {
			h = quorum - 1
		}
		p.d.warnf(vs.pos, "Virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", name, hyst, quorum, h)
		hyst = h
	}
	var out []*config.Service
	for _, k := range keys {
		f := flags
		if f&lb.OnePacket != 0 && !k.key.IsFWMark() && k.key.Protocol != lb.UDP {
			p.d.warnf(vs.pos, "Virtual server %s: one packet scheduling requires UDP - resetting", name)
			f &^= lb.OnePacket
			flags &^= lb.OnePacket
		}
		svc := &config.Service{
			Service: lb.Service{ServiceKey: k.key, Scheduler: sched, Flags: f, Netmask: mask, PE: vs.pe},
			Pos:     vs.pos, Group: vs.group, Quorum: quorum, Hysteresis: hyst,
			QuorumUp: vs.qUp, QuorumDown: vs.qDn, Alpha: vs.alpha, Omega: vs.omega,
			HASuspend: haSuspend, VirtualHost: vs.vhost,
		}
		if persist > 0 {
			svc.Timeout = persist
		}
		for _, r := range reals {
			svc.Reals = append(svc.Reals, p.realFor(vs, name, r, k))
		}
		svc.Sorry = p.sorryFor(vs, name, fwd, k)
		out = append(out, svc)
	}
	return out
}

// vsName names a virtual server as keepalived's messages do.
func vsName(vs *vsDef) string {
	switch {
	case vs.group != "":
		return fmt.Sprintf("[%s]:%d", vs.group, vs.port)
	case vs.fwmark != 0:
		return fmt.Sprintf("FWM %d", vs.fwmark)
	}
	return fmt.Sprintf("%s", netip.AddrPortFrom(vs.addr, vs.port))
}

// keys lists the service keys of a virtual_server, and whether an address one has port 0.
func (p *parser) keys(vs *vsDef, name string) (keys []vsKey, zeroPort bool) {
	proto := vs.proto
	addrProto := func() lb.Protocol {
		if proto == 0 {
			p.d.warnf(vs.pos, "Virtual server %s: no protocol set - defaulting to UDP", name)
			proto = lb.UDP
		}
		return proto
	}
	switch {
	case vs.group != "":
		g := p.groups[vs.group]
		if g == nil {
			p.d.errf(vs.pos, "virtual_server_group %s not found", vs.group)
			return nil, false
		}
		g.used = true
		for _, e := range g.entries {
			if e.fwmark != 0 {
				keys = append(keys, vsKey{key: lb.FWMarkKey(e.fwmark, e.family6 || vs.family == 6)})
				continue
			}
			pr := addrProto()
			zeroPort = zeroPort || e.port == 0
			for a := e.first; ; a = a.Next() {
				keys = append(keys, vsKey{key: lb.ServiceKey{Protocol: pr, Addr: a, Port: e.port}, port: e.port})
				if a == e.last {
					break
				}
			}
		}
	case vs.fwmark != 0:
		if proto != 0 {
			p.d.warnf(vs.pos, "Warning: Virtual server %s: protocol specified for fwmark - protocol will be ignored", name)
		}
		keys = append(keys, vsKey{key: lb.FWMarkKey(vs.fwmark, p.fwmarkV6(vs))})
	default:
		if vs.family != 0 && (vs.family == 6) != vs.addr.Is6() {
			p.d.errf(vs.pos, "Virtual server specified family conflicts with server family")
		}
		keys = append(keys, vsKey{key: lb.ServiceKey{Protocol: addrProto(), Addr: vs.addr, Port: vs.port}, port: vs.port})
		zeroPort = vs.port == 0
	}
	return keys, zeroPort
}

// fwmarkV6 decides the family of a fwmark service: ip_family, else the non-tunnelled real
// servers', else the sorry server's, else IPv4.
func (p *parser) fwmarkV6(vs *vsDef) bool {
	if vs.family != 0 {
		return vs.family == 6
	}
	for _, r := range vs.reals {
		if f := realFwd(vs, r); f == nil || f.fwd != lb.Tunnel {
			return r.addr.Is6()
		}
	}
	if vs.sorry != nil {
		return vs.sorry.addr.Is6()
	}
	if len(vs.reals) > 0 {
		return vs.reals[0].addr.Is6()
	}
	return false
}

// netmask converts persistence_granularity to the kernel's form.
func (p *parser) netmask(vs *vsDef, v6 bool) (uint32, bool) {
	if vs.gran == "" {
		if v6 {
			return 128, true
		}
		return 0xffffffff, true
	}
	if v6 {
		n, err := parseUint(vs.gran, 1, 128)
		if err != nil {
			p.d.errf(vs.granPos, "Invalid IPv6 persistence_granularity specified - %s", vs.gran)
			return 0, false
		}
		return uint32(n), true
	}
	a, err := netip.ParseAddr(vs.gran)
	if err != nil || !a.Is4() {
		p.d.errf(vs.granPos, "Invalid IPv4 persistence_granularity specified - %s", vs.gran)
		return 0, false
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if m == 0 || m|(m-1) != 0xffffffff {
		// keepalived 2.2.7 accepts such a mask silently, and so does the kernel.
		p.d.warnf(vs.granPos, "IPv4 persistence_granularity netmask is not solid - %s (lvsd uses it as given)", vs.gran)
	}
	return m, true
}

// allTunnel reports whether every real and sorry server of vs is tunnelled.
func allTunnel(vs *vsDef) bool {
	for _, r := range vs.reals {
		if f := realFwd(vs, r); f == nil || f.fwd != lb.Tunnel {
			return false
		}
	}
	if s := vs.sorry; s != nil {
		f := s.fwd
		if f == nil {
			f = vs.fwd
		}
		if f == nil || f.fwd != lb.Tunnel {
			return false
		}
	}
	return true
}
