package config

import (
	"net/netip"
	"time"
)

// VRRP is the failover configuration: VRRP instances, the scripts they track, and sync
// groups (keepalived's vrrp_instance, vrrp_script, vrrp_sync_group).
type VRRP struct {
	Instances  []*VRRPInstance
	Scripts    []*VRRPScript
	SyncGroups []*VRRPSyncGroup
}

// VRRPInstance is one virtual router.
type VRRPInstance struct {
	Name string
	Pos  Pos
	// Version is 2 or 3 (keepalived's vrrp_version, default 2).
	Version int
	// InitialState is "MASTER" or "BACKUP" (state), or "" when the file does not say: then
	// keepalived derives it from the priority (255, the address owner: MASTER; else BACKUP).
	InitialState string
	Interface    string
	VRID         int // virtual_router_id, 1..255
	Priority     int // 1..255; 255 = address owner; default 100
	// AdvertInt is the advertisement interval (advert_int; v3 allows centiseconds).
	AdvertInt    time.Duration
	NoPreempt    bool
	PreemptDelay time.Duration
	// AuthType is "PASS" or "AH" (v2 only); AuthPass is the password (at most 8 bytes used).
	AuthType, AuthPass string
	// Addresses are the virtual IPs (virtual_ipaddress); Excluded are carried but not in the
	// advertisements (virtual_ipaddress_excluded).
	Addresses, Excluded []VIP
	// UnicastSrc and UnicastPeers switch the instance to unicast advertisements.
	UnicastSrc   netip.Addr
	UnicastPeers []netip.Addr
	// TrackInterfaces: the instance goes to FAULT when one is down.
	TrackInterfaces []string
	// TrackScripts name vrrp_scripts, each with an optional weight override (0 = script's).
	TrackScripts []TrackScript
	// Notify commands: run on entering MASTER, BACKUP, FAULT, and on every change (Notify,
	// with keepalived's arguments: "INSTANCE" NAME STATE PRIORITY).
	NotifyMaster, NotifyBackup, NotifyFault, NotifyStop, Notify string
	// GarpMasterDelay is the delay before the second burst of gratuitous ARPs after
	// becoming master (garp_master_delay, default 5 s).
	GarpMasterDelay time.Duration
	// SyncDaemon, when set, is the IPVS connection-sync daemon this instance drives (global
	// lvs_sync_daemon, or the instance's deprecated lvs_sync_daemon_interface).
	SyncDaemon *LVSSyncDaemon
}

// LVSSyncDaemon is keepalived's lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N]
// [ttl N] [group IP]: the instance runs the master daemon while MASTER and the backup daemon
// otherwise. The zero values of MaxLen, Port, TTL and Group leave the kernel's defaults.
type LVSSyncDaemon struct {
	// Interface is the multicast interface of both daemons.
	Interface string
	// SyncID is the sync ID (id, 0..255); -1 when not given: the instance's
	// virtual_router_id.
	SyncID int
	// MaxLen is the largest sync message payload (maxlen, 1..65507; kernel default: from
	// the interface's MTU, 1472 for 1500).
	MaxLen uint16
	// Port is the UDP port (port; kernel default 8848).
	Port uint16
	// TTL is the multicast TTL (ttl, 1..255; kernel default 1).
	TTL uint8
	// Group is the multicast group (group, IPv4 or IPv6; kernel default 224.0.0.81).
	Group netip.Addr
}

// VIP is a virtual IP address with its options.
type VIP struct {
	Prefix netip.Prefix // address and prefix length (default /32 or /128)
	Dev    string       // default: the instance's interface
	Label  string
	Scope  string
}

// TrackScript is a vrrp_script an instance tracks.
type TrackScript struct {
	Name string
	// Weight overrides the script's weight when HasWeight.
	Weight    int
	HasWeight bool
}

// VRRPScript is a tracking script (vrrp_script).
type VRRPScript struct {
	Name     string
	Pos      Pos
	Script   string
	Interval time.Duration // default 1 s
	Timeout  time.Duration // default: the interval
	// Weight is added to the priority while the script succeeds (> 0) or subtracted while it
	// fails (< 0); 0 means a failing script puts the instance in FAULT.
	Weight int
	// Rise and Fall are the successes and failures in a row that change the script's state.
	Rise, Fall int
}

// VRRPSyncGroup makes instances change state together.
type VRRPSyncGroup struct {
	Name      string
	Pos       Pos
	Instances []string
	// Notify commands, as for instances, with "GROUP" as the first argument.
	NotifyMaster, NotifyBackup, NotifyFault, Notify string
}
