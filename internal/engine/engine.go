package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// ErrNotSupported is wrapped by every error an engine returns for a feature it lacks (a
// forwarding method, fwmark services, the sync daemon). The wrapping error names the feature
// and, where one exists, the engine that has it.
var ErrNotSupported = errors.New("not supported")

// NotSupported returns an error wrapping ErrNotSupported: "FEATURE needs ALTERNATIVE".
func NotSupported(feature, alternative string) error {
	if alternative == "" {
		return fmt.Errorf("%s: %w", feature, ErrNotSupported)
	}
	return fmt.Errorf("%s needs %s: %w", feature, alternative, ErrNotSupported)
}

// Engine is a data plane that forwards the virtual services of an lb.State.
//
// Methods may be called from any goroutine; an engine serialises them itself.
type Engine interface {
	// Name returns the engine's name as lvsd's --engine flag spells it.
	Name() string

	// Apply makes the data plane forward exactly as st says, computing the difference from
	// what it forwards now: services and reals that did not change keep their connections,
	// counters and scheduler position. Applying the same state twice changes nothing.
	//
	// Before changing anything, Apply checks st against what the engine can do and returns
	// an error wrapping ErrNotSupported (naming the feature and the engine that has it) if
	// any service needs a feature it lacks; the data plane is then untouched. An error found
	// while applying (an address in use, a kernel refusal) may leave st partly applied: the
	// caller then applies its previous state again. st must not be modified by the caller
	// after the call, nor by the engine.
	Apply(st *lb.State) error

	// Counters returns the live counters of every service and real server the engine
	// forwards, services in the order of the last applied state and reals in the kernel's
	// order (newest first).
	Counters() ([]ServiceCounters, error)

	// Conns returns the connection entries and persistence templates the engine holds.
	Conns() ([]Conn, error)

	// Zero resets the traffic counters and rates of service k, or of every service when k is
	// nil (ipvsadm -Z). Connection counts are not counters and stay. It fails wrapping
	// lb.ErrNoService when k is not forwarded.
	Zero(k *lb.ServiceKey) error

	// Close stops forwarding and releases everything the engine holds. Established
	// connections are closed. Close is idempotent.
	Close() error
}

// ServiceCounters are one virtual service's counters.
type ServiceCounters struct {
	Key   lb.ServiceKey
	Stats lb.Stats
	Rates lb.Rates
	Reals []RealCounters
}

// RealCounters are one real server's connection counts and counters.
type RealCounters struct {
	Addr netip.Addr
	Port uint16
	// Active, Inactive and Persist are ActiveConn, InActConn and PersistConn.
	Active, Inactive, Persist int32
	Stats                     lb.Stats
	Rates                     lb.Rates
}

// Conn is one connection entry or persistence template, as ipvsadm -L -c lists them.
type Conn struct {
	Protocol lb.Protocol
	Client   netip.AddrPort
	// Virtual is the address the client used; for a fwmark template the kernel shows the
	// mark as an IPv4 address (mark 1 = 0.0.0.1) with port 0.
	Virtual netip.AddrPort
	Real    netip.AddrPort
	// State is the IPVS state name (ESTABLISHED, TIME_WAIT, UDP, NONE for templates, ...).
	State string
	// Expires is the time left before the entry expires.
	Expires time.Duration
	// Template marks a persistence template.
	Template bool
	// PE and PEData are the persistence engine's name and data (SIP Call-ID), if any.
	PE, PEData string
}

// SyncDaemon is the configuration of an IPVS connection-sync daemon (ipvsadm
// --start-daemon). Zero SyncMaxLen, MCastPort and MCastTTL and an invalid MCastGroup leave the
// kernel's defaults.
type SyncDaemon struct {
	// Backup is false for the master daemon, true for the backup.
	Backup     bool       `json:"backup"`
	MCastIfn   string     `json:"mcast_ifn"`
	SyncID     uint8      `json:"syncid"`
	SyncMaxLen uint16     `json:"sync_maxlen,omitempty"`
	MCastGroup netip.Addr `json:"mcast_group,omitzero"`
	MCastPort  uint16     `json:"mcast_port,omitempty"`
	MCastTTL   uint8      `json:"mcast_ttl,omitempty"`
}

// Syncer is implemented by engines that run IPVS connection-sync daemons (the ipvs engine).
// The director refuses daemon commands with ErrNotSupported on other engines.
type Syncer interface {
	// StartDaemon starts a master or backup daemon. It fails wrapping lb.ErrServiceExists
	// when one of that role runs (ipvsadm: "Daemon has already run").
	StartDaemon(d SyncDaemon) error
	// StopDaemon stops the master (backup false) or backup daemon. It fails wrapping
	// lb.ErrNoService when none runs (ipvsadm: "No daemon is running").
	StopDaemon(backup bool) error
	// Daemons returns the running daemons, master first.
	Daemons() ([]SyncDaemon, error)
}
