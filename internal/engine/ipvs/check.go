package ipvs

import (
	"fmt"
	"path"
	"strings"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// check refuses a state the engine cannot apply, before anything is sent: the model's own
// rules, duplicates, FullNAT reals, and schedulers and persistence engines the kernel has
// no module for.
func (e *Engine) check(st *lb.State) error {
	seen := make(map[lb.ServiceKey]bool, len(st.Services))
	for _, s := range st.Services {
		k := s.ServiceKey
		if seen[normKey(k)] {
			return fmt.Errorf("ipvs engine: service %s: twice in the state: %w", k, lb.ErrServiceExists)
		}
		seen[normKey(k)] = true
		if err := lb.ValidateService(s, lb.Catalog{}); err != nil {
			return fmt.Errorf("ipvs engine: service %s: %w", k, err)
		}
		if m := "ip_vs_" + s.Scheduler; !e.hasModule(m) {
			return fmt.Errorf("ipvs engine: service %s: %w (%w)", k,
				engine.NotSupported("scheduler "+s.Scheduler, "a kernel with module "+m+" or the proxy engine"), lb.ErrNoScheduler)
		}
		if m := "ip_vs_pe_" + s.PE; s.PE != "" && !e.hasModule(m) {
			return fmt.Errorf("ipvs engine: service %s: %w (%w)", k,
				engine.NotSupported("persistence engine "+s.PE, "a kernel with module "+m), lb.ErrNoScheduler)
		}
		for i := range s.Reals {
			r := &s.Reals[i]
			if r.Forward == lb.FullNAT {
				return fmt.Errorf("ipvs engine: service %s: real %s: %w", k, r.AddrPort(),
					engine.NotSupported("forwarding method FullNat", "the xdp or proxy engine"))
			}
			if err := lb.ValidateReal(s, r); err != nil {
				return fmt.Errorf("ipvs engine: service %s: real %s: %w", k, r.AddrPort(), err)
			}
			if s.FindReal(r.Addr, r.Port) != i {
				return fmt.Errorf("ipvs engine: service %s: real %s: twice in the service: %w", k, r.AddrPort(), lb.ErrDestExists)
			}
		}
	}
	return nil
}

// moduleSet returns a HasModule function over the module names of a modules.builtin or
// modules.dep listing ("kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: ..."), with loaded(name)
// consulted for the names the lists lack.
func moduleSet(lists []string, loaded func(string) bool) func(string) bool {
	names := map[string]bool{}
	for _, l := range lists {
		for _, line := range strings.Split(l, "\n") {
			p, _, _ := strings.Cut(line, ":")
			base := path.Base(strings.TrimSpace(p))
			if i := strings.Index(base, ".ko"); i > 0 {
				names[strings.ReplaceAll(base[:i], "-", "_")] = true
			}
		}
	}
	return func(m string) bool { return names[m] || (loaded != nil && loaded(m)) }
}
