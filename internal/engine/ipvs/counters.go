package ipvs

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// Counters returns the kernel's counters, rates and connection counts of the engine's
// services, in the order of the last applied state, each with its reals in the kernel's
// order (newest first). A service someone else removed from the kernel is left out.
// Services the engine does not manage are not reported.
func (e *Engine) Counters() ([]engine.ServiceCounters, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if e.applied == nil {
		return nil, nil
	}
	svcs, err := e.c.Services()
	if err != nil {
		return nil, fmt.Errorf("ipvs engine: counters: %w", err)
	}
	byKey := make(map[lb.ServiceKey]*ipvsnl.Service, len(svcs))
	for i := range svcs {
		byKey[ModelKey(svcs[i].ServiceKey)] = &svcs[i]
	}
	out := make([]engine.ServiceCounters, 0, len(e.applied.Services))
	for _, s := range e.applied.Services {
		ks := byKey[normKey(s.ServiceKey)]
		if ks == nil {
			continue
		}
		dests, err := e.c.Dests(ks.ServiceKey)
		if err != nil {
			return nil, fmt.Errorf("ipvs engine: counters: %w", err)
		}
		sc := engine.ServiceCounters{Key: s.ServiceKey, Reals: make([]engine.RealCounters, 0, len(dests))}
		sc.Stats, sc.Rates = ModelStats(ks.Stats)
		for i := range dests {
			sc.Reals = append(sc.Reals, realCounters(&dests[i]))
		}
		out = append(out, sc)
	}
	return out, nil
}

// Zero resets the counters and rates of service k, or of every service the engine
// manages when k is nil (of the whole table with Options.OwnTable, as ipvsadm -Z). It
// fails wrapping lb.ErrNoService when k is not one of the engine's services or the kernel
// no longer has it.
func (e *Engine) Zero(k *lb.ServiceKey) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if k == nil {
		if e.opts.OwnTable {
			return wrapZero(e.c.Zero(nil))
		}
		for _, key := range e.ownedList() {
			nk := KernelKey(key)
			if err := e.c.Zero(&nk); err != nil && !errors.Is(err, syscall.ESRCH) {
				return wrapZero(err)
			}
		}
		return nil
	}
	if !keySet(e.applied)[normKey(*k)] {
		return fmt.Errorf("ipvs engine: zero %s: %w", *k, lb.ErrNoService)
	}
	nk := KernelKey(*k)
	return wrapZero(e.c.Zero(&nk))
}

func wrapZero(err error) error {
	if err != nil {
		return fmt.Errorf("ipvs engine: %w", kernelError(ipvsnl.CmdZero, err))
	}
	return nil
}
