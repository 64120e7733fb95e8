package keepalived

import (
	"fmt"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// dump writes a Config as stable text, for the golden files.
func dump(c *config.Config) string {
	var b strings.Builder
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, a...)
		b.WriteByte('\n')
	}
	if c.Global.RouterID != "" {
		w(0, "router_id %s", c.Global.RouterID)
	}
	if t := c.Timeouts; t != nil {
		w(0, "timeouts tcp=%d tcpfin=%d udp=%d", t.TCP, t.TCPFin, t.UDP)
	}
	for _, s := range c.Services {
		w(0, "service %s sched=%s flags=%#x timeout=%d netmask=%#x pe=%q group=%q",
			s.ServiceKey, s.Scheduler, uint32(s.Flags), s.Timeout, s.Netmask, s.PE, s.Group)
		w(1, "quorum=%d hysteresis=%d alpha=%v omega=%v ha_suspend=%v virtualhost=%q",
			s.Quorum, s.Hysteresis, s.Alpha, s.Omega, s.HASuspend, s.VirtualHost)
		if s.QuorumUp != "" || s.QuorumDown != "" {
			w(1, "quorum_up=%q quorum_down=%q", s.QuorumUp, s.QuorumDown)
		}
		if so := s.Sorry; so != nil {
			w(1, "sorry %s:%d %s inhibit=%v", so.Addr, so.Port, so.Forward, so.Inhibit)
		}
		for _, r := range s.Reals {
			w(1, "real %s %s weight=%d uthreshold=%d lthreshold=%d tun=%s/%d/%d inhibit=%v (%s)",
				r.AddrPort(), r.Forward, r.Weight, r.UThreshold, r.LThreshold, r.TunType, r.TunPort, r.TunFlags,
				r.InhibitOnFailure, r.Pos.String()[strings.LastIndex(r.Pos.String(), "/")+1:])
			if r.NotifyUp != "" || r.NotifyDown != "" {
				w(2, "notify_up=%q notify_down=%q", r.NotifyUp, r.NotifyDown)
			}
			for _, k := range r.Checks {
				w(2, "check %s addr=%v port=%d bind=%v:%d interval=%v timeout=%v retries=%d retry_delay=%v warmup=%v",
					k.Kind, k.Addr, k.Port, k.BindAddr, k.BindPort, k.Interval, k.Timeout, k.Retries, k.RetryDelay, k.Warmup)
				switch k.Kind {
				case config.CheckHTTP, config.CheckHTTPS:
					w(3, "method=%s virtualhost=%q sni=%v", k.Method, k.VirtualHost, k.SNI)
					for _, u := range k.URLs {
						w(3, "url path=%q digest=%q status=%v regex=%q", u.Path, u.Digest, u.Status, u.Regex)
					}
				case config.CheckExternal:
					w(3, "command=%q argv=%q dynamic=%v", k.Command, argv(k.Command), k.Dynamic)
				case config.CheckDNS:
					w(3, "type=%s name=%q", k.DNSType, k.DNSName)
				}
			}
		}
	}
	for _, sc := range c.VRRP.Scripts {
		w(0, "vrrp_script %s script=%q argv=%q interval=%v timeout=%v weight=%d rise=%d fall=%d",
			sc.Name, sc.Script, argv(sc.Script), sc.Interval, sc.Timeout, sc.Weight, sc.Rise, sc.Fall)
	}
	for _, in := range c.VRRP.Instances {
		w(0, "vrrp_instance %s v%d state=%s interface=%s vrid=%d priority=%d advert=%v nopreempt=%v preempt_delay=%v",
			in.Name, in.Version, in.InitialState, in.Interface, in.VRID, in.Priority, in.AdvertInt, in.NoPreempt, in.PreemptDelay)
		w(1, "auth=%q/%q garp_master_delay=%v", in.AuthType, in.AuthPass, in.GarpMasterDelay)
		if sd := in.SyncDaemon; sd != nil {
			w(1, "lvs_sync_daemon interface=%s id=%d maxlen=%d port=%d ttl=%d group=%v",
				sd.Interface, sd.SyncID, sd.MaxLen, sd.Port, sd.TTL, sd.Group)
		}
		for _, v := range in.Addresses {
			w(1, "vip %s dev=%q label=%q scope=%q", v.Prefix, v.Dev, v.Label, v.Scope)
		}
		for _, v := range in.Excluded {
			w(1, "excluded %s dev=%q label=%q scope=%q", v.Prefix, v.Dev, v.Label, v.Scope)
		}
		if in.UnicastSrc.IsValid() || len(in.UnicastPeers) > 0 {
			w(1, "unicast src=%v peers=%v", in.UnicastSrc, in.UnicastPeers)
		}
		if len(in.TrackInterfaces) > 0 {
			w(1, "track_interface %v", in.TrackInterfaces)
		}
		for _, t := range in.TrackScripts {
			w(1, "track_script %s weight=%d set=%v", t.Name, t.Weight, t.HasWeight)
		}
		for _, n := range [][2]string{{"master", in.NotifyMaster}, {"backup", in.NotifyBackup},
			{"fault", in.NotifyFault}, {"stop", in.NotifyStop}, {"notify", in.Notify}} {
			if n[1] != "" {
				w(1, "notify_%s=%q argv=%q", n[0], n[1], argv(n[1]))
			}
		}
	}
	for _, g := range c.VRRP.SyncGroups {
		w(0, "vrrp_sync_group %s %v", g.Name, g.Instances)
		for _, n := range [][2]string{{"master", g.NotifyMaster}, {"backup", g.NotifyBackup},
			{"fault", g.NotifyFault}, {"notify", g.Notify}} {
			if n[1] != "" {
				w(1, "notify_%s=%q", n[0], n[1])
			}
		}
	}
	for _, d := range c.Warnings {
		w(0, "warning line %d: %s", d.Line, d.Msg)
	}
	return b.String()
}
