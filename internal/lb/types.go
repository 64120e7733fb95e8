package lb

import (
	"fmt"
	"net/netip"
	"strings"
)

// Protocol is an IP protocol number of a virtual service.
type Protocol uint8

// The protocols a virtual service can have. Fwmark services have protocol 0.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns the protocol as ipvsadm lists it ("TCP", "UDP", "SCTP"), or "FWM" for 0.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	case 0:
		return "FWM"
	}
	return fmt.Sprintf("proto(%d)", uint8(p))
}

// Forward is a forwarding method, numbered as the kernel's IP_VS_CONN_F_* forwarding values.
// FullNAT has no kernel number; it uses a value the kernel never sends.
type Forward uint8

// Forwarding methods. The zero value is Masq, as in the kernel; ipvsadm's default for a new
// real server is Route (-g), which the CLI and config adapters apply.
const (
	Masq    Forward = 0 // NAT: -m
	Local   Forward = 1 // the real server is an address of the director itself
	Tunnel  Forward = 2 // IP tunnel: -i
	Route   Forward = 3 // direct routing: -g
	FullNAT Forward = 5 // source and destination NAT (GoLVS engines only)
)

// String returns the forwarding method as ipvsadm -L prints it.
func (f Forward) String() string {
	switch f {
	case Masq:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	case FullNAT:
		return "FullNat"
	}
	return fmt.Sprintf("fwd(%d)", uint8(f))
}

// TunType is the encapsulation of a tunnel (-i) real server (kernel IP_VS_CONN_F_TUNNEL_TYPE_*).
type TunType uint8

// Tunnel types.
const (
	TunIPIP TunType = 0
	TunGUE  TunType = 1
	TunGRE  TunType = 2
)

// String returns the tunnel type as ipvsadm names it.
func (t TunType) String() string {
	switch t {
	case TunIPIP:
		return "ipip"
	case TunGUE:
		return "gue"
	case TunGRE:
		return "gre"
	}
	return fmt.Sprintf("tun(%d)", uint8(t))
}

// TunFlags are the tunnel checksum flags (kernel IP_VS_TUNNEL_ENCAP_FLAG_*).
type TunFlags uint16

// Tunnel checksum flags. NoCsum is the zero value.
const (
	TunNoCsum  TunFlags = 0
	TunCsum    TunFlags = 1 << 0
	TunRemCsum TunFlags = 1 << 1
)

// SvcFlags are the flags of a virtual service, with the kernel's IP_VS_SVC_F_* bit values.
type SvcFlags uint32

// Service flags. Sched1..3 mean different things to different schedulers: for sh and mh,
// Sched1 is "fallback" and Sched2 is "port".
const (
	Persistent SvcFlags = 0x0001
	OnePacket  SvcFlags = 0x0004
	Sched1     SvcFlags = 0x0008
	Sched2     SvcFlags = 0x0010
	Sched3     SvcFlags = 0x0020
)

// SchedFlagsMask selects the scheduler flags of SvcFlags.
const SchedFlagsMask = Sched1 | Sched2 | Sched3

// Defaults and limits that ipvsadm and the kernel apply.
const (
	DefaultScheduler = "wlc"
	// DefaultPersistTimeout is what ipvsadm 1.31 sends for -p without a value. Its man page
	// says 300 s; its code (and the real kernel's listing) says 360 s.
	DefaultPersistTimeout = 360
	// DefaultWeight is the weight of a real server added without -w.
	DefaultWeight = 1
	// MaxSchedNameLen is IP_VS_SCHEDNAME_MAXLEN - 1, the longest scheduler name the kernel takes.
	MaxSchedNameLen = 15
	// MaxPENameLen is IP_VS_PENAME_MAXLEN - 1.
	MaxPENameLen = 15
)

// ServiceKey identifies a virtual service: protocol + VIP + port, or a firewall mark. For a
// fwmark service Protocol is 0, Port is 0 and Addr is the unspecified address of the service's
// family (0.0.0.0 or ::), which carries the address family.
type ServiceKey struct {
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// IsFWMark reports whether k is a firewall-mark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// Is6 reports whether the service is IPv6 (an IPv4-mapped address is IPv6, as for the kernel).
func (k ServiceKey) Is6() bool { return k.Addr.Is6() }

// String formats k as ipvsadm's save format names a service: "-t 10.0.0.1:80",
// "-u [fd00::1]:53", "--sctp-service 10.0.0.1:3868" or "-f 5" (IPv6 fwmark adds " -6").
func (k ServiceKey) String() string {
	if k.IsFWMark() {
		if k.Is6() {
			return fmt.Sprintf("-f %d -6", k.FWMark)
		}
		return fmt.Sprintf("-f %d", k.FWMark)
	}
	opt := "-t"
	switch k.Protocol {
	case UDP:
		opt = "-u"
	case SCTP:
		opt = "--sctp-service"
	}
	return opt + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// FWMarkKey returns the key of fwmark service mark; v6 selects the IPv6 family.
func FWMarkKey(mark uint32, v6 bool) ServiceKey {
	a := netip.IPv4Unspecified()
	if v6 {
		a = netip.IPv6Unspecified()
	}
	return ServiceKey{Addr: a, FWMark: mark}
}

// Service is a virtual service and its real servers.
type Service struct {
	ServiceKey
	// Scheduler is the scheduler's name ("wlc", "rr", ...).
	Scheduler string
	// Flags holds Persistent, OnePacket and the scheduler flags.
	Flags SvcFlags
	// Timeout is the persistence timeout in seconds; meaningful when Flags has Persistent.
	Timeout uint32
	// Netmask is the persistence granularity in the kernel's form: for IPv4 a 32-bit mask
	// (0xffffffff for /32, ipvsadm's default), for IPv6 a prefix length (128 by default).
	Netmask uint32
	// PE is the persistence engine's name ("sip"), empty for none.
	PE string
	// Reals are the real servers in the order they were added (oldest first). The kernel keeps
	// them newest first; KernelOrder returns that order.
	Reals []Real
}

// Real is a real server (a destination) of a virtual service.
type Real struct {
	Addr netip.Addr
	// Port is the real's port. 0 means the port the client connected to (fwmark and port-0
	// services, or a masq real given without a port); ipvsadm gives route and tunnel reals of
	// a non-fwmark service the service's port, which the model keeps as given.
	Port    uint16
	Forward Forward
	// Weight is 0 (quiesced: no new connections) or more.
	Weight int32
	// UThreshold is the upper connection threshold (-x); 0 means none.
	UThreshold uint32
	// LThreshold is the lower connection threshold (-y); 0 means the kernel's 3/4 rule.
	LThreshold uint32
	TunType    TunType
	TunPort    uint16 // GUE destination port, in host order
	TunFlags   TunFlags
}

// AddrPort returns the real's address and port.
func (r Real) AddrPort() netip.AddrPort { return netip.AddrPortFrom(r.Addr, r.Port) }

// Persistent reports whether the service has persistence.
func (s *Service) Persistent() bool { return s.Flags&Persistent != 0 }

// FindReal returns the index of the real with address addr and port, or -1.
func (s *Service) FindReal(addr netip.Addr, port uint16) int {
	for i := range s.Reals {
		if s.Reals[i].Addr == addr && s.Reals[i].Port == port {
			return i
		}
	}
	return -1
}

// KernelOrder returns the reals in the order the kernel keeps them: newest first.
func (s *Service) KernelOrder() []Real {
	out := make([]Real, len(s.Reals))
	for i, r := range s.Reals {
		out[len(s.Reals)-1-i] = r
	}
	return out
}

// Clone returns a deep copy of s.
func (s *Service) Clone() *Service {
	c := *s
	c.Reals = append([]Real(nil), s.Reals...)
	return &c
}

// SchedFlagNames returns the service's scheduler flags as ipvsadm prints them for its
// scheduler ("sh-fallback,sh-port", "flag-1"), or "" when there are none.
func (s *Service) SchedFlagNames() string {
	var names []string
	for i, f := range []SvcFlags{Sched1, Sched2, Sched3} {
		if s.Flags&f == 0 {
			continue
		}
		names = append(names, SchedFlagName(s.Scheduler, i+1))
	}
	return strings.Join(names, ",")
}

// SchedFlagName is the name ipvsadm gives to scheduler flag n (1..3) of scheduler sched.
func SchedFlagName(sched string, n int) string {
	if sched == "sh" || sched == "mh" {
		switch n {
		case 1:
			return sched + "-fallback"
		case 2:
			return sched + "-port"
		}
	}
	return fmt.Sprintf("flag-%d", n)
}

// ParseSchedFlags reads scheduler flags as ipvsadm's parse_sched_flags reads -b:
// comma-separated flag-1..flag-3, and sh-/mh-fallback and -port, which only their own
// scheduler takes. Empty names (",,") are skipped. The error's text is ipvsadm's
// ("invalid scheduler flag `x'", "incompatible scheduler flag `x'").
func ParseSchedFlags(sched, arg string) (SvcFlags, error) {
	var flags SvcFlags
	for _, f := range strings.Split(arg, ",") {
		want := ""
		switch f {
		case "":
			continue
		case "flag-1":
			flags |= Sched1
		case "flag-2":
			flags |= Sched2
		case "flag-3":
			flags |= Sched3
		case "sh-fallback", "mh-fallback":
			flags |= Sched1
			want = f[:2]
		case "sh-port", "mh-port":
			flags |= Sched2
			want = f[:2]
		default:
			return 0, fmt.Errorf("invalid scheduler flag `%s'", f)
		}
		if want != "" && sched != want {
			return 0, fmt.Errorf("incompatible scheduler flag `%s'", f)
		}
	}
	return flags, nil
}
