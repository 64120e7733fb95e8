package ipvsnl

import (
	"fmt"
	"net/netip"
	"strings"
)

// ServiceKey identifies a virtual service: protocol, address and port, or a firewall mark
// (FWMark non-zero; Protocol, Addr and Port are then not sent).
type ServiceKey struct {
	// AF is AFInet or AFInet6. Zero means the family of Addr (an IPv4-mapped IPv6 address is
	// IPv6); a firewall-mark key with neither AF nor Addr is IPv4.
	AF       uint16
	Protocol uint16
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// Family returns the key's address family: AF, or the family of Addr when AF is zero.
func (k ServiceKey) Family() uint16 {
	if k.AF != 0 {
		return k.AF
	}
	return familyOf(k.Addr)
}

func familyOf(a netip.Addr) uint16 {
	if a.IsValid() && !a.Is4() {
		return AFInet6
	}
	return AFInet
}

// String names the service in errors and logs: "tcp 10.0.0.1:80", "udp [fd00::1]:53",
// "sctp 10.0.0.1:3868", "fwmark 5", "fwmark 5 ipv6".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.Family() == AFInet6 {
			return fmt.Sprintf("fwmark %d ipv6", k.FWMark)
		}
		return fmt.Sprintf("fwmark %d", k.FWMark)
	}
	return protoName(k.Protocol) + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

func protoName(p uint16) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoSCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto(%d)", p)
}

// Service is a virtual service as the kernel holds it.
type Service struct {
	ServiceKey
	// SchedName is the scheduler ("rr", "wlc", ...); the kernel reports "none" for a
	// service without one.
	SchedName string
	// PEName is the persistence engine ("sip"), empty for none.
	PEName string
	// Flags are IP_VS_SVC_F_* bits. The kernel reports FlagHashed on every service.
	Flags uint32
	// FlagsMask selects the bits of Flags a request changes (SetService keeps the others);
	// zero means all of them, which is what ipvsadm sends. Replies have it zero.
	FlagsMask uint32
	// Timeout is the persistence timeout in seconds.
	Timeout uint32
	// Netmask is the persistence granularity: for IPv4 the mask as a number (0xffffffff
	// for /32, ipvsadm's default), for IPv6 the prefix length (128 by default).
	Netmask uint32
	// Stats are the service's counters and rates (replies only).
	Stats Stats
}

// Stats are counters and rates of a service or destination (IPVS_STATS_ATTR_*). Replies
// carry them twice, in 32-bit (IPVS_*_ATTR_STATS) and, since Linux 4.1, 64-bit form
// (IPVS_*_ATTR_STATS64); the decoder prefers the 64-bit form.
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	CPS, InPPS, OutPPS, InBPS, OutBPS         uint64
	// From32 reports that the kernel sent only the 32-bit form: counters other than
	// bytes wrap at 2^32 there.
	From32 bool
}

// Dest is a destination (real server) of a virtual service.
type Dest struct {
	// AF is the destination's family (IPVS_DEST_ATTR_ADDR_FAMILY). Zero means the family of
	// Addr. Only tunnel destinations may differ from their service's family.
	AF   uint16
	Addr netip.Addr
	Port uint16
	// FwdMethod is FwdMasq, FwdLocal, FwdTunnel or FwdRoute.
	FwdMethod  uint32
	Weight     int32
	UThreshold uint32
	LThreshold uint32
	TunType    uint8
	// TunPort is the GUE port, in host order.
	TunPort  uint16
	TunFlags uint16
	// ActiveConns, InactConns and PersistConns are the kernel's connection counts
	// (replies only).
	ActiveConns, InactConns, PersistConns uint32
	// Stats are the destination's counters and rates (replies only).
	Stats Stats
}

// Family returns the destination's address family: AF, or the family of Addr.
func (d Dest) Family() uint16 {
	if d.AF != 0 {
		return d.AF
	}
	return familyOf(d.Addr)
}

// AddrPort returns the destination's address and port.
func (d Dest) AddrPort() netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

// Daemon is a connection-sync daemon.
type Daemon struct {
	// State is StateMaster or StateBackup.
	State    uint32
	MCastIfn string
	SyncID   uint32
	// SyncMaxLen, MCastGroup, MCastPort and MCastTTL are sent only when set; the kernel
	// then uses its defaults (and reports them).
	SyncMaxLen uint16
	MCastGroup netip.Addr
	MCastPort  uint16
	MCastTTL   uint8
}

// String names the daemon: "master brc syncid 5".
func (d Daemon) String() string {
	return fmt.Sprintf("%s %s syncid %d", stateName(d.State), d.MCastIfn, d.SyncID)
}

func stateName(s uint32) string {
	switch s {
	case StateMaster:
		return "master"
	case StateBackup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", s)
}

// Timeouts are the protocol timeouts of ipvsadm --set, in seconds. In SetTimeouts a zero
// field leaves that timeout unchanged (ip_vs_set_timeout).
type Timeouts struct {
	TCP, TCPFin, UDP uint32
}

// Info is the kernel's IPVS version and connection table size.
type Info struct {
	// Version is IP_VS_VERSION_CODE: 0x010201 for 1.2.1.
	Version uint32
	// ConnTabSize is the number of buckets of the connection hash table.
	ConnTabSize uint32
}

// VersionString returns the version as ipvsadm prints it ("1.2.1").
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version>>16&0xff, i.Version>>8&0xff, i.Version&0xff)
}

// fwdName names a forwarding method in command descriptions.
func fwdName(m uint32) string {
	switch m {
	case FwdMasq:
		return "masq"
	case FwdLocal:
		return "local"
	case FwdTunnel:
		return "tunnel"
	case FwdRoute:
		return "route"
	}
	return fmt.Sprintf("fwd(%d)", m)
}

// describeService is the attribute part of a service in Command.String.
func describeService(s *Service) string {
	var b strings.Builder
	b.WriteString(s.ServiceKey.String())
	if s.SchedName != "" {
		fmt.Fprintf(&b, " sched %s", s.SchedName)
	}
	if s.Flags != 0 {
		fmt.Fprintf(&b, " flags %#x", s.Flags)
	}
	if s.Timeout != 0 {
		fmt.Fprintf(&b, " timeout %d", s.Timeout)
	}
	if s.Netmask != 0 {
		if s.Family() == AFInet6 {
			fmt.Fprintf(&b, " netmask %d", s.Netmask)
		} else {
			fmt.Fprintf(&b, " netmask %#x", s.Netmask)
		}
	}
	if s.PEName != "" {
		fmt.Fprintf(&b, " pe %s", s.PEName)
	}
	return b.String()
}

// describeDest is a destination in Command.String.
func describeDest(d *Dest, full bool) string {
	s := d.AddrPort().String()
	if !full {
		return s
	}
	s += fmt.Sprintf(" %s weight %d", fwdName(d.FwdMethod), d.Weight)
	if d.UThreshold != 0 || d.LThreshold != 0 {
		s += fmt.Sprintf(" thresholds %d/%d", d.UThreshold, d.LThreshold)
	}
	if d.FwdMethod == FwdTunnel {
		s += fmt.Sprintf(" tun %d port %d flags %#x", d.TunType, d.TunPort, d.TunFlags)
	}
	return s
}
