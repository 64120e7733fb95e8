package lb

import (
	"fmt"
)

// ValidateService checks a service's own fields (not its reals) for what the kernel or
// ipvsadm refuses. The returned error wraps one of this package's sentinel errors.
//
//   - a non-fwmark service needs protocol TCP, UDP or SCTP (ErrProtocol) and a valid address
//     (ErrInvalid; an IPv4-mapped IPv6 address is an IPv6 VIP, as the kernel takes it); port 0
//     needs persistence (ErrZeroPort);
//   - the scheduler must be known to cat (ErrNoScheduler), as must a named PE;
//   - persistence needs a timeout of at least 1 s (ErrInvalid);
//   - an IPv6 netmask is a prefix length 1..128 (ErrInvalid); any IPv4 mask is accepted, as
//     the kernel does (ipvsadm takes 255.0.255.0);
//   - only Persistent, OnePacket and the three scheduler flags may be set (ErrInvalid).
func ValidateService(s *Service, cat Catalog) error {
	if s.IsFWMark() {
		if s.Protocol != 0 || s.Port != 0 {
			return fmt.Errorf("fwmark service with protocol or port: %w", ErrInvalid)
		}
	} else {
		switch s.Protocol {
		case TCP, UDP, SCTP:
		default:
			return fmt.Errorf("protocol %d: %w", s.Protocol, ErrProtocol)
		}
		if !s.Addr.IsValid() || s.Addr.Zone() != "" {
			return fmt.Errorf("virtual address %v: %w", s.Addr, ErrInvalid)
		}
		if s.Port == 0 && !s.Persistent() {
			return ErrZeroPort
		}
	}
	if s.Scheduler == "" || len(s.Scheduler) > MaxSchedNameLen || (cat.Scheduler != nil && !cat.Scheduler(s.Scheduler)) {
		return fmt.Errorf("scheduler %q: %w", s.Scheduler, ErrNoScheduler)
	}
	if s.PE != "" && (len(s.PE) > MaxPENameLen || (cat.PE != nil && !cat.PE(s.PE))) {
		return fmt.Errorf("persistence engine %q: %w", s.PE, ErrNoScheduler)
	}
	if s.Flags&^(Persistent|OnePacket|SchedFlagsMask) != 0 {
		return fmt.Errorf("service flags %#x: %w", uint32(s.Flags), ErrInvalid)
	}
	if s.Persistent() && s.Timeout == 0 {
		return fmt.Errorf("persistence timeout 0: %w", ErrInvalid)
	}
	if s.Is6() && (s.Netmask < 1 || s.Netmask > 128) {
		return fmt.Errorf("IPv6 persistence prefix length %d: %w", s.Netmask, ErrInvalid)
	}
	return nil
}

// ValidateReal checks real server r of service s. The returned
// error wraps one of this package's sentinel errors:
//
//   - a valid address (ErrInvalid), of the service's family unless r tunnels (ErrMixedFamily);
//   - a known forwarding method (ErrInvalid); tunnel options only with Tunnel
//     (ErrTunnelOptions); a GUE tunnel needs a port (ErrInvalid);
//   - weight >= 0 and LThreshold <= UThreshold (ErrRange), as the kernel checks: a lower
//     threshold without an upper one is out of range too.
func ValidateReal(s *Service, r *Real) error {
	if !r.Addr.IsValid() || r.Addr.Zone() != "" {
		return fmt.Errorf("real address %v: %w", r.Addr, ErrInvalid)
	}
	if r.Addr.Is4() != !s.Is6() && r.Forward != Tunnel {
		return ErrMixedFamily
	}
	switch r.Forward {
	case Masq, Local, Route, FullNAT:
		if r.TunType != TunIPIP || r.TunPort != 0 || r.TunFlags != 0 {
			return ErrTunnelOptions
		}
	case Tunnel:
		switch r.TunType {
		case TunIPIP, TunGRE:
			if r.TunPort != 0 {
				return fmt.Errorf("tunnel port with %s: %w", r.TunType, ErrInvalid)
			}
		case TunGUE:
			if r.TunPort == 0 {
				return fmt.Errorf("gue tunnel without a port: %w", ErrInvalid)
			}
		default:
			return fmt.Errorf("tunnel type %d: %w", r.TunType, ErrInvalid)
		}
		if r.TunFlags&^(TunCsum|TunRemCsum) != 0 || r.TunFlags == TunCsum|TunRemCsum {
			return fmt.Errorf("tunnel flags %#x: %w", uint16(r.TunFlags), ErrInvalid)
		}
	default:
		return fmt.Errorf("forwarding method %d: %w", r.Forward, ErrInvalid)
	}
	if r.Weight < 0 {
		return fmt.Errorf("weight %d: %w", r.Weight, ErrRange)
	}
	if r.LThreshold > r.UThreshold {
		return fmt.Errorf("lower threshold %d above upper threshold %d: %w", r.LThreshold, r.UThreshold, ErrRange)
	}
	return nil
}
