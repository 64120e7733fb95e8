package proxy

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Options configure the proxy engine. The zero value is usable: every field says its default.
type Options struct {
	// Logger receives the engine's log: dial failures and resets at Debug, refused binds
	// and dropped datagrams at Warn. Default: discard.
	Logger *slog.Logger
	// Now is the clock of the connection table (expiry of entries and templates, ipvsadm -Lc
	// "expire" column). Default time.Now. Rates are always sampled every 2 s of real time.
	Now func() time.Time
	// Retries is how many more reals a TCP connection tries when connecting to the chosen
	// one is refused or times out. Default 0: like IPVS, the client connection is reset.
	// A retry schedules again, without persistence, and never picks a real already tried.
	Retries int
	// ConnectTimeout bounds a connect to a real. Default 5 s.
	ConnectTimeout time.Duration
	// ExpireNodestConn is the kernel's net.ipv4.vs.expire_nodest_conn sysctl: when a real
	// (or its service) is deleted, its connections are closed at once (reset) and their
	// entries removed. Default false: they finish, as with the kernel's default.
	ExpireNodestConn bool
	// ExpireQuiescentTemplate is the kernel's net.ipv4.vs.expire_quiescent_template
	// sysctl: a persistence template whose real has weight 0 is not used for new
	// connections. Default false, as the kernel's.
	ExpireQuiescentTemplate bool
	// Listeners is the number of SO_REUSEPORT listeners (and accept goroutines) per TCP
	// service; with DataPathReactor, the number of event loops, each with one listener per
	// service. Default runtime.GOMAXPROCS(0).
	Listeners int
	// MaxUDPSessions bounds the client sessions (each a socket and a goroutine) of one UDP
	// service, -o reply windows included; datagrams that would need one more are dropped.
	// Default 4096.
	MaxUDPSessions int
	// OnePacketReplyTime is how long replies to a datagram of a one-packet (-o) service are
	// still relayed to its client after the datagram was sent. Default 5 s.
	OnePacketReplyTime time.Duration
	// MaxConns bounds the connection table (connections and templates); new connections
	// beyond it are reset (TCP) or dropped (UDP). Default 0: no bound but file descriptors.
	MaxConns int
	// DataPath is how TCP connections are served: DataPathGoroutine (two goroutines per
	// connection on Go's poller) or DataPathReactor (Listeners event loops, each with its
	// own epoll, listeners and connections; Linux only). Both schedule, count and track
	// connections alike. Default: DataPathReactor on Linux, where it serves 1.6x the new
	// connections per second and 1.3x the keep-alive requests of the goroutine path at 0.55x
	// its CPU per request (../shared/bench l4, side by side); DataPathGoroutine elsewhere.
	DataPath string
}

// The TCP data paths (Options.DataPath).
const (
	DataPathGoroutine = "goroutine"
	DataPathReactor   = "reactor"
)

// Defaults.
const (
	defaultConnectTimeout = 5 * time.Second
	defaultMaxUDPSessions = 4096
	defaultOnePacketReply = 5 * time.Second
)

func (o Options) withDefaults() (Options, error) {
	if o.Retries < 0 || o.ConnectTimeout < 0 || o.Listeners < 0 || o.MaxUDPSessions < 0 ||
		o.OnePacketReplyTime < 0 || o.MaxConns < 0 {
		return o, fmt.Errorf("proxy engine: negative option in %+v", o)
	}
	switch o.DataPath {
	case "":
		o.DataPath = DataPathGoroutine
		if runtime.GOOS == "linux" {
			o.DataPath = DataPathReactor
		}
	case DataPathGoroutine, DataPathReactor:
	default:
		return o, fmt.Errorf("proxy engine: data path %q: want %s or %s", o.DataPath, DataPathGoroutine, DataPathReactor)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.Listeners == 0 {
		o.Listeners = runtime.GOMAXPROCS(0)
	}
	if o.MaxUDPSessions == 0 {
		o.MaxUDPSessions = defaultMaxUDPSessions
	}
	if o.OnePacketReplyTime == 0 {
		o.OnePacketReplyTime = defaultOnePacketReply
	}
	return o, nil
}
