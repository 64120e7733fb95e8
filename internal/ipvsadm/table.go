package ipvsadm

import (
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// DefaultConnTabSize is the kernel's connection hash table size (CONFIG_IP_VS_TAB_BITS=12),
// which ipvsadm prints as "(size=4096)".
const DefaultConnTabSize = 4096

// DefaultIPVSVersion is the IPVS version the kernel reports and ipvsadm prints.
const DefaultIPVSVersion = "1.2.1"

// Table is what ipvsadm's listings show: the kernel's view of the virtual-service table
// with its counters, the connection entries, the timeouts and the sync daemons. It is plain
// data that encoding/json handles (field names as in Go, addresses as text); Printer never
// modifies it.
type Table struct {
	// IPVSVersion is printed in the -L header; "" means DefaultIPVSVersion.
	IPVSVersion string `json:",omitempty"`
	// ConnTabSize is printed in the -L header; 0 means DefaultConnTabSize.
	ConnTabSize int `json:",omitempty"`
	// Services in the kernel's order (what --nosort shows); listings sort them.
	Services []ServiceView
	// Conns are the connection entries (and persistence templates) in the kernel's order.
	Conns    []ConnView `json:",omitempty"`
	Timeouts lb.Timeouts
	// Daemons are the running sync daemons, master first.
	Daemons []DaemonView `json:",omitempty"`
}

// ServiceView is a virtual service as the kernel reports it.
type ServiceView struct {
	lb.ServiceKey
	Scheduler string
	Flags     lb.SvcFlags `json:",omitempty"`
	Timeout   uint32      `json:",omitempty"`
	Netmask   uint32
	PE        string `json:",omitempty"`
	Stats     lb.Stats
	Rates     lb.Rates
	// Reals in the kernel's order: newest first.
	Reals []RealView
}

// RealView is a real server as the kernel reports it, with its connection counters.
type RealView struct {
	lb.Real
	ActiveConn  uint32
	InActConn   uint32
	PersistConn uint32
	Stats       lb.Stats
	Rates       lb.Rates
}

// ConnView is one connection entry, as /proc/net/ip_vs_conn lists it (ipvsadm -c reads that
// file). A persistence template of a fwmark service has Protocol 0 ("IP") and the mark as
// its virtual address (0.0.0.1 for mark 1).
type ConnView struct {
	Protocol lb.Protocol
	Client   netip.AddrPort
	Virtual  netip.AddrPort
	Dest     netip.AddrPort
	State    string // "ESTABLISHED", "TIME_WAIT", "ASSURED", ...
	Expires  uint32 // seconds left
	PEName   string `json:",omitempty"`
	PEData   string `json:",omitempty"`
}

// DaemonView is a running sync daemon as the kernel reports it. Zero SyncMaxLen, MCastPort,
// MCastTTL and an invalid MCastGroup are not printed.
type DaemonView struct {
	State      DaemonState
	MCastIfn   string
	SyncID     uint8
	SyncMaxLen uint16     `json:",omitempty"`
	MCastGroup netip.Addr `json:",omitzero"`
	MCastPort  uint16     `json:",omitempty"`
	MCastTTL   uint8      `json:",omitempty"`
}

// ViewOfService returns the view of s with zero counters and its reals in the kernel's
// order (newest first).
func ViewOfService(s *lb.Service) ServiceView {
	v := ServiceView{
		ServiceKey: s.ServiceKey, Scheduler: s.Scheduler, Flags: s.Flags,
		Timeout: s.Timeout, Netmask: s.Netmask, PE: s.PE,
	}
	for _, r := range s.KernelOrder() {
		v.Reals = append(v.Reals, RealView{Real: r})
	}
	return v
}

// Service returns the lb.Service the view describes, reals oldest first.
func (v *ServiceView) Service() *lb.Service {
	s := &lb.Service{
		ServiceKey: v.ServiceKey, Scheduler: v.Scheduler, Flags: v.Flags,
		Timeout: v.Timeout, Netmask: v.Netmask, PE: v.PE,
	}
	for i := len(v.Reals) - 1; i >= 0; i-- {
		s.Reals = append(s.Reals, v.Reals[i].Real)
	}
	return s
}

// Find returns the service with key k, or nil. A fwmark key matches by mark and family.
func (t *Table) Find(k lb.ServiceKey) *ServiceView {
	for i := range t.Services {
		s := &t.Services[i]
		if k.IsFWMark() {
			if s.FWMark == k.FWMark && is6(s.Addr) == is6(k.Addr) {
				return s
			}
			continue
		}
		if !s.IsFWMark() && s.Protocol == k.Protocol && s.Addr == k.Addr && s.Port == k.Port {
			return s
		}
	}
	return nil
}

// is6 reports whether a is of the IPv6 family (IPv4-mapped addresses too, as the kernel has
// them with AF_INET6).
func is6(a netip.Addr) bool { return a.Is6() }
