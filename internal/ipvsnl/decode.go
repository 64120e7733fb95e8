package ipvsnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// decodeAddr reads an address attribute (4 or 16 bytes) of family af.
func decodeAddr(b []byte, af uint16) (netip.Addr, error) {
	switch {
	case af == AFInet6 && len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	case af != AFInet6 && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of family %d in %d bytes", af, len(b))
}

func decodeBE16(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("16-bit value in %d bytes", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

// decodeService reads the attributes nested in IPVS_CMD_ATTR_SERVICE. The family comes
// first in every message the kernel and ipvsadm send, but the address is decoded only
// once all attributes are read, so that the order does not matter.
func decodeService(ad *netlink.AttributeDecoder) (*Service, error) {
	s := &Service{}
	var addr, mask []byte
	var st statsPair
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			s.AF = ad.Uint16()
		case svcAttrProtocol:
			s.Protocol = ad.Uint16()
		case svcAttrAddr:
			addr = ad.Bytes()
		case svcAttrPort:
			ad.Do(func(b []byte) (err error) { s.Port, err = decodeBE16(b); return err })
		case svcAttrFWMark:
			s.FWMark = ad.Uint32()
		case svcAttrSchedName:
			s.SchedName = ad.String()
		case svcAttrPEName:
			s.PEName = ad.String()
		case svcAttrFlags:
			ad.Do(func(b []byte) error {
				if len(b) != 8 {
					return fmt.Errorf("service flags in %d bytes", len(b))
				}
				s.Flags = binary.NativeEndian.Uint32(b[:4])
				if m := binary.NativeEndian.Uint32(b[4:]); m != ^uint32(0) {
					s.FlagsMask = m
				}
				return nil
			})
		case svcAttrTimeout:
			s.Timeout = ad.Uint32()
		case svcAttrNetmask:
			mask = ad.Bytes()
		case svcAttrStats:
			ad.Nested(st.decode32)
		case svcAttrStats64:
			ad.Nested(st.decode64)
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	if s.AF == 0 {
		return nil, fmt.Errorf("service without address family")
	}
	s.Stats = st.best()
	if addr != nil {
		a, err := decodeAddr(addr, s.AF)
		if err != nil {
			return nil, fmt.Errorf("service address: %w", err)
		}
		s.Addr = a
	}
	if mask != nil {
		if len(mask) != 4 {
			return nil, fmt.Errorf("service netmask in %d bytes", len(mask))
		}
		if s.AF == AFInet6 {
			s.Netmask = binary.NativeEndian.Uint32(mask)
		} else {
			s.Netmask = binary.BigEndian.Uint32(mask)
		}
	}
	return s, nil
}

// decodeDest reads the attributes nested in IPVS_CMD_ATTR_DEST. Without
// IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 3.18) the address is of family svcAF.
func decodeDest(ad *netlink.AttributeDecoder, svcAF uint16) (*Dest, error) {
	d := &Dest{}
	var addr []byte
	var st statsPair
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			addr = ad.Bytes()
		case destAttrPort:
			ad.Do(func(b []byte) (err error) { d.Port, err = decodeBE16(b); return err })
		case destAttrFwdMethod:
			d.FwdMethod = ad.Uint32() & FwdMask
		case destAttrWeight:
			d.Weight = int32(ad.Uint32())
		case destAttrUThresh:
			d.UThreshold = ad.Uint32()
		case destAttrLThresh:
			d.LThreshold = ad.Uint32()
		case destAttrActiveConns:
			d.ActiveConns = ad.Uint32()
		case destAttrInactConns:
			d.InactConns = ad.Uint32()
		case destAttrPersistConns:
			d.PersistConns = ad.Uint32()
		case destAttrAddrFamily:
			d.AF = ad.Uint16()
		case destAttrTunType:
			d.TunType = ad.Uint8()
		case destAttrTunPort:
			ad.Do(func(b []byte) (err error) { d.TunPort, err = decodeBE16(b); return err })
		case destAttrTunFlags:
			d.TunFlags = ad.Uint16()
		case destAttrStats:
			ad.Nested(st.decode32)
		case destAttrStats64:
			ad.Nested(st.decode64)
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	d.Stats = st.best()
	if d.AF == 0 {
		d.AF = svcAF
	}
	if addr != nil {
		a, err := decodeAddr(addr, d.AF)
		if err != nil {
			return nil, fmt.Errorf("destination address: %w", err)
		}
		d.Addr = a
	}
	return d, nil
}

// statsPair collects both forms of a counters attribute; the 64-bit form wins whatever
// the order of the two in the message.
type statsPair struct {
	s32, s64 *Stats
}

func (p *statsPair) decode32(ad *netlink.AttributeDecoder) error {
	p.s32 = &Stats{}
	return p.s32.decode(ad, false)
}

func (p *statsPair) decode64(ad *netlink.AttributeDecoder) error {
	p.s64 = &Stats{}
	return p.s64.decode(ad, true)
}

// best returns the 64-bit counters, else the 32-bit ones, else zero counters.
func (p *statsPair) best() Stats {
	switch {
	case p.s64 != nil:
		return *p.s64
	case p.s32 != nil:
		return *p.s32
	}
	return Stats{}
}

// decode reads IPVS_STATS_ATTR_* counters: all 64-bit in the STATS64 form; in the 32-bit
// form, bytes are 64-bit and the rest 32-bit.
func (s *Stats) decode(ad *netlink.AttributeDecoder, is64 bool) error {
	var v Stats
	for ad.Next() {
		t := ad.Type()
		if t < statsAttrConns || t > statsAttrOutBPS {
			continue // IPVS_STATS_ATTR_PAD
		}
		var x uint64
		if is64 || t == statsAttrInBytes || t == statsAttrOutBytes {
			x = ad.Uint64()
		} else {
			x = uint64(ad.Uint32())
		}
		*v.field(t) = x
	}
	if err := ad.Err(); err != nil {
		return err
	}
	v.From32 = !is64
	*s = v
	return nil
}

func (s *Stats) field(t uint16) *uint64 {
	return [...]*uint64{&s.Conns, &s.InPkts, &s.OutPkts, &s.InBytes, &s.OutBytes,
		&s.CPS, &s.InPPS, &s.OutPPS, &s.InBPS, &s.OutBPS}[t-statsAttrConns]
}

// decodeDaemon reads the attributes nested in IPVS_CMD_ATTR_DAEMON.
func decodeDaemon(ad *netlink.AttributeDecoder) (*Daemon, error) {
	d := &Daemon{}
	for ad.Next() {
		switch ad.Type() {
		case daemonAttrState:
			d.State = ad.Uint32()
		case daemonAttrMCastIfn:
			d.MCastIfn = ad.String()
		case daemonAttrSyncID:
			d.SyncID = ad.Uint32()
		case daemonAttrSyncMaxLen:
			d.SyncMaxLen = ad.Uint16()
		case daemonAttrMCastPort:
			d.MCastPort = ad.Uint16()
		case daemonAttrMCastTTL:
			d.MCastTTL = ad.Uint8()
		case daemonAttrMCastGroup:
			ad.Do(func(b []byte) (err error) { d.MCastGroup, err = decodeAddr(b, AFInet); return err })
		case daemonAttrMCastGrp6:
			ad.Do(func(b []byte) (err error) { d.MCastGroup, err = decodeAddr(b, AFInet6); return err })
		}
	}
	return d, ad.Err()
}
