package keepalived

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// vrrpIgnored are the vrrp_instance keywords of keepalived 2.2 that lvsd accepts and does
// not act on.
const vrrpIgnored = `
use_vmac use_vmac_addr vmac_xmit_base use_ipvlan vrf native_ipv6 dont_track_primary
mcast_src_ip mcast_dst_ip track_src_ip check_unicast_src unicast_ttl unicast_fault_no_peer
old_unicast_checksum garp_master_repeat garp_lower_prio_delay garp_lower_prio_repeat
garp_master_refresh garp_master_refresh_repeat garp_extra_if down_timer_adverts
lower_prio_no_advert higher_prio_send_advert virtual_routes virtual_rules accept no_accept
promote_secondaries skip_check_adv_addr strict_mode debug notify_master_rx_lower_pri
notify_deleted notify_priority_changes smtp_alert kernel_rx_buf_size linkbeat_use_polling
track_file track_process track_bfd v3_checksum_as_v2
`

// instDef is a vrrp_instance as written, with what validation needs besides the model.
type instDef struct {
	in           *config.VRRPInstance
	prioSet      bool
	versionSet   bool
	advertSet    bool
	garpSet      bool
	nopreemptPos config.Pos
	delayPos     config.Pos
	tracks       []trackRef
	group        string
}

type trackRef struct {
	pos config.Pos
	config.TrackScript
}

// vrrpInstance handles vrrp_instance NAME { ... }.
func (p *parser) vrrpInstance(s *stmt) {
	if !p.needBlock(s) {
		return
	}
	if len(s.args) != 1 {
		p.d.errf(s.pos, "vrrp_instance needs one name")
		return
	}
	in := &config.VRRPInstance{Name: s.args[0], Pos: s.pos, AdvertInt: time.Second}
	def := &instDef{in: in}
	name := in.Name
	for _, k := range s.block {
		switch k.kw {
		case "state":
			if p.nargs(k, 1, 1) {
				switch k.args[0] {
				case "MASTER", "BACKUP":
					in.InitialState = k.args[0]
				default:
					p.d.errf(k.pos, "(%s) unknown state '%s'", name, k.args[0])
				}
			}
		case "interface":
			if p.nargs(k, 1, 1) {
				in.Interface = k.args[0]
			}
		case "virtual_router_id":
			if p.nargs(k, 1, 1) {
				if v, err := parseUint(k.args[0], 1, 255); err != nil {
					p.d.errf(k.pos, "(%s): VRID '%s' not valid - must be between 1 & 255", name, k.args[0])
				} else {
					in.VRID = int(v)
				}
			}
		case "priority":
			if p.nargs(k, 1, 1) {
				if v, err := parseUint(k.args[0], 1, 255); err != nil {
					p.d.errf(k.pos, "(%s) Priority not valid! must be between 1 & 255", name)
				} else {
					in.Priority, def.prioSet = int(v), true
				}
			}
		case "advert_int":
			if d := p.timer(k, 0); d != nil {
				if *d < 10*time.Millisecond || *d > 255*time.Second {
					p.d.errf(k.pos, "(%s) Advert interval (%s) not valid! Must be > 0", name, k.args[0])
				} else {
					in.AdvertInt, def.advertSet = *d, true
				}
			}
		case "nopreempt":
			if p.nargs(k, 0, 0) {
				in.NoPreempt, def.nopreemptPos = true, k.pos
			}
		case "preempt":
			if p.nargs(k, 0, 0) {
				in.NoPreempt = false
			}
		case "preempt_delay":
			if d := p.timer(k, 0); d != nil {
				if *d > 1000*time.Second {
					p.d.errf(k.pos, "(%s) Preempt_delay not valid! must be between 0-1000", name)
				} else {
					in.PreemptDelay, def.delayPos = *d, k.pos
				}
			}
		case "authentication":
			p.auth(in, k)
		case "virtual_ipaddress":
			in.Addresses = append(in.Addresses, p.vips(name, k)...)
		case "virtual_ipaddress_excluded":
			in.Excluded = append(in.Excluded, p.vips(name, k)...)
		case "unicast_src_ip":
			if p.nargs(k, 1, 1) {
				if a, ok := parseAddr(k.args[0]); ok {
					in.UnicastSrc = a
				} else {
					p.d.errf(k.pos, "Configuration error: VRRP instance[%s] malformed src address[%s]", name, k.args[0])
				}
			}
		case "unicast_peer":
			p.unicastPeers(in, k)
		case "track_interface":
			if p.needBlock(k) {
				for _, t := range k.block {
					if len(t.args) > 0 {
						p.d.warnf(t.pos, "lvsd ignores the weight of tracked interface %s: a down interface means FAULT", t.kw)
					}
					in.TrackInterfaces = append(in.TrackInterfaces, t.kw)
				}
			}
		case "track_script":
			if p.needBlock(k) {
				for _, t := range k.block {
					if tr, ok := p.trackScript(t); ok {
						def.tracks = append(def.tracks, tr)
					}
				}
			}
		case "notify_master":
			in.NotifyMaster = p.script(k, in.NotifyMaster)
		case "notify_backup":
			in.NotifyBackup = p.script(k, in.NotifyBackup)
		case "notify_fault":
			in.NotifyFault = p.script(k, in.NotifyFault)
		case "notify_stop":
			in.NotifyStop = p.script(k, in.NotifyStop)
		case "notify":
			in.Notify = p.script(k, in.Notify)
		case "garp_master_delay":
			if p.nargs(k, 1, 1) {
				if v, err := parseUint(k.args[0], 0, 1<<31/1000000); err != nil {
					p.d.errf(k.pos, "(%s): garp_master_delay '%s' invalid", name, k.args[0])
				} else {
					in.GarpMasterDelay, def.garpSet = time.Duration(v)*time.Second, true
				}
			}
		case "version":
			if p.nargs(k, 1, 1) {
				if k.args[0] != "2" && k.args[0] != "3" {
					p.d.errf(k.pos, "(%s): Version must be either 2 or 3", name)
				} else {
					in.Version, def.versionSet = int(k.args[0][0]-'0'), true
				}
			}
		case "lvs_sync_daemon_interface":
			if p.nargs(k, 1, 1) {
				p.d.warnf(k.pos, "(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon", name)
				if p.syncDaemon != nil {
					p.d.errf(k.pos, "(%s) lvs_sync_daemon_interface has already been specified as %s", name, p.syncDaemon.cfg.Interface)
				} else {
					p.syncDaemon = &syncDaemon{pos: k.pos, instance: name,
						cfg: config.LVSSyncDaemon{Interface: k.args[0], SyncID: -1}}
				}
			}
		default:
			if slices.Contains(strings.Fields(vrrpIgnored), k.kw) {
				p.ignore(k, "")
				continue
			}
			p.unknown(k)
		}
	}
	p.insts = append(p.insts, def)
}

// auth handles authentication { auth_type PASS|AH; auth_pass SECRET }.
func (p *parser) auth(in *config.VRRPInstance, s *stmt) {
	if !p.needBlock(s) {
		return
	}
	for _, k := range s.block {
		switch k.kw {
		case "auth_type":
			if !p.nargs(k, 1, 1) {
				continue
			}
			switch k.args[0] {
			case "PASS":
				in.AuthType = "PASS"
			case "AH":
				in.AuthType = "AH"
				p.d.warnf(k.pos, "(%s) lvsd does not support IPSEC AH authentication: the instance will not interoperate", in.Name)
			default:
				p.d.errf(k.pos, "(%s) unknown authentication type '%s'", in.Name, k.args[0])
			}
		case "auth_pass":
			if p.nargs(k, 1, 1) {
				pass := k.args[0]
				if len(pass) > 8 {
					p.d.warnf(k.pos, "Truncating auth_pass to 8 characters")
					pass = pass[:8]
				}
				in.AuthPass = pass
			}
		default:
			p.unknown(k)
		}
	}
	if in.AuthType != "" && in.AuthPass == "" && in.AuthType == "PASS" {
		p.d.errf(s.pos, "(%s) authentication PASS needs an auth_pass", in.Name)
	}
}

// vips reads a virtual_ipaddress block: ADDR[/LEN] [dev IF] [label L] [scope S] [...].
func (p *parser) vips(name string, s *stmt) []config.VIP {
	if !p.needBlock(s) {
		return nil
	}
	var out []config.VIP
	for _, k := range s.block {
		if k.hasBlock {
			p.d.errf(k.pos, "'%s' takes no block", k.kw)
			continue
		}
		v, ok := parseVIP(k.kw)
		if !ok {
			p.d.errf(k.pos, "(%s) VRRP parsed invalid IP %s", name, k.kw)
			continue
		}
		args := k.args
		for i := 0; i < len(args); i++ {
			opt := args[i]
			switch opt {
			case "home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track":
				p.d.warnf(k.pos, "lvsd ignores the address option '%s'", opt)
				continue
			case "dev", "label", "scope", "brd", "broadcast", "peer", "preferred_lft", "use_vmac", "track_group":
			default:
				p.d.errf(k.pos, "(%s) unknown option '%s' for virtual address %s", name, opt, k.kw)
				continue
			}
			if i+1 >= len(args) {
				if opt == "use_vmac" {
					p.d.warnf(k.pos, "lvsd ignores the address option '%s'", opt)
					continue
				}
				p.d.errf(k.pos, "(%s) option '%s' of %s needs a value", name, opt, k.kw)
				continue
			}
			i++
			val := args[i]
			switch opt {
			case "dev":
				v.Dev = val
			case "label":
				v.Label = val
			case "scope":
				if !validScope(val) {
					p.d.errf(k.pos, "Invalid scope '%s' specified for %s", val, k.kw)
				}
				v.Scope = val
			default:
				p.d.warnf(k.pos, "lvsd ignores the address option '%s %s'", opt, val)
			}
		}
		out = append(out, v)
	}
	return out
}

// parseVIP reads ADDR or ADDR/LEN; the default length is the whole address.
func parseVIP(s string) (config.VIP, bool) {
	a, l, hasLen := strings.Cut(s, "/")
	addr, ok := parseAddr(a)
	if !ok {
		return config.VIP{}, false
	}
	bits := addr.BitLen()
	if hasLen {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > addr.BitLen() {
			return config.VIP{}, false
		}
		bits = n
	}
	return config.VIP{Prefix: netip.PrefixFrom(addr, bits)}, true
}

func validScope(s string) bool {
	switch s {
	case "site", "link", "host", "nowhere", "global":
		return true
	}
	_, err := parseUint(s, 0, 255)
	return err == nil
}

// unicastPeers reads unicast_peer { IP [min_ttl N] [max_ttl N] }.
func (p *parser) unicastPeers(in *config.VRRPInstance, s *stmt) {
	if !p.needBlock(s) {
		return
	}
	for _, k := range s.block {
		a, ok := parseAddr(k.kw)
		if !ok || k.hasBlock {
			p.d.errf(k.pos, "(%s) unicast_peer: invalid address %s", in.Name, k.kw)
			continue
		}
		if len(k.args) > 0 {
			p.d.warnf(k.pos, "lvsd ignores the unicast peer options %q", k.args)
		}
		in.UnicastPeers = append(in.UnicastPeers, a)
	}
}

// trackScript reads one line of a track_script block: NAME [weight N [reverse|noreverse]].
func (p *parser) trackScript(t *stmt) (trackRef, bool) {
	tr := trackRef{pos: t.pos, TrackScript: config.TrackScript{Name: t.kw}}
	if t.hasBlock {
		p.d.errf(t.pos, "'%s' takes no block", t.kw)
		return tr, false
	}
	a := t.args
	if len(a) == 0 {
		return tr, true
	}
	if a[0] != "weight" || len(a) < 2 {
		p.d.errf(t.pos, "track script %s: expected 'weight N', got %q", t.kw, a)
		return tr, false
	}
	w, err := parseInt(a[1], -253, 253)
	if err != nil {
		p.d.errf(t.pos, "track script %s: weight %v", t.kw, err)
		return tr, false
	}
	tr.Weight, tr.HasWeight = int(w), true
	if len(a) > 2 {
		switch a[2] {
		case "noreverse", "no_reverse":
		case "reverse":
			p.d.errf(t.pos, "lvsd does not support 'reverse' for track script %s", t.kw)
			return tr, false
		default:
			p.d.errf(t.pos, "track script %s: unknown option %s", t.kw, a[2])
			return tr, false
		}
	}
	return tr, true
}
