package vrrp

import (
	"fmt"
	"time"
)

// State is the state of an instance or a sync group (RFC 5798 section 6.4, plus
// keepalived's FAULT).
type State int

// States. Stop appears only in notifications: it is sent once per instance and group when
// the Router shuts down (keepalived's notify_stop).
const (
	Init   State = iota // not started, or waiting for its first tracking results
	Backup              // listening; takes over when the master is silent
	Master              // owns the virtual addresses and advertises
	Fault               // a tracked interface is down or a weight-0 track script fails
	Stop                // shut down (notifications only)
)

var stateNames = [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOP"}

// String returns keepalived's name of the state: INIT, BACKUP, MASTER, FAULT, STOP.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText encodes the state as its name, for the API.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Notification is a state change for Actions.Notify: keepalived's notify scripts get
// ("INSTANCE"|"GROUP", Name, State, Priority) and the state-specific notify_master,
// notify_backup, notify_fault or notify_stop runs as well.
type Notification struct {
	// Group is true for a vrrp_sync_group, false for a vrrp_instance.
	Group bool
	Name  string
	State State
	// Priority is the instance's effective priority (0 for groups).
	Priority int
}

// Reasons an advertisement is ignored, the keys of Counters.Ignored. Each of the first
// twelve is one of keepalived 2.2.7's vrrp_check_packet refusals (the log text it writes
// is in the comment); the last three are what the dispatcher and vrrp_state_backup
// drop.
const (
	ReasonMalformed   = "malformed"          // truncated, count/length, type, version 0/1/4+, auth type > 2
	ReasonChecksum    = "checksum"           // "Invalid VRRPv2/VRRPv3 checksum"
	ReasonVRID        = "vrid_mismatch"      // another virtual router on the link
	ReasonTTL         = "ttl"                // multicast advert with TTL/hop limit != 255
	ReasonVersion     = "version_mismatch"   // "wrong version"
	ReasonAuthType    = "auth_type_mismatch" // "received a %d auth, expecting %d"
	ReasonAuthFailure = "auth_failure"       // "received an invalid passwd"
	ReasonInterval    = "interval_mismatch"  // VRRPv2 "advertisement interval mismatch"
	ReasonAddrCount   = "address_count"      // "received an unexpected ip number count"
	ReasonAddrList    = "address_list"       // a virtual address missing from the advert
	ReasonCast        = "cast_mismatch"      // multicast advert on a unicast instance or vice versa
	ReasonNotPeer     = "not_a_peer"         // unicast advert from an address not in unicast_peer
	ReasonNotRunning  = "not_running"        // received in INIT or FAULT
	ReasonLowerPrio   = "lower_priority"     // backup discards a preemptable lower-priority advert
)

// Counters are an instance's statistics (keepalived's vrrp_stats).
type Counters struct {
	// Received counts adverts that passed the checks (advert_rcvd).
	Received uint64
	// Sent counts adverts sent, once per advert whatever the number of unicast peers.
	Sent          uint64
	SendErrors    uint64
	BecomeMaster  uint64
	ReleaseMaster uint64
	PriZeroRcvd   uint64
	PriZeroSent   uint64
	// Ignored counts adverts dropped, by reason (the Reason constants).
	Ignored map[string]uint64
}

// InstanceStatus is a snapshot of an instance for the API.
type InstanceStatus struct {
	Name      string
	State     State
	WantState State
	// Priority is the effective priority; BasePriority the configured one.
	Priority, BasePriority int
	// MasterAddr and MasterPriority are the last master heard (ours when master).
	MasterAddr     string
	MasterPriority int
	// AdvertInt is the configured interval; MasterAdvertInt the one in use (VRRPv3
	// backups learn it from the master).
	AdvertInt, MasterAdvertInt time.Duration
	// Faults counts the tracked interfaces and weight-0 scripts that are down.
	Faults         int
	Group          string
	LastTransition time.Time
	Counters       Counters
}

// GroupStatus is a snapshot of a sync group.
type GroupStatus struct {
	Name    string
	State   State
	Members []string
}

// Status is the Router's snapshot.
type Status struct {
	Instances []InstanceStatus
	Groups    []GroupStatus
}
