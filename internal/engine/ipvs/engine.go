package ipvs

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// Engine is the kernel IPVS engine. Create it with New; its methods are safe for
// concurrent use (one mutex serialises them, as the kernel's table is one).
type Engine struct {
	mu        sync.Mutex
	c         *ipvsnl.Client
	opts      Options
	log       *slog.Logger
	hasModule func(string) bool
	// applied is the last state applied in full; nil before the first Apply.
	applied *lb.State
	// owned are the services the engine manages: those of applied, and those a failed
	// Apply created or took over before it stopped.
	owned map[lb.ServiceKey]bool
	// found are the services in the kernel at New; with OwnTable the first successful
	// Apply removes those its state does not name.
	found    []lb.ServiceKey
	firstRun bool
	// started are the sync daemons this engine started (master, backup).
	started [2]bool
	closed  bool
}

// Interface guards.
var (
	_ engine.Engine = (*Engine)(nil)
	_ engine.Syncer = (*Engine)(nil)
)

// errClosed is returned by every method but Close after Close.
var errClosed = errors.New("ipvs engine: closed")

// New opens the IPVS table of the namespace o names (or uses o.Client) and reads what it
// holds. It fails wrapping ipvsnl.ErrNoIPVS, whose text says to run `modprobe ip_vs`,
// when the kernel has no IPVS, and with EPERM when the caller lacks CAP_NET_ADMIN.
func New(o Options) (*Engine, error) {
	c := o.Client
	if c == nil {
		var err error
		c, err = ipvsnl.Open(ipvsnl.Options{NetNS: o.NetNS, NetNSFD: o.NetNSFD})
		if err != nil {
			return nil, fmt.Errorf("ipvs engine: %w", err)
		}
	}
	e := &Engine{c: c, opts: o, log: o.Logger, hasModule: o.HasModule, owned: map[lb.ServiceKey]bool{}, firstRun: true}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.hasModule == nil {
		e.hasModule = probeModules()
	}
	if e.hasModule == nil {
		e.hasModule = func(string) bool { return true }
	}
	if e.opts.ConnFile == "" {
		e.opts.ConnFile = defaultConnFile
	}
	svcs, err := c.Services()
	if err != nil {
		c.Close()
		if errors.Is(err, syscall.EPERM) {
			return nil, fmt.Errorf("ipvs engine: %w (the ipvs engine needs CAP_NET_ADMIN)", err)
		}
		return nil, fmt.Errorf("ipvs engine: %w", err)
	}
	for _, s := range svcs {
		e.found = append(e.found, ModelKey(s.ServiceKey))
	}
	return e, nil
}

// Name returns "ipvs".
func (e *Engine) Name() string { return "ipvs" }

// Found returns the services that were in the kernel when the engine started.
func (e *Engine) Found() []lb.ServiceKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.found)
}

// Apply makes the kernel's table hold st's services, sending only the commands that
// differ (see the package documentation). It refuses, before sending anything, a state
// that check finds the engine cannot apply: the error wraps engine.ErrNotSupported for
// FullNAT reals and missing scheduler or PE modules, or the lb sentinel of a model rule.
// A kernel refusal stops Apply at that command (the error wraps the errno and the lb
// sentinel ipvsadm's message stands for); the services changed so far stay managed, so
// that applying the previous state again undoes them.
func (e *Engine) Apply(st *lb.State) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if err := e.check(st); err != nil {
		return err
	}
	kernel, timeouts, err := e.readKernel(st)
	if err != nil {
		return fmt.Errorf("ipvs engine: %w", err)
	}
	ops := plan(st, kernel, e.dropList(st), timeouts)
	for i := range ops {
		o := &ops[i]
		e.log.Debug("ipvs command", "cmd", o.cmd.String(), "service", o.key.String(), "dest", o.dest.AddrPort().String())
		if err := o.run(e.c); err != nil {
			return fmt.Errorf("ipvs engine: %w", err)
		}
		switch o.cmd {
		case ipvsnl.CmdDelService:
			delete(e.owned, normKey(o.key))
		case ipvsnl.CmdSetConfig:
		default:
			e.owned[normKey(o.key)] = true
		}
	}
	e.owned = make(map[lb.ServiceKey]bool, len(st.Services))
	for _, s := range st.Services {
		e.owned[normKey(s.ServiceKey)] = true
	}
	e.applied, e.firstRun = st, false
	return nil
}

// dropList returns the services to remove because st does not name them: those the
// engine manages and, at the first Apply with OwnTable, those found in the kernel at New.
func (e *Engine) dropList(st *lb.State) []lb.ServiceKey {
	var drop []lb.ServiceKey
	seen := keySet(st)
	keys := e.ownedList()
	if e.opts.OwnTable && e.firstRun {
		keys = append(keys, e.found...)
	}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			drop = append(drop, k)
		}
	}
	return drop
}

// keySet returns the normalized keys of st's services (none for a nil st).
func keySet(st *lb.State) map[lb.ServiceKey]bool {
	set := map[lb.ServiceKey]bool{}
	if st != nil {
		for _, s := range st.Services {
			set[normKey(s.ServiceKey)] = true
		}
	}
	return set
}

// ownedList returns the services the engine manages: in the order of the last applied
// state, then the others (left by a failed Apply) by name.
func (e *Engine) ownedList() []lb.ServiceKey {
	var out, rest []lb.ServiceKey
	if e.applied != nil {
		for _, s := range e.applied.Services {
			if k := normKey(s.ServiceKey); e.owned[k] {
				out = append(out, k)
			}
		}
	}
	inApplied := keySet(e.applied)
	for k := range e.owned {
		if !inApplied[k] {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(a, b lb.ServiceKey) int { return strings.Compare(a.String(), b.String()) })
	return append(out, rest...)
}

// readKernel reads the kernel's services, the destinations of those st names, and the
// timeouts.
func (e *Engine) readKernel(st *lb.State) (map[lb.ServiceKey]*kernelService, ipvsnl.Timeouts, error) {
	svcs, err := e.c.Services()
	if err != nil {
		return nil, ipvsnl.Timeouts{}, err
	}
	kernel := make(map[lb.ServiceKey]*kernelService, len(svcs))
	for _, s := range svcs {
		kernel[ModelKey(s.ServiceKey)] = &kernelService{svc: s}
	}
	for _, s := range st.Services {
		ks := kernel[normKey(s.ServiceKey)]
		if ks == nil {
			continue
		}
		if ks.dests, err = e.c.Dests(ks.svc.ServiceKey); err != nil {
			return nil, ipvsnl.Timeouts{}, err
		}
	}
	t, err := e.c.Timeouts()
	return kernel, t, err
}

// Close removes the engine's services and stops the daemons it started, unless
// Options.KeepOnClose, then closes the netlink socket. Services already gone are not an
// error. Close is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	if !e.opts.KeepOnClose {
		for _, k := range e.ownedList() {
			if err := e.c.DelService(KernelKey(k)); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, err)
			}
		}
		for i, on := range e.started {
			if !on {
				continue
			}
			if err := e.c.DelDaemon(daemonState(i == 1)); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, err)
			}
		}
	}
	if err := e.c.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ipvs engine: close: %w", err)
	}
	return nil
}
