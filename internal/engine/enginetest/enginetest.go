// Package enginetest is the conformance suite every engine.Engine passes: applying states
// and reading them back, idempotence, diffs that keep what did not change, refusal of
// unsupported features without side effects, zeroing and closing; and, for engines that
// forward (Harness.Traffic), real traffic: scheduling order, persistence, quiescing, deletion
// and thresholds with open connections, half-close, UDP sessions and one-packet scheduling,
// counters and connection states.
package enginetest

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// Harness describes the engine under test and the environment it runs in.
type Harness struct {
	// New returns a fresh engine; the suite closes it.
	New func(t *testing.T) engine.Engine
	// Forwards lists the forwarding methods the engine supports; Apply of a real with any
	// other method must fail wrapping engine.ErrNotSupported.
	Forwards []lb.Forward
	// FWMark is true when the engine forwards fwmark services.
	FWMark bool
	// VIP returns distinct virtual addresses the engine can serve on (i = 0, 1, ...).
	VIP func(i int) netip.Addr
	// Real returns distinct real-server addresses (i = 0, 1, ...); for state-only tests
	// nothing needs to listen there.
	Real func(i int) netip.Addr
	// Traffic, when set, runs the traffic tests (traffic.go): backends on Real addresses,
	// clients connecting to VIP addresses through the engine.
	Traffic *Traffic
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("ApplyReadBack", func(t *testing.T) { testApplyReadBack(t, h) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, h) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, h) })
	t.Run("Unsupported", func(t *testing.T) { testUnsupported(t, h) })
	t.Run("Zero", func(t *testing.T) { testZero(t, h) })
	t.Run("Close", func(t *testing.T) { testClose(t, h) })
	if h.Traffic != nil {
		t.Run("Traffic", func(t *testing.T) { runTraffic(t, h) })
	}
}

func open(t *testing.T, h Harness) engine.Engine {
	t.Helper()
	e := h.New(t)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// svcPort is the first port the suite's services use: above 1023, so that an engine that
// listens (the proxy) needs no privilege.
const svcPort = 18080

// masqService returns a TCP service on VIP vip:port with n masq reals at h.Real(first..).
func masqService(h Harness, vip, first, n int, port uint16, sched string) *lb.Service {
	s := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: h.VIP(vip), Port: port}, Scheduler: sched}
	for i := 0; i < n; i++ {
		s.Reals = append(s.Reals, lb.Real{Addr: h.Real(first + i), Port: 8000 + uint16(i), Forward: lb.Masq, Weight: int32(i + 1)})
	}
	return s
}

func mustApply(t *testing.T, e engine.Engine, st *lb.State) {
	t.Helper()
	if err := e.Apply(st); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// shape renders counters as "KEY: real real ..." lines, the part every engine must agree on.
func shape(t *testing.T, e engine.Engine) []string {
	t.Helper()
	cs, err := e.Counters()
	if err != nil {
		t.Fatalf("Counters: %v", err)
	}
	var out []string
	for _, c := range cs {
		line := c.Key.String() + ":"
		for _, r := range c.Reals {
			line += " " + netip.AddrPortFrom(r.Addr, r.Port).String()
		}
		out = append(out, line)
	}
	return out
}

func wantShape(st *lb.State) []string {
	var out []string
	for _, s := range st.Services {
		line := s.ServiceKey.String() + ":"
		for _, r := range s.KernelOrder() {
			line += " " + r.AddrPort().String()
		}
		out = append(out, line)
	}
	return out
}

func testApplyReadBack(t *testing.T, h Harness) {
	e := open(t, h)
	if got := shape(t, e); len(got) != 0 {
		t.Fatalf("new engine reports services: %q", got)
	}
	st := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{
		masqService(h, 0, 0, 3, svcPort, "rr"),
		masqService(h, 1, 3, 2, svcPort+1, "wlc"),
	}}
	mustApply(t, e, st)
	if got, want := shape(t, e), wantShape(st); !slices.Equal(got, want) {
		t.Fatalf("after Apply, engine reports\n%q\nwant\n%q", got, want)
	}
	cs, _ := e.Counters()
	for _, c := range cs {
		for _, r := range c.Reals {
			if r.Active != 0 || r.Inactive != 0 || r.Stats != (lb.Stats{}) {
				t.Errorf("%s real %s: counters before any traffic: %+v", c.Key, r.Addr, r)
			}
		}
	}
}

func testIdempotent(t *testing.T, h Harness) {
	e := open(t, h)
	st := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{masqService(h, 0, 0, 2, svcPort, "wrr")}}
	mustApply(t, e, st)
	mustApply(t, e, st.Clone())
	if got, want := shape(t, e), wantShape(st); !slices.Equal(got, want) {
		t.Fatalf("after applying twice\n%q\nwant\n%q", got, want)
	}
}

func testChanges(t *testing.T, h Harness) {
	e := open(t, h)
	st := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{
		masqService(h, 0, 0, 3, svcPort, "rr"),
		masqService(h, 1, 3, 1, svcPort, "rr"),
	}}
	mustApply(t, e, st)
	n := st.Clone()
	k0, k1 := st.Services[0].ServiceKey, st.Services[1].ServiceKey
	steps := []struct {
		name string
		do   func() error
	}{
		{"weight edit", func() error { r := n.Services[0].Reals[1]; r.Weight = 9; return n.EditReal(k0, r) }},
		{"real removed", func() error { r := n.Services[0].Reals[0]; return n.DeleteReal(k0, r.Addr, r.Port) }},
		{"real added", func() error {
			return n.AddReal(k0, lb.Real{Addr: h.Real(7), Port: 9000, Forward: lb.Masq, Weight: 1})
		}},
		{"scheduler changed", func() error { s := *n.Find(k0); s.Scheduler = "wlc"; return n.EditService(&s, lb.Catalog{}) }},
		{"service removed", func() error { return n.DeleteService(k1) }},
		{"service added", func() error { return n.AddService(masqService(h, 2, 4, 2, svcPort+2, "sh"), lb.Catalog{}) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: building the state: %v", s.name, err)
		}
		mustApply(t, e, n.Clone())
		if got, want := shape(t, e), wantShape(n); !slices.Equal(got, want) {
			t.Fatalf("%s: engine reports\n%q\nwant\n%q", s.name, got, want)
		}
	}
	mustApply(t, e, &lb.State{Timeouts: lb.DefaultTimeouts})
	if got := shape(t, e); len(got) != 0 {
		t.Fatalf("after applying an empty state: %q", got)
	}
}

func testUnsupported(t *testing.T, h Harness) {
	e := open(t, h)
	base := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{masqService(h, 0, 0, 2, svcPort, "rr")}}
	mustApply(t, e, base)
	want := wantShape(base)
	for _, f := range []lb.Forward{lb.Masq, lb.Route, lb.Tunnel, lb.FullNAT} {
		if slices.Contains(h.Forwards, f) {
			continue
		}
		st := base.Clone()
		s := masqService(h, 1, 2, 1, svcPort, "rr")
		s.Reals[0].Forward = f
		s.Reals[0].Port = svcPort
		st.Services = append(st.Services, s)
		err := e.Apply(st)
		if !errors.Is(err, engine.ErrNotSupported) {
			t.Errorf("forwarding %s: Apply returned %v, want an error wrapping ErrNotSupported", f, err)
		}
		if got := shape(t, e); !slices.Equal(got, want) {
			t.Errorf("forwarding %s: a refused Apply changed the engine:\n%q\nwant\n%q", f, got, want)
		}
	}
	if !h.FWMark {
		st := base.Clone()
		st.Services = append(st.Services, &lb.Service{ServiceKey: lb.FWMarkKey(7, false), Scheduler: "rr",
			Reals: []lb.Real{{Addr: h.Real(5), Forward: h.Forwards[0], Weight: 1}}})
		if err := e.Apply(st); !errors.Is(err, engine.ErrNotSupported) {
			t.Errorf("fwmark service: Apply returned %v, want an error wrapping ErrNotSupported", err)
		}
		if got := shape(t, e); !slices.Equal(got, want) {
			t.Errorf("fwmark: a refused Apply changed the engine:\n%q", got)
		}
	}
}

func testZero(t *testing.T, h Harness) {
	e := open(t, h)
	st := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{masqService(h, 0, 0, 1, svcPort, "rr")}}
	mustApply(t, e, st)
	if err := e.Zero(nil); err != nil {
		t.Errorf("Zero(all): %v", err)
	}
	k := st.Services[0].ServiceKey
	if err := e.Zero(&k); err != nil {
		t.Errorf("Zero(%s): %v", k, err)
	}
	missing := lb.ServiceKey{Protocol: lb.UDP, Addr: h.VIP(3), Port: 53}
	if err := e.Zero(&missing); !errors.Is(err, lb.ErrNoService) {
		t.Errorf("Zero(missing) = %v, want ErrNoService", err)
	}
}

func testClose(t *testing.T, h Harness) {
	e := h.New(t)
	mustApply(t, e, &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{masqService(h, 0, 0, 1, svcPort, "rr")}})
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
