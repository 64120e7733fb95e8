package keepalived

import (
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// syncDef is a vrrp_sync_group as written.
type syncDef struct {
	g        *config.VRRPSyncGroup
	namePos  []config.Pos
	tracking bool // sync_group_tracking_weight
}

// vrrpScript handles vrrp_script NAME { script, interval, timeout, weight, rise, fall }.
func (p *parser) vrrpScript(s *stmt) {
	if !p.needBlock(s) {
		return
	}
	if len(s.args) != 1 {
		p.d.errf(s.pos, "vrrp_script needs one name")
		return
	}
	sc := &config.VRRPScript{Name: s.args[0], Pos: s.pos, Rise: 1, Fall: 1}
	var timeout *time.Duration
	for _, k := range s.block {
		switch k.kw {
		case "script":
			sc.Script = p.script(k, sc.Script)
		case "interval":
			if d := p.timer(k, time.Microsecond); d != nil {
				sc.Interval = *d
			}
		case "timeout":
			timeout = p.timer(k, time.Microsecond)
		case "weight":
			if p.nargs(k, 1, 2) {
				w, err := parseInt(k.args[0], -253, 253)
				if err != nil {
					p.d.errf(k.pos, "vrrp_script %s: weight %v", sc.Name, err)
				} else {
					sc.Weight = int(w)
				}
				if len(k.args) == 2 && k.args[1] == "reverse" {
					p.d.errf(k.pos, "lvsd does not support 'reverse' for vrrp_script %s", sc.Name)
				}
			}
		case "rise", "fall":
			if p.nargs(k, 1, 1) {
				v, err := parseUint(k.args[0], 1, math.MaxInt32)
				switch {
				case err != nil:
					p.d.errf(k.pos, "vrrp_script %s: %s %v", sc.Name, k.kw, err)
				case k.kw == "rise":
					sc.Rise = int(v)
				default:
					sc.Fall = int(v)
				}
			}
		case "user", "init_fail":
			p.ignore(k, "")
		default:
			p.unknown(k)
		}
	}
	if sc.Script == "" {
		p.d.errf(s.pos, "vrrp_script %s has no script", sc.Name)
		return
	}
	if sc.Interval == 0 {
		sc.Interval = time.Second // keepalived: VRRP_SCRIPT_DI
	}
	sc.Timeout = sc.Interval
	if timeout != nil {
		sc.Timeout = *timeout
	}
	for _, old := range p.cfg.VRRP.Scripts {
		if old.Name == sc.Name {
			p.d.errf(s.pos, "vrrp_script %s is already defined at %v", sc.Name, old.Pos)
			return
		}
	}
	p.cfg.VRRP.Scripts = append(p.cfg.VRRP.Scripts, sc)
}

// vrrpSyncGroup handles vrrp_sync_group NAME { group { ... } notify_* ... }.
func (p *parser) vrrpSyncGroup(s *stmt) {
	if !p.needBlock(s) {
		return
	}
	if len(s.args) != 1 {
		p.d.errf(s.pos, "vrrp_sync_group needs one name")
		return
	}
	sd := &syncDef{g: &config.VRRPSyncGroup{Name: s.args[0], Pos: s.pos}}
	g := sd.g
	for _, k := range s.block {
		switch k.kw {
		case "group":
			if p.needBlock(k) {
				for _, m := range k.block {
					for _, name := range append([]string{m.kw}, m.args...) {
						g.Instances = append(g.Instances, name)
						sd.namePos = append(sd.namePos, m.pos)
					}
				}
			}
		case "notify_master":
			g.NotifyMaster = p.script(k, g.NotifyMaster)
		case "notify_backup":
			g.NotifyBackup = p.script(k, g.NotifyBackup)
		case "notify_fault":
			g.NotifyFault = p.script(k, g.NotifyFault)
		case "notify":
			g.Notify = p.script(k, g.Notify)
		case "sync_group_tracking_weight":
			sd.tracking = true
			p.ignore(k, "")
		case "notify_stop", "notify_deleted", "notify_priority_changes", "smtp_alert",
			"global_tracking", "track_interface", "track_script", "track_file", "track_process", "track_bfd":
			p.ignore(k, "")
		default:
			p.unknown(k)
		}
	}
	p.syncs = append(p.syncs, sd)
}

// resolveVRRP applies keepalived's defaults and checks the references between instances,
// scripts and sync groups.
func (p *parser) resolveVRRP() {
	byName := map[string]*instDef{}
	scripts := map[string]*config.VRRPScript{}
	for _, sc := range p.cfg.VRRP.Scripts {
		scripts[sc.Name] = sc
	}
	for _, def := range p.insts {
		in := def.in
		if old, dup := byName[in.Name]; dup {
			p.d.errf(in.Pos, "vrrp_instance %s is already defined at %v", in.Name, old.in.Pos)
			continue
		}
		byName[in.Name] = def
		p.instanceDefaults(def)
		for _, tr := range def.tracks {
			if scripts[tr.Name] == nil {
				p.d.errf(tr.pos, "(%s) track script %s not found", in.Name, tr.Name)
				continue
			}
			in.TrackScripts = append(in.TrackScripts, tr.TrackScript)
		}
		p.cfg.VRRP.Instances = append(p.cfg.VRRP.Instances, in)
	}
	p.checkVRIDs()
	for _, sd := range p.syncs {
		p.syncGroup(sd, byName, scripts)
	}
	if sd := p.syncDaemon; sd != nil && sd.instance != "" {
		if def := byName[sd.instance]; def == nil {
			p.d.errf(sd.pos, "lvs_sync_daemon vrrp instance %s not found", sd.instance)
		} else {
			c := sd.cfg
			def.in.SyncDaemon = &c
		}
	}
}

// instanceDefaults fills the defaults of an instance and checks it alone.
func (p *parser) instanceDefaults(def *instDef) {
	in := def.in
	if in.VRID == 0 {
		p.d.errf(in.Pos, "(%s) the virtual router id must be set", in.Name)
	}
	if in.Interface == "" && len(in.UnicastPeers) == 0 {
		p.d.errf(in.Pos, "(%s) no interface specified (keepalived would use its default_interface)", in.Name)
	}
	// an unset state stays "": keepalived then derives it from the priority (255: MASTER)
	if !def.prioSet {
		// keepalived: an unset priority is 255 (address owner) for state MASTER, else 100.
		in.Priority = 100
		if in.InitialState == "MASTER" {
			in.Priority = 255
		}
	}
	if in.NoPreempt && in.Priority == 255 {
		p.d.warnf(def.nopreemptPos, "(%s) nopreempt is incompatible with priority 255. resetting nopreempt", in.Name)
		in.NoPreempt = false
	}
	if in.NoPreempt && in.InitialState == "MASTER" {
		p.d.warnf(def.nopreemptPos, "(%s) Warning - nopreempt will not work with initial state MASTER - clearing", in.Name)
		in.NoPreempt = false
	}
	if in.PreemptDelay > 0 && in.InitialState == "MASTER" {
		p.d.warnf(def.delayPos, "(%s) Warning - preempt delay will not work with initial state MASTER - clearing", in.Name)
		in.PreemptDelay = 0
	}
	v6 := false
	for i, a := range append(append([]config.VIP(nil), in.Addresses...), in.Excluded...) {
		if i < len(in.Addresses) && i > 0 && a.Prefix.Addr().Is6() != in.Addresses[0].Prefix.Addr().Is6() {
			p.d.errf(in.Pos, "(%s) virtual_ipaddress mixes IPv4 and IPv6 addresses (use virtual_ipaddress_excluded for the other family)", in.Name)
			break
		}
	}
	if len(in.Addresses) > 0 {
		v6 = in.Addresses[0].Prefix.Addr().Is6()
	}
	if !def.versionSet {
		in.Version = 2
		if p.vrrpVersion != 0 {
			in.Version = p.vrrpVersion
		}
	}
	if v6 && in.Version == 2 {
		if def.versionSet {
			p.d.warnf(in.Pos, "(%s) cannot use VRRPv2 with IPv6 - using version 3", in.Name)
		}
		in.Version = 3
	}
	if in.Version == 2 {
		if in.AdvertInt%time.Second != 0 {
			r := in.AdvertInt.Round(time.Second)
			if r == 0 {
				r = time.Second
			}
			p.d.warnf(in.Pos, "(%s) VRRPv2 advertisement interval %.6fs must be an integer. rounding to %v", in.Name, in.AdvertInt.Seconds(), r)
			in.AdvertInt = r
		}
	} else {
		if in.AdvertInt%(10*time.Millisecond) != 0 || in.AdvertInt > 40950*time.Millisecond {
			p.d.errf(in.Pos, "(%s) VRRPv3 advertisement interval %v must be a multiple of 0.01 s up to 40.95 s", in.Name, in.AdvertInt)
		}
		if in.AuthType != "" {
			p.d.warnf(in.Pos, "(%s) VRRPv3 has no authentication - ignoring", in.Name)
			in.AuthType, in.AuthPass = "", ""
		}
	}
	if !def.garpSet {
		in.GarpMasterDelay = 5 * time.Second // keepalived: VRRP_GARP_DELAY
		if p.garpDelay != nil {
			in.GarpMasterDelay = *p.garpDelay
		}
	}
}

// checkVRIDs refuses two instances with one VRID on one interface and address family,
// unless both use unicast with different peers.
func (p *parser) checkVRIDs() {
	ins := p.cfg.VRRP.Instances
	for i, a := range ins {
		for _, b := range ins[:i] {
			if a.VRID == 0 || a.VRID != b.VRID || a.Interface != b.Interface || family(a) != family(b) {
				continue
			}
			if len(a.UnicastPeers) > 0 && len(b.UnicastPeers) > 0 && !overlap(a.UnicastPeers, b.UnicastPeers) {
				continue
			}
			fam := "IPv4"
			if family(a) == 6 {
				fam = "IPv6"
			}
			p.d.errf(a.Pos, "%s and %s both use VRID %d with %s on interface %s", b.Name, a.Name, a.VRID, fam, a.Interface)
		}
	}
}

func family(in *config.VRRPInstance) int {
	if len(in.Addresses) > 0 && in.Addresses[0].Prefix.Addr().Is6() {
		return 6
	}
	return 4
}

func overlap(a, b []netip.Addr) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// syncGroup checks a sync group's members and applies keepalived's rule that tracking
// weights do not apply to the instances of a sync group.
func (p *parser) syncGroup(sd *syncDef, byName map[string]*instDef, scripts map[string]*config.VRRPScript) {
	g := sd.g
	var members []string
	for i, name := range g.Instances {
		def := byName[name]
		switch {
		case def == nil:
			p.d.errf(sd.namePos[i], "Virtual router %s specified in sync group %s doesn't exist", name, g.Name)
			continue
		case def.group != "":
			p.d.errf(sd.namePos[i], "Virtual router %s cannot exist in more than one sync group; it is in %s and %s", name, def.group, g.Name)
			continue
		}
		def.group = g.Name
		members = append(members, name)
		if sd.tracking {
			continue
		}
		kept := def.in.TrackScripts[:0]
		for _, t := range def.in.TrackScripts {
			w := t.Weight
			if !t.HasWeight {
				w = scripts[t.Name].Weight
			}
			if w != 0 {
				p.d.warnf(def.in.Pos, "(%s) ignoring tracked script %s with weights due to SYNC group", name, t.Name)
				continue
			}
			kept = append(kept, t)
		}
		def.in.TrackScripts = kept
	}
	g.Instances = members
	if len(members) == 1 {
		p.d.warnf(g.Pos, "Sync group %s has only 1 virtual router(s) - this probably isn't what you want", g.Name)
	}
	if len(members) == 0 {
		p.d.errf(g.Pos, "Sync group %s has no virtual routers", g.Name)
		return
	}
	p.cfg.VRRP.SyncGroups = append(p.cfg.VRRP.SyncGroups, g)
}
