package ipvsadm

import (
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// Kind is what a command does: one of ipvsadm's commands, or printing the help or version.
type Kind int

// The commands, in ipvsadm's order (its CMD_* numbers).
const (
	AddService    Kind = iota + 1 // -A, --add-service
	EditService                   // -E, --edit-service
	DeleteService                 // -D, --delete-service
	Flush                         // -C, --clear
	List                          // -L, -l, --list; also ipvsadm with no arguments
	AddServer                     // -a, --add-server
	DeleteServer                  // -d, --delete-server
	EditServer                    // -e, --edit-server
	SetTimeout                    // --set tcp tcpfin udp
	StartDaemon                   // --start-daemon master|backup
	StopDaemon                    // --stop-daemon master|backup
	Restore                       // -R, --restore
	Save                          // -S, --save
	Zero                          // -Z, --zero
	Help                          // -h, --help: print Printer.Help to stdout, exit 0
	Version                       // -v, --version: print Printer.Version to stdout, exit 0
)

// cmdName is the name ipvsadm uses for a command in its messages ("add-service").
func (k Kind) cmdName() string {
	switch k {
	case AddService:
		return "add-service"
	case EditService:
		return "edit-service"
	case DeleteService:
		return "delete-service"
	case Flush:
		return "flush"
	case List:
		return "list"
	case AddServer:
		return "add-server"
	case DeleteServer:
		return "delete-server"
	case EditServer:
		return "edit-server"
	case SetTimeout:
		return "set"
	case StartDaemon:
		return "start-daemon"
	case StopDaemon:
		return "stop-daemon"
	case Restore:
		return "restore"
	case Save:
		return "save"
	case Zero:
		return "zero"
	case Help:
		return "help"
	case Version:
		return "version"
	}
	return "none"
}

// String returns ipvsadm's name for the command, e.g. "add-service".
func (k Kind) String() string { return k.cmdName() }

// Command is one parsed ipvsadm invocation: what to do and with what. Fields a command does
// not use are zero.
type Command struct {
	Kind Kind

	// HasService reports whether a virtual service was named (-t, -u, --sctp-service, -f).
	// Always true for -A -E -D -a -e -d; optional for -L and -Z (without it: all services).
	HasService bool
	// Service holds the key and, for -A and -E, everything ipvsadm sends: the scheduler
	// ("wlc" when -s is absent), Flags (Persistent, OnePacket, scheduler flags), Timeout
	// (the -p value, 360 for -p alone), Netmask (ipvsadm's default 0xffffffff, or 128 for
	// IPv6; an IPv4 mask a.b.c.d is a<<24|b<<16|c<<8|d) and PE. -E replaces all of these.
	// Service.Reals is empty. A fwmark service has Protocol 0, Port 0 and the unspecified
	// address of its family (IPv6 with -6).
	Service lb.Service
	// Real is the real server of -a, -e and -d, complete as ipvsadm sends it: the forwarding
	// method (Route unless -m or -i), Weight (1 unless -w), thresholds, tunnel settings. Its
	// port is the one given, or the service's when none was given, and for -a/-e of a route or
	// tunnel real of a non-fwmark service always the service's.
	Real lb.Real

	// List says what -L prints (and, for -S, only Numeric counts).
	List ListOptions
	// Timeouts are the --set values; 0 keeps the current value.
	Timeouts lb.Timeouts
	// Daemon is the --start-daemon / --stop-daemon configuration.
	Daemon DaemonConfig
}

// ListOptions are the options of -L (and -S) that change what is printed.
type ListOptions struct {
	Numeric        bool // -n: addresses and ports as numbers
	Connections    bool // -c: the connection table
	Timeout        bool // --timeout
	Daemon         bool // --daemon
	Stats          bool // --stats
	Rate           bool // --rate
	Thresholds     bool // --thresholds
	PersistentConn bool // --persistent-conn
	TunInfo        bool // --tun-info
	NoSort         bool // --nosort: kernel order
	Exact          bool // --exact: no K/M/G scaling
}

// DaemonState is the role of a connection-sync daemon.
type DaemonState int

// Sync daemon roles, with the kernel's IP_VS_STATE_* values.
const (
	DaemonMaster DaemonState = 1
	DaemonBackup DaemonState = 2
)

// String returns "master" or "backup".
func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return "none"
}

// DaemonConfig is what --start-daemon sends (and --stop-daemon: only State). Zero values of
// SyncMaxLen, MCastPort, MCastTTL and an invalid MCastGroup are not sent, so the kernel's
// defaults apply (1472 or the MTU, 8848, 1, 224.0.0.81).
type DaemonConfig struct {
	State DaemonState
	// MCastIfn is the interface, "eth0" when --mcast-interface is absent (ipvsadm's
	// DEF_MCAST_IFN), at most 15 bytes.
	MCastIfn string
	// SyncID is --syncid, 0 when absent (ipvsadm's -h says 255; its code sends 0).
	SyncID     uint8
	SyncMaxLen uint16
	MCastGroup netip.Addr
	MCastPort  uint16
	MCastTTL   uint8
}

// Error is a refusal with the exact text ipvsadm prints on stderr (Msg, to be followed by a
// newline; one message, "-6 used before -f\n", ends in a newline of its own) and its exit status: 2 for what ipvsadm finds wrong while parsing, 255 for popt's errors and
// the kernel's, 1 for listing a missing service.
type Error struct {
	Msg    string
	Status int
	// Fatal reports that ipvsadm exits at once. It is false only for a popt error after the
	// first option (and for kernel errors): there ipvsadm returns -1 instead of exiting, which
	// matters in -R, where the restore then goes on with the next line.
	Fatal bool
}

func (e *Error) Error() string { return e.Msg }

// fail is ipvsadm's fail(2, ...): a parse error, exit status 2.
func fail(msg string) *Error { return &Error{Msg: msg, Status: 2, Fatal: true} }
