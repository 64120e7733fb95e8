package sched

import (
	"fmt"

	"github.com/golvs/golvs/internal/lb"
)

// Names lists the schedulers GoLVS has, in the order ipvsadm's man page describes them.
func Names() []string {
	return []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}
}

// Known reports whether name is a scheduler GoLVS has.
func Known(name string) bool { return constructor(name) != nil }

// New returns a new scheduler called name for service s, initialised over s.Dests as the
// kernel's init_service does. It fails with lb.ErrNoScheduler for an unknown name.
func New(name string, s *Svc) (Scheduler, error) {
	c := constructor(name)
	if c == nil {
		return nil, fmt.Errorf("scheduler %q: %w", name, lb.ErrNoScheduler)
	}
	return c(s), nil
}

func constructor(name string) func(*Svc) Scheduler {
	switch name {
	case "rr":
		return newRR
	case "wrr":
		return newWRR
	case "lc":
		return newLC
	case "wlc":
		return newWLC
	case "sed":
		return newSED
	case "nq":
		return newNQ
	case "dh":
		return newDH
	case "sh":
		return newSH
	case "mh":
		return newMH
	case "lblc":
		return newLBLC
	case "lblcr":
		return newLBLCR
	case "fo":
		return newFO
	case "ovf":
		return newOVF
	case "twos":
		return newTWOS
	}
	return nil
}
