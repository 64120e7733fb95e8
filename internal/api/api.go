// Package api is lvsd's control interface: HTTP with JSON bodies on a unix socket that only
// root can open (mode 0600). lvsadm, the dashboard and tests use it through Client.
//
//	GET  /v1/snapshot[?conns=1]  the table, the engine's counters (and connection entries)
//	POST /v1/exec                a batch of director operations, applied all or nothing
//
// Errors come back as JSON with a kind naming the lb or engine sentinel they wrap (and the
// errno of a kernel IPVS refusal), so the client can rebuild an error that errors.Is
// recognises and lvsadm can print ipvsadm's text.
package api

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// DefaultSocket is where lvsd listens and lvsadm looks when no --socket or $LVSD_SOCKET says
// otherwise.
const DefaultSocket = "/run/lvsd.sock"

// Snapshot is the state of a running director.
type Snapshot struct {
	// Engine is the engine's name (proxy, ipvs, xdp).
	Engine string `json:"engine"`
	// State is the table, services in the order they were added.
	State *lb.State `json:"state"`
	// Counters are the engine's counters, services in State's order, reals newest first.
	Counters []engine.ServiceCounters `json:"counters"`
	// Conns are the connection entries, when asked for.
	Conns []engine.Conn `json:"conns,omitempty"`
	// Daemons are the running connection-sync daemons (engines that have them).
	Daemons []engine.SyncDaemon `json:"daemons,omitempty"`
}

// ExecRequest is the body of POST /v1/exec.
type ExecRequest struct {
	Ops []director.Op `json:"ops"`
}

// ErrorReply is the body of every non-2xx answer.
type ErrorReply struct {
	Error string `json:"error"`
	// Kind names the sentinel the error wraps (see kinds), "" for none.
	Kind string `json:"kind,omitempty"`
	// Index is the failing operation of an exec batch (from 0), -1 when not applicable.
	Index int `json:"index"`
	// Errno is the errno of the kernel IPVS's refusal (an *ipvsnl.KernelError, which the
	// ipvs engine's errors wrap), 0 for other errors: other errnos, such as the proxy
	// engine's EADDRINUSE, stay in the text. lvsd and lvsadm run on the same host, so the
	// number means the same to both.
	Errno int `json:"errno,omitempty"`
}

// Error is an error returned by the server. It wraps the sentinel its kind names and the
// kernel's errno, when it has one.
type Error struct {
	Msg   string
	Kind  string
	Index int
	Errno syscall.Errno
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the lb or engine sentinel of the error's kind and the errno, those of
// them it has.
func (e *Error) Unwrap() []error {
	var out []error
	for _, k := range kinds() {
		if k.name == e.Kind {
			out = append(out, k.err)
			break
		}
	}
	if e.Errno != 0 {
		out = append(out, e.Errno)
	}
	return out
}

type kind struct {
	name string
	err  error
}

func kinds() []kind {
	return []kind{
		{"service-exists", lb.ErrServiceExists},
		{"no-service", lb.ErrNoService},
		{"dest-exists", lb.ErrDestExists},
		{"no-dest", lb.ErrNoDest},
		{"no-scheduler", lb.ErrNoScheduler},
		{"range", lb.ErrRange},
		{"invalid", lb.ErrInvalid},
		{"protocol", lb.ErrProtocol},
		{"zero-port", lb.ErrZeroPort},
		{"mixed-family", lb.ErrMixedFamily},
		{"tunnel-options", lb.ErrTunnelOptions},
		{"not-supported", engine.ErrNotSupported},
	}
}

// replyFor turns a director error into the reply the client decodes.
func replyFor(err error) ErrorReply {
	r := ErrorReply{Error: err.Error(), Index: -1}
	var oe *director.OpError
	if errors.As(err, &oe) {
		r.Index = oe.Index
	}
	for _, k := range kinds() {
		if errors.Is(err, k.err) {
			r.Kind = k.name
			break
		}
	}
	var ke *ipvsnl.KernelError
	if errors.As(err, &ke) {
		r.Errno = int(ke.Errno)
	}
	return r
}

func (r ErrorReply) err() error {
	if r.Error == "" {
		r.Error = fmt.Sprintf("lvsd error (kind %q)", r.Kind)
	}
	return &Error{Msg: r.Error, Kind: r.Kind, Index: r.Index, Errno: syscall.Errno(r.Errno)}
}
