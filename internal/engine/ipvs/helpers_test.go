package ipvs

import (
	"slices"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
	"github.com/golvs/golvs/internal/lb"
)

// fakeModules is HasModule for the fake kernel: its schedulers and the sip PE.
func fakeModules(m string) bool {
	name, ok := strings.CutPrefix(m, "ip_vs_")
	return ok && (slices.Contains(ipvsnltest.Schedulers, name) || name == "pe_sip")
}

// newFakeEngine returns an engine on a new fake kernel.
func newFakeEngine(t *testing.T, o Options) (*Engine, *ipvsnltest.Kernel) {
	t.Helper()
	k := ipvsnltest.New()
	c, err := k.Client()
	if err != nil {
		t.Fatal(err)
	}
	o.Client = c
	if o.HasModule == nil {
		o.HasModule = fakeModules
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	k.ResetLog()
	return e, k
}

// rules builds a state from ipvsadm -S style rules (ipvsadm -R's input).
func rules(t *testing.T, text string) *lb.State {
	t.Helper()
	st, err := ctl.RestoreState(ipvsadm.Parser{}, strings.NewReader(strings.TrimSpace(text)+"\n"), lb.Catalog{})
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return st
}

// newKernelWith returns a fake kernel holding the services of rules, installed by another
// client (as ipvsadm would).
func newKernelWith(t *testing.T, text string) *ipvsnltest.Kernel {
	t.Helper()
	k := ipvsnltest.New()
	ipvsadmAdd(t, k, text)
	return k
}

// ipvsadmAdd installs the services of rules in k through a client of its own.
func ipvsadmAdd(t *testing.T, k *ipvsnltest.Kernel, text string) {
	t.Helper()
	c, err := k.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range rules(t, text).Services {
		if err := c.NewService(KernelService(s)); err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Reals {
			if err := c.NewDest(KernelKey(s.ServiceKey), KernelDest(r)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
