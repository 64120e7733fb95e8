// Package fake is an in-memory Engine that forwards nothing: it records the states it is
// given and reports zero counters for them. Director and API tests use it, and it passes the
// engine conformance suite, which keeps the suite honest about what it can check without a
// data plane.
package fake

import (
	"fmt"
	"sync"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// Engine is the fake engine. Its zero value is not ready: use New.
type Engine struct {
	mu      sync.Mutex
	state   *lb.State
	applied int
	closed  bool
	// refuse, when set, makes Apply fail for states holding a real with this method.
	refuse map[lb.Forward]bool
}

// Interface guards.
var _ engine.Engine = (*Engine)(nil)

// New returns a fake engine that refuses the forwarding methods given, as an engine lacking
// them would.
func New(refuse ...lb.Forward) *Engine {
	e := &Engine{state: &lb.State{Timeouts: lb.DefaultTimeouts}, refuse: map[lb.Forward]bool{}}
	for _, f := range refuse {
		e.refuse[f] = true
	}
	return e
}

// Name returns "fake".
func (e *Engine) Name() string { return "fake" }

// Apply records st. It fails wrapping engine.ErrNotSupported, changing nothing, when st has
// a real with a refused forwarding method, and fails after Close.
func (e *Engine) Apply(st *lb.State) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("fake engine: closed")
	}
	for _, s := range st.Services {
		for _, r := range s.Reals {
			if e.refuse[r.Forward] {
				return fmt.Errorf("fake engine: service %s real %s: %w", s.ServiceKey, r.AddrPort(),
					engine.NotSupported("forwarding method "+r.Forward.String(), "another engine"))
			}
		}
	}
	e.state = st.Clone()
	e.applied++
	return nil
}

// State returns a copy of the last state applied and how many times Apply succeeded.
func (e *Engine) State() (*lb.State, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.Clone(), e.applied
}

// Counters reports every service and real of the last state, with zero counters.
func (e *Engine) Counters() ([]engine.ServiceCounters, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]engine.ServiceCounters, 0, len(e.state.Services))
	for _, s := range e.state.Services {
		sc := engine.ServiceCounters{Key: s.ServiceKey}
		for _, r := range s.KernelOrder() {
			sc.Reals = append(sc.Reals, engine.RealCounters{Addr: r.Addr, Port: r.Port})
		}
		out = append(out, sc)
	}
	return out, nil
}

// Conns returns no connections.
func (e *Engine) Conns() ([]engine.Conn, error) { return nil, nil }

// Zero checks that k exists; there is nothing to reset.
func (e *Engine) Zero(k *lb.ServiceKey) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k != nil && e.state.Find(*k) == nil {
		return fmt.Errorf("zero %s: %w", *k, lb.ErrNoService)
	}
	return nil
}

// Close marks the engine closed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}
