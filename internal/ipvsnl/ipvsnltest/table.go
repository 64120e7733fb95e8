package ipvsnltest

import (
	"net/netip"
	"syscall"

	"github.com/golvs/golvs/internal/ipvsnl"
)

// handle applies one request to the table, as ip_vs_genl_set_cmd, ip_vs_genl_get_cmd,
// ip_vs_genl_set_daemon and the dump functions do. It runs with k.mu held.
func (k *Kernel) handle(c *ipvsnl.Command, dump bool) ([]ipvsnl.Command, syscall.Errno) {
	switch c.Cmd {
	case ipvsnl.CmdGetService:
		if dump {
			var out []ipvsnl.Command
			for _, s := range k.services {
				out = append(out, ipvsnl.Command{Cmd: ipvsnl.CmdNewService, Service: &s.svc})
			}
			return out, 0
		}
		s, errno := k.lookup(c)
		if errno != 0 {
			return nil, errno
		}
		return []ipvsnl.Command{{Cmd: ipvsnl.CmdNewService, Service: &s.svc}}, 0
	case ipvsnl.CmdGetDest:
		// ip_vs_genl_dump_dests: an unknown service gives an empty dump, not an error; each
		// message holds the destination alone (ip_vs_genl_dump_dest).
		s, _ := k.lookup(c)
		if s == nil {
			return nil, 0
		}
		var out []ipvsnl.Command
		for i := range s.dests {
			out = append(out, ipvsnl.Command{Cmd: ipvsnl.CmdNewDest, Dest: &s.dests[i]})
		}
		return out, 0
	case ipvsnl.CmdGetConfig:
		t := k.timeouts
		return []ipvsnl.Command{{Cmd: ipvsnl.CmdSetConfig, Timeouts: &t}}, 0
	case ipvsnl.CmdGetInfo:
		return []ipvsnl.Command{{Cmd: ipvsnl.CmdSetInfo, Info: &ipvsnl.Info{Version: 0x010201, ConnTabSize: 4096}}}, 0
	case ipvsnl.CmdGetDaemon:
		var out []ipvsnl.Command
		for _, d := range k.daemons {
			if d != nil {
				out = append(out, ipvsnl.Command{Cmd: ipvsnl.CmdNewDaemon, Daemon: d})
			}
		}
		return out, 0
	case ipvsnl.CmdNewDaemon:
		return nil, k.newDaemon(c.Daemon)
	case ipvsnl.CmdDelDaemon:
		if c.Daemon == nil || c.Daemon.State < ipvsnl.StateMaster || c.Daemon.State > ipvsnl.StateBackup {
			return nil, syscall.EINVAL
		}
		if k.daemons[c.Daemon.State-1] == nil {
			return nil, syscall.ESRCH
		}
		k.daemons[c.Daemon.State-1] = nil
		return nil, 0
	case ipvsnl.CmdFlush:
		k.services = nil
		return nil, 0
	case ipvsnl.CmdSetConfig:
		if t := c.Timeouts; t != nil {
			// ip_vs_set_timeout: each value at most INT_MAX/HZ (HZ=250 on Debian).
			const maxTimeout = (1<<31 - 1) / 250
			if t.TCP > maxTimeout || t.TCPFin > maxTimeout || t.UDP > maxTimeout {
				return nil, syscall.EINVAL
			}
			if t.TCP != 0 {
				k.timeouts.TCP = t.TCP
			}
			if t.TCPFin != 0 {
				k.timeouts.TCPFin = t.TCPFin
			}
			if t.UDP != 0 {
				k.timeouts.UDP = t.UDP
			}
		}
		return nil, 0
	case ipvsnl.CmdZero:
		if c.Service == nil {
			for _, s := range k.services {
				zero(s)
			}
			return nil, 0
		}
	}
	return nil, k.setCmd(c)
}

// setCmd is ip_vs_genl_set_cmd for the commands that name a service.
func (k *Kernel) setCmd(c *ipvsnl.Command) syscall.Errno {
	if c.Service == nil {
		return syscall.EINVAL
	}
	if af := c.Service.AF; af != ipvsnl.AFInet && af != ipvsnl.AFInet6 {
		return syscall.EAFNOSUPPORT
	}
	s := k.find(c.Service.ServiceKey)
	switch c.Cmd {
	case ipvsnl.CmdNewService:
		if s != nil {
			return syscall.EEXIST
		}
		return k.addService(c.Service)
	case ipvsnl.CmdSetService, ipvsnl.CmdDelService, ipvsnl.CmdZero,
		ipvsnl.CmdNewDest, ipvsnl.CmdSetDest, ipvsnl.CmdDelDest:
	default:
		return syscall.EOPNOTSUPP
	}
	if s == nil {
		return syscall.ESRCH
	}
	switch c.Cmd {
	case ipvsnl.CmdSetService:
		return k.editService(s, c.Service)
	case ipvsnl.CmdDelService:
		for i := range k.services {
			if k.services[i] == s {
				k.services = append(k.services[:i:i], k.services[i+1:]...)
				break
			}
		}
		return 0
	case ipvsnl.CmdZero:
		zero(s)
		return 0
	}
	return k.destCmd(s, c)
}

func (k *Kernel) lookup(c *ipvsnl.Command) (*service, syscall.Errno) {
	if c.Service == nil {
		return nil, syscall.EINVAL
	}
	if s := k.find(c.Service.ServiceKey); s != nil {
		return s, 0
	}
	return nil, syscall.ESRCH
}

// find is __ip_vs_service_find / __ip_vs_svc_fwm_find.
func (k *Kernel) find(key ipvsnl.ServiceKey) *service {
	for _, s := range k.services {
		sk := s.svc.ServiceKey
		if sk.Family() != key.Family() || sk.FWMark != key.FWMark {
			continue
		}
		if key.FWMark != 0 || (sk.Protocol == key.Protocol && sk.Addr == key.Addr && sk.Port == key.Port) {
			return s
		}
	}
	return nil
}

func (k *Kernel) checkService(u *ipvsnl.Service) syscall.Errno {
	if u.SchedName == "" {
		return syscall.EINVAL // the attribute is mandatory in a full entry
	}
	if u.SchedName != "none" && !k.schedulers[u.SchedName] {
		return syscall.ENOENT
	}
	if u.PEName != "" && !k.pes[u.PEName] {
		return syscall.ENOENT
	}
	if u.Family() == ipvsnl.AFInet6 && (u.Netmask < 1 || u.Netmask > 128) {
		return syscall.EINVAL
	}
	return 0
}

func mask(u *ipvsnl.Service) uint32 {
	if u.FlagsMask == 0 {
		return ^uint32(0)
	}
	return u.FlagsMask
}

// addService is ip_vs_add_service; the stored flags carry IP_VS_SVC_F_HASHED, as
// ip_vs_svc_hash sets it.
func (k *Kernel) addService(u *ipvsnl.Service) syscall.Errno {
	if e := k.checkService(u); e != 0 {
		return e
	}
	svc := *u
	svc.AF = u.Family()
	svc.Flags = u.Flags&mask(u)&^ipvsnl.FlagHashed | ipvsnl.FlagHashed
	svc.FlagsMask, svc.Stats = 0, ipvsnl.Stats{}
	if svc.FWMark != 0 {
		svc.Protocol, svc.Addr, svc.Port = 0, netip.Addr{}, 0
	}
	k.services = append(k.services, &service{svc: svc})
	return 0
}

// editService is ip_vs_edit_service.
func (k *Kernel) editService(s *service, u *ipvsnl.Service) syscall.Errno {
	if e := k.checkService(u); e != 0 {
		return e
	}
	m := mask(u)
	s.svc.Flags = s.svc.Flags&^m | u.Flags&m | ipvsnl.FlagHashed
	s.svc.SchedName, s.svc.PEName, s.svc.Timeout, s.svc.Netmask = u.SchedName, u.PEName, u.Timeout, u.Netmask
	return 0
}

// destCmd is the destination part of ip_vs_genl_set_cmd with ip_vs_add_dest,
// ip_vs_edit_dest and ip_vs_del_dest.
func (k *Kernel) destCmd(s *service, c *ipvsnl.Command) syscall.Errno {
	u := c.Dest
	if u == nil {
		return syscall.EINVAL
	}
	d := *u
	d.AF = u.Family()
	if d.AF != s.svc.AF && c.Cmd != ipvsnl.CmdDelDest {
		if k.daemons[0] != nil || k.daemons[1] != nil || d.FwdMethod != ipvsnl.FwdTunnel {
			return syscall.EINVAL
		}
	}
	i := -1
	for j := range s.dests {
		if s.dests[j].AF == d.AF && s.dests[j].Addr == d.Addr && s.dests[j].Port == d.Port {
			i = j
		}
	}
	if c.Cmd == ipvsnl.CmdDelDest {
		if i < 0 {
			return syscall.ENOENT
		}
		s.dests = append(s.dests[:i:i], s.dests[i+1:]...)
		return 0
	}
	switch {
	case d.Weight < 0, d.LThreshold > d.UThreshold:
		return syscall.ERANGE
	case d.TunType == ipvsnl.TunGUE && d.TunPort == 0:
		return syscall.EINVAL
	}
	d.ActiveConns, d.InactConns, d.PersistConns, d.Stats = 0, 0, 0, ipvsnl.Stats{}
	if c.Cmd == ipvsnl.CmdNewDest {
		if i >= 0 {
			return syscall.EEXIST
		}
		s.dests = append([]ipvsnl.Dest{d}, s.dests...)
		return 0
	}
	if i < 0 {
		return syscall.ENOENT
	}
	old := s.dests[i]
	d.ActiveConns, d.InactConns, d.PersistConns, d.Stats = old.ActiveConns, old.InactConns, old.PersistConns, old.Stats
	s.dests[i] = d
	return 0
}

// newDaemon is ip_vs_genl_new_daemon with start_sync_thread's defaults.
func (k *Kernel) newDaemon(u *ipvsnl.Daemon) syscall.Errno {
	if u == nil || u.MCastIfn == "" || u.State < ipvsnl.StateMaster || u.State > ipvsnl.StateBackup {
		return syscall.EINVAL
	}
	if u.MCastGroup.IsValid() && !u.MCastGroup.IsMulticast() {
		return syscall.EINVAL
	}
	for _, s := range k.services {
		for _, d := range s.dests {
			if d.AF != s.svc.AF {
				return syscall.EINVAL
			}
		}
	}
	if k.daemons[u.State-1] != nil {
		return syscall.EEXIST
	}
	d := *u
	if !d.MCastGroup.IsValid() {
		d.MCastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})
	}
	if d.MCastPort == 0 {
		d.MCastPort = 8848
	}
	if d.MCastTTL == 0 {
		d.MCastTTL = 1
	}
	if d.SyncMaxLen == 0 {
		d.SyncMaxLen = 1472
	}
	k.daemons[u.State-1] = &d
	return 0
}

func zero(s *service) {
	s.svc.Stats = ipvsnl.Stats{}
	for i := range s.dests {
		s.dests[i].Stats = ipvsnl.Stats{}
	}
}
