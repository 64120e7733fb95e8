package keepalived

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// parser holds what one Parse call has read so far.
type parser struct {
	cfg  *config.Config
	opts Options
	d    diags

	groups     map[string]*vsGroup
	vss        []*vsDef
	syncDaemon *syncDaemon
	insts      []*instDef
	syncs      []*syncDef
	// vrrpVersion and garpDelay are the global vrrp_version and vrrp_garp_master_delay
	// (0: keepalived's defaults, 2 and 5 s).
	vrrpVersion int
	garpDelay   *time.Duration
}

// syncDaemon is global_defs lvs_sync_daemon (or an instance's lvs_sync_daemon_interface).
type syncDaemon struct {
	pos      config.Pos
	instance string // the vrrp_instance it follows; "" when none was named
	cfg      config.LVSSyncDaemon
}

// top handles the top-level blocks.
func (p *parser) top(stmts []*stmt) {
	for _, s := range stmts {
		switch s.kw {
		case "global_defs":
			if p.needBlock(s) {
				p.globalDefs(s.block)
			}
		case "virtual_server_group":
			p.vsGroup(s)
		case "virtual_server":
			p.virtualServer(s)
		case "vrrp_instance":
			p.vrrpInstance(s)
		case "vrrp_script":
			p.vrrpScript(s)
		case "vrrp_sync_group":
			p.vrrpSyncGroup(s)
		case "SSL":
			p.ignore(s, "(SSL_GET checks use the system's TLS defaults)")
		case "linkbeat_interfaces", "static_track_group", "static_ipaddress", "static_routes",
			"static_rules", "track_file", "vrrp_track_file", "vrrp_track_process",
			"garp_group", "interface_up_down_delays", "bfd_instance", "include_check":
			p.ignore(s, "")
		default:
			p.unknown(s)
		}
	}
}

// unknown reports a keyword that has no meaning where it is.
func (p *parser) unknown(s *stmt) {
	p.d.errf(s.pos, "Unknown keyword '%s'", s.kw)
}

// ignore accepts a keyword (and its block) with a warning that lvsd does not act on it.
func (p *parser) ignore(s *stmt, why string) {
	if why != "" {
		why = " " + why
	}
	p.d.warnf(s.pos, "lvsd ignores '%s'%s", s.kw, why)
}

// needBlock reports whether s opened a block, with an error if it did not.
func (p *parser) needBlock(s *stmt) bool {
	if !s.hasBlock {
		p.d.errf(s.pos, "'%s' needs a block { ... }", s.kw)
	}
	return s.hasBlock
}

// noBlock reports an error when a simple keyword opens a block.
func (p *parser) noBlock(s *stmt) bool {
	if s.hasBlock {
		p.d.errf(s.pos, "'%s' takes no block", s.kw)
		return false
	}
	return true
}

// nargs checks that s has between min and max arguments (max < 0: any number). Too few is
// an error; too many is a warning, since keepalived ignores the extra words.
func (p *parser) nargs(s *stmt, min, max int) bool {
	if !p.noBlock(s) {
		return false
	}
	if len(s.args) < min {
		if min == 1 {
			p.d.errf(s.pos, "'%s' needs a value", s.kw)
		} else {
			p.d.errf(s.pos, "'%s' needs %d values", s.kw, min)
		}
		return false
	}
	if max >= 0 && len(s.args) > max {
		p.d.warnf(s.pos, "'%s': extra words ignored: %q", s.kw, s.args[max:])
	}
	return true
}

// globalIgnored lists the global_defs keywords of keepalived 2.2 that lvsd accepts and
// does not act on.
const globalIgnored = `
notification_email notification_email_from smtp_server smtp_helo_name smtp_connect_timeout
smtp_alert smtp_alert_vrrp smtp_alert_checker no_email_faults no_checker_emails
enable_script_security script_user startup_script startup_script_timeout shutdown_script
shutdown_script_timeout max_auto_priority min_auto_priority_delay dynamic_interfaces
default_interface checker_log_all_failures rs_init_notifies lvs_flush lvs_flush_on_stop
notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script lvs_notify_fifo
lvs_notify_fifo_script fifo_write_vrrp_states_on_reload vrrp_mcast_group4
vrrp_mcast_group6 vrrp_garp_master_delay vrrp_garp_master_repeat
vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat vrrp_garp_master_refresh
vrrp_garp_master_refresh_repeat vrrp_garp_interval vrrp_gna_interval vrrp_min_garp
vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_check_unicast_src
vrrp_skip_check_adv_addr vrrp_strict vrrp_iptables vrrp_ipsets nftables nftables_priority
nftables_ifindex nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark
nftables_counters vrrp_priority vrrp_no_swap vrrp_rt_priority vrrp_rlimit_rttime
vrrp_cpu_affinity checker_priority checker_no_swap checker_rt_priority
checker_rlimit_rttime checker_cpu_affinity bfd_priority bfd_no_swap bfd_rt_priority
bfd_rlimit_rttime bfd_cpu_affinity snmp_socket enable_traps enable_snmp_vrrp
enable_snmp_keepalived enable_snmp_checker enable_snmp_rfc enable_snmp_rfcv2
enable_snmp_rfcv3 enable_dbus dbus_service_name net_namespace net_namespace_ipvs
namespace_with_ipsets instance use_pid_dir vrrp_netlink_cmd_rcv_bufs
vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
vrrp_netlink_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs
lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs
lvs_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs process_monitor_rcv_bufs_force
vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier vrrp_startup_delay log_unknown_vrids
vmac_prefix vmac_addr_prefix vrrp_garp_extra_if vrrp_down_timer_adverts random_seed
reload_check_config reload_time_file reload_repeat reload_file config_save_dir
tmp_config_directory umask data_use_instance child_wait_time process_names process_name
vrrp_process_name checker_process_name bfd_process_name linkbeat_use_polling
vrrp_notify_priority_changes disable_local_igmp vrrp_track_process
`

func isGlobalIgnored(kw string) bool { return slices.Contains(strings.Fields(globalIgnored), kw) }

// globalDefs handles global_defs.
func (p *parser) globalDefs(stmts []*stmt) {
	for _, s := range stmts {
		switch s.kw {
		case "router_id":
			if p.nargs(s, 1, 1) {
				p.cfg.Global.RouterID = s.args[0]
			}
		case "lvs_sync_daemon":
			p.lvsSyncDaemon(s)
		case "lvs_timeouts":
			p.lvsTimeouts(s)
		case "vrrp_version":
			if p.nargs(s, 1, 1) {
				if s.args[0] != "2" && s.args[0] != "3" {
					p.d.errf(s.pos, "vrrp_version must be 2 or 3")
				} else {
					p.vrrpVersion = int(s.args[0][0] - '0')
				}
			}
		case "vrrp_garp_master_delay":
			if p.nargs(s, 1, 1) {
				if v, err := parseUint(s.args[0], 0, 1<<31/1000000); err != nil {
					p.d.errf(s.pos, "vrrp_garp_master_delay: %v", err)
				} else {
					d := time.Duration(v) * time.Second
					p.garpDelay = &d
				}
			}
		default:
			if isGlobalIgnored(s.kw) {
				p.ignore(s, "")
				continue
			}
			p.unknown(s)
		}
	}
}

// ifNameMax is IP_VS_IFNAME_MAXLEN: the kernel's sync daemon takes names shorter than 16.
const ifNameMax = 16

// lvsSyncDaemon: lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N]
// [group IP], read as keepalived 2.2.7 reads it (global_parser.c, lvs_syncd_handler): the
// options in any order, "inst NAME" for the instance, and the pre-"id" form with the sync
// ID as a bare fourth word. A bad value is an error carrying keepalived's message (keepalived
// goes on with the default; lvsd does not guess); the bare sync ID is only a warning.
func (p *parser) lvsSyncDaemon(s *stmt) {
	if p.syncDaemon != nil {
		p.d.errf(s.pos, "lvs_sync_daemon has already been specified as %s %s - ignoring", p.syncDaemon.cfg.Interface, p.syncDaemon.instance)
		return
	}
	if !p.nargs(s, 1, -1) {
		return
	}
	if len(s.args[0]) >= ifNameMax {
		p.d.errf(s.pos, "lvs_sync_daemon interface name '%s' too long - ignoring", s.args[0])
		return
	}
	sd := &syncDaemon{pos: s.pos, cfg: config.LVSSyncDaemon{Interface: s.args[0], SyncID: -1}}
	p.syncDaemon = sd
	// value returns the word after option i, reporting keepalived's message when there is none.
	value := func(i int, missing string) (string, bool) {
		if i+1 >= len(s.args) {
			p.d.errf(s.pos, "No value specified for lvs_sync_daemon %s", missing)
			return "", false
		}
		return s.args[i+1], true
	}
	for i := 1; i < len(s.args); i++ {
		opt := s.args[i]
		switch opt {
		case "inst":
			v, ok := value(i, "inst")
			if !ok {
				continue
			}
			if sd.instance != "" {
				p.d.errf(s.pos, "lvs_sync_daemon vrrp instance has already been specified as %s - ignoring", sd.instance)
			} else {
				sd.instance = v
			}
		case "id":
			v, ok := value(i, "id, defaulting to vrid")
			if !ok {
				continue
			}
			if n, ok := syncdNumber(v, 0, 255); ok {
				sd.cfg.SyncID = int(n)
			} else {
				p.d.errf(s.pos, "Invalid syncid (%s) - defaulting to vrid", v)
			}
		case "maxlen", "port", "ttl":
			v, ok := value(i, opt+" - ignoring")
			if !ok {
				continue
			}
			hi := map[string]uint64{"maxlen": 65535 - 20 - 8, "port": 65535, "ttl": 255}[opt] // maxlen: 65535 less the IP and UDP headers
			n, ok := syncdNumber(v, 1, hi)
			switch {
			case !ok:
				p.d.errf(s.pos, "Invalid lvs_sync_daemon %s (%s) - ignoring", opt, v)
			case opt == "maxlen":
				sd.cfg.MaxLen = uint16(n)
			case opt == "port":
				sd.cfg.Port = uint16(n)
			default:
				sd.cfg.TTL = uint8(n)
			}
		case "group":
			v, ok := value(i, "group - ignoring")
			if !ok {
				continue
			}
			a, err := netip.ParseAddr(v)
			switch {
			case err != nil || a.Zone() != "":
				p.d.errf(s.pos, "Invalid lvs_sync_daemon group (%s) - ignoring", v)
			case !a.IsMulticast():
				p.d.errf(s.pos, "lvs_sync_daemon group address %s is not multicast - ignoring", v)
			default:
				sd.cfg.Group = a
			}
		default:
			switch i {
			case 1: // the old positional form: IFACE INSTANCE [SYNCID]
				sd.instance = opt
			case 2:
				if n, ok := syncdNumber(opt, 0, 255); ok {
					p.d.warnf(s.pos, "Please use keyword \"id\" before lvs_sync_daemon SYNCID")
					sd.cfg.SyncID = int(n)
				} else {
					p.d.errf(s.pos, "Invalid syncid (%s) - defaulting to vrid", opt)
				}
			default:
				p.d.errf(s.pos, "Unknown option %s specified for lvs_sync_daemon", opt)
			}
			continue
		}
		i++ // the option's value
	}
	if sd.instance == "" {
		p.d.errf(s.pos, "lvs_sync_daemon names no vrrp instance (lvs_sync_daemon IFACE INSTANCE)")
	}
}

// syncdNumber reads a decimal number in [lo, hi] as keepalived's read_unsigned_strvec does
// (a leading '+' is allowed).
func syncdNumber(s string, lo, hi uint64) (uint64, bool) {
	v, err := parseUint(strings.TrimPrefix(s, "+"), lo, hi)
	return v, err == nil
}

// lvsTimeouts: lvs_timeouts [tcp N] [tcpfin N] [udp N]; the ones not given keep the
// kernel's defaults.
func (p *parser) lvsTimeouts(s *stmt) {
	if !p.nargs(s, 2, -1) {
		return
	}
	t := lb.DefaultTimeouts
	if p.cfg.Timeouts != nil {
		t = *p.cfg.Timeouts
	}
	for i := 0; i < len(s.args); i += 2 {
		if i+1 >= len(s.args) {
			p.d.errf(s.pos, "lvs_timeouts: '%s' needs a value", s.args[i])
			return
		}
		v, err := parseUint(s.args[i+1], 1, 86400*31)
		if err != nil {
			p.d.errf(s.pos, "lvs_timeouts %s: %v", s.args[i], err)
			return
		}
		switch s.args[i] {
		case "tcp":
			t.TCP = uint32(v)
		case "tcpfin":
			t.TCPFin = uint32(v)
		case "udp":
			t.UDP = uint32(v)
		default:
			p.d.errf(s.pos, "Unknown option %s specified for lvs_timeouts", s.args[i])
			return
		}
	}
	p.cfg.Timeouts = &t
}
