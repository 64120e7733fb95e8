package ipvs

import (
	"log/slog"

	"github.com/golvs/golvs/internal/ipvsnl"
)

// Options configure the ipvs engine. The zero value manages the IPVS table of the caller's
// network namespace, leaves services it did not install alone, and removes its own at
// Close.
type Options struct {
	// NetNS is the path of the network namespace whose table the engine manages
	// (/run/netns/NAME, /proc/PID/ns/net); empty: the caller's. NetNSFD is an open
	// descriptor of one instead (used when positive). See ipvsnl.Options.
	NetNS   string
	NetNSFD int
	// OwnTable makes the engine own the whole table: the first Apply removes the services
	// found in the kernel at New that its state does not name. Default false: only the
	// services of applied states are managed (keepalived's behaviour).
	OwnTable bool
	// KeepOnClose leaves the engine's services and the sync daemons it started in the
	// kernel at Close. Default false: Close removes them.
	KeepOnClose bool
	// HasModule reports whether the kernel can use module name ("ip_vs_rr",
	// "ip_vs_pe_sip"); Apply refuses schedulers and persistence engines without one.
	// Default: a probe of /sys/module and /lib/modules/$(uname -r)/modules.{builtin,dep};
	// when neither list can be read, every name is accepted and the kernel decides.
	HasModule func(name string) bool
	// ConnFile is the connection table Conns reads, in the engine's namespace. Default
	// /proc/thread-self/net/ip_vs_conn.
	ConnFile string
	// Client is used instead of opening one (NetNS and NetNSFD are then ignored); the
	// engine closes it. Tests pass a fake kernel's client (package ipvsnltest).
	Client *ipvsnl.Client
	// Logger receives one Debug line per command the engine sends. Default: discard.
	Logger *slog.Logger
}

// defaultConnFile is the connection table of the reading thread's network namespace.
const defaultConnFile = "/proc/thread-self/net/ip_vs_conn"
