package ipvs

import (
	"net/netip"

	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// kernelService is a service as the kernel holds it, with its destinations when they were
// read (only for services of the state being applied).
type kernelService struct {
	svc   ipvsnl.Service
	dests []ipvsnl.Dest
}

// op is one kernel command of a plan.
type op struct {
	cmd  ipvsnl.Cmd
	key  lb.ServiceKey // the service it acts on (none for set-config)
	svc  ipvsnl.Service
	dest ipvsnl.Dest
	to   ipvsnl.Timeouts
}

// run sends the command.
func (o *op) run(c *ipvsnl.Client) error {
	var err error
	switch o.cmd {
	case ipvsnl.CmdNewService:
		err = c.NewService(o.svc)
	case ipvsnl.CmdSetService:
		err = c.SetService(o.svc)
	case ipvsnl.CmdDelService:
		err = c.DelService(o.svc.ServiceKey)
	case ipvsnl.CmdNewDest:
		err = c.NewDest(o.svc.ServiceKey, o.dest)
	case ipvsnl.CmdSetDest:
		err = c.SetDest(o.svc.ServiceKey, o.dest)
	case ipvsnl.CmdDelDest:
		err = c.DelDest(o.svc.ServiceKey, o.dest)
	case ipvsnl.CmdSetConfig:
		err = c.SetTimeouts(o.to)
	}
	return kernelError(o.cmd, err)
}

// plan computes the commands that turn the kernel's table into st: set the timeouts when
// a non-zero one differs from the kernel's (first, so that a refused value changes
// nothing else), remove (in that order) the services of drop that the kernel has, then
// for each service of st in order create
// it with its reals (oldest first, so that the kernel's newest-first order is the model's
// KernelOrder), or change its settings if they differ and delete, change and add reals
// (deletions in the kernel's order, then changes and additions in the state's order).
func plan(st *lb.State, kernel map[lb.ServiceKey]*kernelService, drop []lb.ServiceKey, kernelTimeouts ipvsnl.Timeouts) []op {
	var ops []op
	if t := st.Timeouts; timeoutsDiffer(t, kernelTimeouts) {
		ops = append(ops, op{cmd: ipvsnl.CmdSetConfig, to: ipvsnl.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}})
	}
	for _, k := range drop {
		if ks := kernel[k]; ks != nil {
			ops = append(ops, op{cmd: ipvsnl.CmdDelService, key: k, svc: ipvsnl.Service{ServiceKey: ks.svc.ServiceKey}})
		}
	}
	for _, s := range st.Services {
		want := KernelService(s)
		key := ipvsnl.Service{ServiceKey: want.ServiceKey}
		ks := kernel[normKey(s.ServiceKey)]
		if ks == nil {
			ops = append(ops, op{cmd: ipvsnl.CmdNewService, key: s.ServiceKey, svc: want})
			for _, r := range s.Reals {
				ops = append(ops, op{cmd: ipvsnl.CmdNewDest, key: s.ServiceKey, svc: key, dest: KernelDest(r)})
			}
			continue
		}
		if !sameService(s, &ks.svc) {
			ops = append(ops, op{cmd: ipvsnl.CmdSetService, key: s.ServiceKey, svc: want})
		}
		have := make(map[netip.AddrPort]*ipvsnl.Dest, len(ks.dests))
		for i := range ks.dests {
			have[ks.dests[i].AddrPort()] = &ks.dests[i]
		}
		for i := range ks.dests {
			if d := &ks.dests[i]; s.FindReal(d.Addr, d.Port) < 0 {
				ops = append(ops, op{cmd: ipvsnl.CmdDelDest, key: s.ServiceKey, svc: key, dest: *d})
			}
		}
		for _, r := range s.Reals {
			d := have[r.AddrPort()]
			switch {
			case d == nil:
				ops = append(ops, op{cmd: ipvsnl.CmdNewDest, key: s.ServiceKey, svc: key, dest: KernelDest(r)})
			case ModelReal(d) != r:
				ops = append(ops, op{cmd: ipvsnl.CmdSetDest, key: s.ServiceKey, svc: key, dest: KernelDest(r)})
			}
		}
	}
	return ops
}

// timeoutsDiffer reports whether a non-zero timeout of t differs from the kernel's.
func timeoutsDiffer(t lb.Timeouts, k ipvsnl.Timeouts) bool {
	return t.TCP != 0 && t.TCP != k.TCP || t.TCPFin != 0 && t.TCPFin != k.TCPFin || t.UDP != 0 && t.UDP != k.UDP
}
