package ipvs

import (
	"math"
	"net/netip"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// This file translates between the model (package lb) and the kernel's netlink-level
// types. The model already uses the kernel's numbers (flag bits, forwarding methods,
// tunnel types, netmask forms), so most of it is copying. The conversions are exported for
// the other user of the kernel table, lvsadm --kernel (package kernelctl); they never fail
// and never modify their arguments.

// KernelKey is the kernel key of service k: its address family comes from the address (an
// IPv4-mapped IPv6 address is IPv6, for a fwmark key the unspecified address of its family).
func KernelKey(k lb.ServiceKey) ipvsnl.ServiceKey {
	nk := ipvsnl.ServiceKey{AF: ipvsnl.AFInet, Protocol: uint16(k.Protocol), Addr: k.Addr, Port: k.Port, FWMark: k.FWMark}
	if k.Is6() {
		nk.AF = ipvsnl.AFInet6
	}
	if k.IsFWMark() {
		nk.Protocol, nk.Addr, nk.Port = 0, netip.Addr{}, 0
	}
	return nk
}

// normKey is k in the model's canonical form: a fwmark key carries only the mark and the
// unspecified address of its family (lb.State builds keys that way; a hand-made state may
// not), so that it compares equal to ModelKey of the kernel's service.
func normKey(k lb.ServiceKey) lb.ServiceKey {
	if k.IsFWMark() {
		return lb.FWMarkKey(k.FWMark, k.Is6())
	}
	return k
}

// ModelKey is the model's key of a kernel service.
func ModelKey(k ipvsnl.ServiceKey) lb.ServiceKey {
	if k.FWMark != 0 {
		return lb.FWMarkKey(k.FWMark, k.Family() == ipvsnl.AFInet6)
	}
	return lb.ServiceKey{Protocol: lb.Protocol(k.Protocol), Addr: k.Addr, Port: k.Port}
}

// KernelService is the kernel form of s's settings (not its reals). All flags are sent (mask ~0),
// as ipvsadm does, so that SetService replaces them.
func KernelService(s *lb.Service) ipvsnl.Service {
	return ipvsnl.Service{
		ServiceKey: KernelKey(s.ServiceKey),
		SchedName:  s.Scheduler,
		PEName:     s.PE,
		Flags:      uint32(s.Flags),
		Timeout:    s.Timeout,
		Netmask:    s.Netmask,
	}
}

// sameService reports whether the kernel's service k has s's settings. The kernel's
// IP_VS_SVC_F_HASHED bit is its own bookkeeping and is ignored.
func sameService(s *lb.Service, k *ipvsnl.Service) bool {
	return k.SchedName == s.Scheduler && k.PEName == s.PE && k.Flags&^ipvsnl.FlagHashed == uint32(s.Flags) &&
		k.Timeout == s.Timeout && k.Netmask == s.Netmask
}

// KernelDest is the kernel form of real r.
func KernelDest(r lb.Real) ipvsnl.Dest {
	af := ipvsnl.AFInet
	if r.Addr.Is6() {
		af = ipvsnl.AFInet6
	}
	return ipvsnl.Dest{
		AF:         af,
		Addr:       r.Addr,
		Port:       r.Port,
		FwdMethod:  uint32(r.Forward),
		Weight:     r.Weight,
		UThreshold: r.UThreshold,
		LThreshold: r.LThreshold,
		TunType:    uint8(r.TunType),
		TunPort:    r.TunPort,
		TunFlags:   uint16(r.TunFlags),
	}
}

// ModelReal is the model's form of a kernel destination.
func ModelReal(d *ipvsnl.Dest) lb.Real {
	return lb.Real{
		Addr:       d.Addr,
		Port:       d.Port,
		Forward:    lb.Forward(d.FwdMethod),
		Weight:     d.Weight,
		UThreshold: d.UThreshold,
		LThreshold: d.LThreshold,
		TunType:    lb.TunType(d.TunType),
		TunPort:    d.TunPort,
		TunFlags:   lb.TunFlags(d.TunFlags),
	}
}

// ModelStats splits the kernel's counters into the model's counters and rates.
func ModelStats(s ipvsnl.Stats) (lb.Stats, lb.Rates) {
	return lb.Stats{Conns: s.Conns, InPkts: s.InPkts, OutPkts: s.OutPkts, InBytes: s.InBytes, OutBytes: s.OutBytes},
		lb.Rates{CPS: s.CPS, InPPS: s.InPPS, OutPPS: s.OutPPS, InBPS: s.InBPS, OutBPS: s.OutBPS}
}

// realCounters is the engine's report of one kernel destination.
func realCounters(d *ipvsnl.Dest) engine.RealCounters {
	st, rt := ModelStats(d.Stats)
	return engine.RealCounters{Addr: d.Addr, Port: d.Port,
		Active: clamp32(d.ActiveConns), Inactive: clamp32(d.InactConns), Persist: clamp32(d.PersistConns),
		Stats: st, Rates: rt}
}

// clamp32 converts a kernel connection count (an atomic_t read as u32) to the model's int32.
func clamp32(v uint32) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(v)
}

// KernelDaemon is the kernel form of a sync daemon configuration.
func KernelDaemon(d engine.SyncDaemon) ipvsnl.Daemon {
	nd := ipvsnl.Daemon{State: daemonState(d.Backup), MCastIfn: d.MCastIfn, SyncID: uint32(d.SyncID),
		SyncMaxLen: d.SyncMaxLen, MCastPort: d.MCastPort, MCastTTL: d.MCastTTL}
	if d.MCastGroup.IsValid() {
		nd.MCastGroup = d.MCastGroup
	}
	return nd
}

func daemonState(backup bool) uint32 {
	if backup {
		return ipvsnl.StateBackup
	}
	return ipvsnl.StateMaster
}

// ModelDaemon is the model's form of a running kernel daemon.
func ModelDaemon(d *ipvsnl.Daemon) engine.SyncDaemon {
	return engine.SyncDaemon{Backup: d.State == ipvsnl.StateBackup, MCastIfn: d.MCastIfn, SyncID: uint8(d.SyncID),
		SyncMaxLen: d.SyncMaxLen, MCastGroup: d.MCastGroup, MCastPort: d.MCastPort, MCastTTL: d.MCastTTL}
}
