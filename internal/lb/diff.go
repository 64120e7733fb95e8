package lb

import "net/netip"

// Delta is what changed from one State to another: the minimal set of operations an engine
// applies so that established connections to unchanged reals are never touched.
type Delta struct {
	// Added services, with all their reals, in the new state's order.
	Added []*Service
	// Removed services, with the reals they had, in the old state's order.
	Removed []*Service
	// Changed holds services present in both states that differ, in the new state's order.
	Changed []ServiceChange
	// Timeouts is set when the protocol timeouts changed.
	Timeouts *Timeouts
}

// ServiceChange is how one service differs between two states.
type ServiceChange struct {
	Old, New *Service
	// Attrs is true when the scheduler, flags, timeout, netmask or PE changed.
	Attrs bool
	// AddedReals and RemovedReals are in the order of the new and old service respectively.
	AddedReals, RemovedReals []Real
	// ChangedReals are reals (same address and port) whose fields differ.
	ChangedReals []RealChange
}

// RealChange is one real server whose settings changed.
type RealChange struct{ Old, New Real }

// Empty reports whether the delta has nothing to do.
func (d *Delta) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 && d.Timeouts == nil
}

// Diff computes the changes that turn old into new. Either may be nil (an empty state).
func Diff(old, new *State) Delta {
	if old == nil {
		old = &State{Timeouts: DefaultTimeouts}
	}
	if new == nil {
		new = &State{Timeouts: DefaultTimeouts}
	}
	var d Delta
	oldByKey := make(map[ServiceKey]*Service, len(old.Services))
	for _, s := range old.Services {
		oldByKey[s.ServiceKey] = s
	}
	newKeys := make(map[ServiceKey]bool, len(new.Services))
	for _, ns := range new.Services {
		newKeys[ns.ServiceKey] = true
		os, ok := oldByKey[ns.ServiceKey]
		if !ok {
			d.Added = append(d.Added, ns)
			continue
		}
		if c, changed := diffService(os, ns); changed {
			d.Changed = append(d.Changed, c)
		}
	}
	for _, s := range old.Services {
		if !newKeys[s.ServiceKey] {
			d.Removed = append(d.Removed, s)
		}
	}
	if old.Timeouts != new.Timeouts {
		t := new.Timeouts
		d.Timeouts = &t
	}
	return d
}

func diffService(os, ns *Service) (ServiceChange, bool) {
	c := ServiceChange{Old: os, New: ns}
	c.Attrs = os.Scheduler != ns.Scheduler || os.Flags != ns.Flags || os.Timeout != ns.Timeout ||
		os.Netmask != ns.Netmask || os.PE != ns.PE
	oldReals := make(map[netip.AddrPort]Real, len(os.Reals))
	for _, r := range os.Reals {
		oldReals[r.AddrPort()] = r
	}
	seen := make(map[netip.AddrPort]bool, len(ns.Reals))
	for _, r := range ns.Reals {
		k := r.AddrPort()
		seen[k] = true
		o, ok := oldReals[k]
		switch {
		case !ok:
			c.AddedReals = append(c.AddedReals, r)
		case o != r:
			c.ChangedReals = append(c.ChangedReals, RealChange{Old: o, New: r})
		}
	}
	for _, r := range os.Reals {
		if !seen[r.AddrPort()] {
			c.RemovedReals = append(c.RemovedReals, r)
		}
	}
	changed := c.Attrs || len(c.AddedReals) > 0 || len(c.RemovedReals) > 0 || len(c.ChangedReals) > 0
	return c, changed
}
