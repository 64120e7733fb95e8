package ipvsnl

import (
	"encoding/binary"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// addr16 is a as union nf_inet_addr: an IPv4 address in the first 4 bytes, zeros after;
// the invalid address is all zeros.
func addr16(a netip.Addr) []byte {
	b := make([]byte, addrLen)
	switch {
	case a.Is4():
		v := a.As4()
		copy(b, v[:])
	case a.IsValid():
		v := a.As16()
		copy(b, v[:])
	}
	return b
}

// be16 is v in network byte order, as the kernel reads ports (nla_get_be16).
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// netmaskBytes is the raw 32-bit netmask: network order for IPv4 (a __be32 mask), host
// order for IPv6 (the prefix length, which the kernel reads as a plain u32).
func netmaskBytes(af uint16, m uint32) []byte {
	if af == AFInet6 {
		return binary.NativeEndian.AppendUint32(nil, m)
	}
	return binary.BigEndian.AppendUint32(nil, m)
}

// putServiceKey writes what identifies a service, in ipvsadm's (and the kernel's) order.
func putServiceKey(ae *netlink.AttributeEncoder, k ServiceKey) {
	ae.Uint16(svcAttrAF, k.Family())
	if k.FWMark != 0 {
		ae.Uint32(svcAttrFWMark, k.FWMark)
		return
	}
	ae.Uint16(svcAttrProtocol, k.Protocol)
	ae.Bytes(svcAttrAddr, addr16(k.Addr))
	ae.Bytes(svcAttrPort, be16(k.Port))
}

// putService writes a service: its key, and with full its settings (what
// IPVS_CMD_NEW_SERVICE and IPVS_CMD_SET_SERVICE need); with reply also its counters.
func putService(ae *netlink.AttributeEncoder, s *Service, full, reply bool) {
	putServiceKey(ae, s.ServiceKey)
	if !full {
		return
	}
	ae.String(svcAttrSchedName, s.SchedName)
	if s.PEName != "" {
		ae.String(svcAttrPEName, s.PEName)
	}
	mask := s.FlagsMask
	if mask == 0 {
		mask = ^uint32(0)
	}
	flags := binary.NativeEndian.AppendUint32(nil, s.Flags)
	ae.Bytes(svcAttrFlags, binary.NativeEndian.AppendUint32(flags, mask))
	ae.Uint32(svcAttrTimeout, s.Timeout)
	ae.Bytes(svcAttrNetmask, netmaskBytes(s.Family(), s.Netmask))
	if reply {
		putStats(ae, svcAttrStats, svcAttrStats64, &s.Stats)
	}
}

// putDest writes a destination. Requests carry, in ipvsadm 1.31's order, the family,
// address and port, and with full the forwarding method, weight, tunnel settings and
// thresholds. Replies (reply true) follow ip_vs_genl_fill_dest's order and add the
// connection counts and counters.
func putDest(ae *netlink.AttributeEncoder, d *Dest, full, reply bool) {
	if !reply {
		ae.Uint16(destAttrAddrFamily, d.Family())
	}
	ae.Bytes(destAttrAddr, addr16(d.Addr))
	ae.Bytes(destAttrPort, be16(d.Port))
	if !full && !reply {
		return
	}
	ae.Uint32(destAttrFwdMethod, d.FwdMethod&FwdMask)
	ae.Uint32(destAttrWeight, uint32(d.Weight))
	ae.Uint8(destAttrTunType, d.TunType)
	ae.Bytes(destAttrTunPort, be16(d.TunPort))
	ae.Uint16(destAttrTunFlags, d.TunFlags)
	ae.Uint32(destAttrUThresh, d.UThreshold)
	ae.Uint32(destAttrLThresh, d.LThreshold)
	if !reply {
		return
	}
	ae.Uint32(destAttrActiveConns, d.ActiveConns)
	ae.Uint32(destAttrInactConns, d.InactConns)
	ae.Uint32(destAttrPersistConns, d.PersistConns)
	ae.Uint16(destAttrAddrFamily, d.Family())
	putStats(ae, destAttrStats, destAttrStats64, &d.Stats)
}

// putStats writes counters as the kernel does: the 32-bit form (ip_vs_genl_fill_stats)
// and, unless s.From32, the 64-bit form (ip_vs_genl_fill_stats64).
func putStats(ae *netlink.AttributeEncoder, attr32, attr64 uint16, s *Stats) {
	ae.Nested(attr32, func(n *netlink.AttributeEncoder) error {
		n.Uint32(statsAttrConns, uint32(s.Conns))
		n.Uint32(statsAttrInPkts, uint32(s.InPkts))
		n.Uint32(statsAttrOutPkts, uint32(s.OutPkts))
		n.Uint64(statsAttrInBytes, s.InBytes)
		n.Uint64(statsAttrOutBytes, s.OutBytes)
		n.Uint32(statsAttrCPS, uint32(s.CPS))
		n.Uint32(statsAttrInPPS, uint32(s.InPPS))
		n.Uint32(statsAttrOutPPS, uint32(s.OutPPS))
		n.Uint32(statsAttrInBPS, uint32(s.InBPS))
		n.Uint32(statsAttrOutBPS, uint32(s.OutBPS))
		return nil
	})
	if s.From32 {
		return
	}
	ae.Nested(attr64, func(n *netlink.AttributeEncoder) error {
		for i, v := range []uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes,
			s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
			n.Uint64(uint16(statsAttrConns+i), v)
		}
		return nil
	})
}

// putDaemon writes a sync daemon as ipvsadm 1.31 does: state, interface and sync ID, then
// the optional settings that are set. With stateOnly, only the state (all that
// IPVS_CMD_DEL_DAEMON reads).
func putDaemon(ae *netlink.AttributeEncoder, d *Daemon, stateOnly bool) {
	ae.Uint32(daemonAttrState, d.State)
	if stateOnly {
		return
	}
	ae.String(daemonAttrMCastIfn, d.MCastIfn)
	ae.Uint32(daemonAttrSyncID, d.SyncID)
	if d.SyncMaxLen != 0 {
		ae.Uint16(daemonAttrSyncMaxLen, d.SyncMaxLen)
	}
	if d.MCastPort != 0 {
		ae.Uint16(daemonAttrMCastPort, d.MCastPort)
	}
	if d.MCastTTL != 0 {
		ae.Uint8(daemonAttrMCastTTL, d.MCastTTL)
	}
	switch g := d.MCastGroup; {
	case g.Is4():
		v := g.As4()
		ae.Bytes(daemonAttrMCastGroup, v[:])
	case g.IsValid():
		v := g.As16()
		ae.Bytes(daemonAttrMCastGrp6, v[:])
	}
}
