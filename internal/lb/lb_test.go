package lb

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func tcp(ap string) ServiceKey {
	a := netip.MustParseAddrPort(ap)
	return ServiceKey{Protocol: TCP, Addr: a.Addr(), Port: a.Port()}
}

func real(ap string, fwd Forward, w int32) Real {
	a := netip.MustParseAddrPort(ap)
	return Real{Addr: a.Addr(), Port: a.Port(), Forward: fwd, Weight: w}
}

var onlyKnown = Catalog{
	Scheduler: func(n string) bool { return slices.Contains([]string{"rr", "wrr", "wlc", "sh", "mh"}, n) },
	PE:        func(n string) bool { return n == "sip" },
}

func TestValidateService(t *testing.T) {
	v6 := ServiceKey{Protocol: TCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}
	tests := []struct {
		name string
		svc  Service
		want error  // sentinel, nil for valid
		text string // substring of the message
	}{
		{"plain", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "rr"}, nil, ""},
		{"unknown scheduler", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "foo"}, ErrNoScheduler, `scheduler "foo"`},
		{"empty scheduler", Service{ServiceKey: tcp("10.0.0.1:80")}, ErrNoScheduler, `scheduler ""`},
		{"unknown pe", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "rr", Flags: Persistent, Timeout: 60, PE: "foo"}, ErrNoScheduler, `persistence engine "foo"`},
		{"sip pe", Service{ServiceKey: tcp("10.0.0.1:5060"), Scheduler: "rr", Flags: Persistent, Timeout: 60, PE: "sip"}, nil, ""},
		{"port 0 not persistent", Service{ServiceKey: tcp("10.0.0.1:0"), Scheduler: "rr"}, ErrZeroPort, "Zero port specified for non-persistent service"},
		{"port 0 persistent", Service{ServiceKey: tcp("10.0.0.1:0"), Scheduler: "rr", Flags: Persistent, Timeout: 360}, nil, ""},
		{"persistent without timeout", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "rr", Flags: Persistent}, ErrInvalid, "persistence timeout 0"},
		{"bad protocol", Service{ServiceKey: ServiceKey{Protocol: 47, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "rr"}, ErrProtocol, "protocol 47"},
		{"no address", Service{ServiceKey: ServiceKey{Protocol: TCP, Port: 80}, Scheduler: "rr"}, ErrInvalid, "virtual address"},
		// the real kernel takes [::ffff:10.9.0.55]:80 (internal/ipvsadm's recorded cases)
		{"mapped address is IPv6", Service{ServiceKey: ServiceKey{Protocol: TCP, Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80}, Scheduler: "rr", Netmask: 128}, nil, ""},
		{"fwmark", Service{ServiceKey: FWMarkKey(5, false), Scheduler: "wlc"}, nil, ""},
		{"fwmark with port", Service{ServiceKey: ServiceKey{Addr: netip.IPv4Unspecified(), Port: 80, FWMark: 5}, Scheduler: "wlc"}, ErrInvalid, "fwmark service"},
		{"v4 odd mask accepted", Service{ServiceKey: FWMarkKey(5, false), Scheduler: "rr", Flags: Persistent, Timeout: 60, Netmask: 0xff00ff00}, nil, ""},
		{"v6 prefix 0", Service{ServiceKey: v6, Scheduler: "rr"}, ErrInvalid, "prefix length 0"},
		{"v6 prefix 129", Service{ServiceKey: v6, Scheduler: "rr", Netmask: 129}, ErrInvalid, "prefix length 129"},
		{"v6 prefix 64", Service{ServiceKey: v6, Scheduler: "rr", Netmask: 64}, nil, ""},
		{"sched flags", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "sh", Flags: Sched1 | Sched2}, nil, ""},
		{"unknown flag", Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "sh", Flags: 0x40}, ErrInvalid, "service flags 0x40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateService(&tt.svc, onlyKnown)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestValidateReal(t *testing.T) {
	svc := &Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "rr"}
	svc6 := &Service{ServiceKey: ServiceKey{Protocol: TCP, Addr: netip.MustParseAddr("fd00::9"), Port: 80}, Scheduler: "rr", Netmask: 128}
	tun := func(r Real, tt TunType, port uint16, fl TunFlags) Real {
		r.TunType, r.TunPort, r.TunFlags = tt, port, fl
		return r
	}
	tests := []struct {
		name string
		svc  *Service
		r    Real
		want error
		text string
	}{
		{"masq", svc, real("10.1.0.1:8080", Masq, 1), nil, ""},
		{"weight 0", svc, real("10.1.0.1:80", Route, 0), nil, ""},
		{"negative weight", svc, real("10.1.0.1:80", Masq, -1), ErrRange, "weight -1"},
		{"lower above upper", svc, Real{Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Weight: 1, UThreshold: 10, LThreshold: 20}, ErrRange, "lower threshold 20 above upper threshold 10"},
		{"lower without upper", svc, Real{Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Weight: 1, LThreshold: 5}, ErrRange, "lower threshold 5"},
		{"thresholds ok", svc, Real{Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Weight: 1, UThreshold: 100, LThreshold: 50}, nil, ""},
		{"mixed family masq", svc, real("[fd01::1]:80", Masq, 1), ErrMixedFamily, "Different address family is allowed only for tunneling servers"},
		{"mixed family tunnel", svc6, real("10.1.0.11:80", Tunnel, 1), nil, ""},
		{"v6 in v6", svc6, real("[fd01::11]:8080", Masq, 2), nil, ""},
		{"tunnel options with masq", svc, tun(real("10.1.0.1:80", Masq, 1), TunGRE, 0, 0), ErrTunnelOptions, "Tunnel options conflict with forward method"},
		{"gue needs port", svc, tun(real("10.1.0.1:80", Tunnel, 1), TunGUE, 0, 0), ErrInvalid, "gue tunnel without a port"},
		{"gue", svc, tun(real("10.1.0.1:80", Tunnel, 1), TunGUE, 6080, TunNoCsum), nil, ""},
		{"gre csum", svc, tun(real("10.1.0.1:80", Tunnel, 1), TunGRE, 0, TunCsum), nil, ""},
		{"gre with port", svc, tun(real("10.1.0.1:80", Tunnel, 1), TunGRE, 99, 0), ErrInvalid, "tunnel port with gre"},
		{"both csum flags", svc, tun(real("10.1.0.1:80", Tunnel, 1), TunGUE, 1, TunCsum|TunRemCsum), ErrInvalid, "tunnel flags 0x3"},
		{"unknown forward", svc, real("10.1.0.1:80", 9, 1), ErrInvalid, "forwarding method 9"},
		{"no address", svc, Real{Weight: 1}, ErrInvalid, "real address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			err := ValidateReal(tt.svc, &r)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestStateOperations(t *testing.T) {
	st := &State{Timeouts: DefaultTimeouts}
	k := tcp("10.0.0.1:80")
	steps := []struct {
		name string
		op   func() error
		want error
	}{
		{"add", func() error { return st.AddService(&Service{ServiceKey: k, Scheduler: "rr"}, onlyKnown) }, nil},
		{"add again", func() error { return st.AddService(&Service{ServiceKey: k, Scheduler: "rr"}, onlyKnown) }, ErrServiceExists},
		{"add bad scheduler", func() error {
			return st.AddService(&Service{ServiceKey: tcp("10.0.0.2:80"), Scheduler: "foo"}, onlyKnown)
		}, ErrNoScheduler},
		{"add real", func() error { return st.AddReal(k, real("10.1.0.1:80", Masq, 1)) }, nil},
		{"add real again", func() error { return st.AddReal(k, real("10.1.0.1:80", Masq, 3)) }, ErrDestExists},
		{"add real to missing", func() error { return st.AddReal(tcp("10.0.0.9:80"), real("10.1.0.1:80", Masq, 1)) }, ErrNoService},
		{"add second real", func() error { return st.AddReal(k, real("10.1.0.2:80", Masq, 2)) }, nil},
		{"edit real", func() error { return st.EditReal(k, real("10.1.0.2:80", Masq, 0)) }, nil},
		{"edit missing real", func() error { return st.EditReal(k, real("10.1.0.3:80", Masq, 0)) }, ErrNoDest},
		{"edit real bad weight", func() error { return st.EditReal(k, real("10.1.0.2:80", Masq, -4)) }, ErrRange},
		{"edit service", func() error { return st.EditService(&Service{ServiceKey: k, Scheduler: "wrr"}, onlyKnown) }, nil},
		{"edit missing service", func() error {
			return st.EditService(&Service{ServiceKey: tcp("10.0.0.9:80"), Scheduler: "wrr"}, onlyKnown)
		}, ErrNoService},
		{"delete missing real", func() error { return st.DeleteReal(k, netip.MustParseAddr("10.1.0.9"), 80) }, ErrNoDest},
		{"delete real needs its port", func() error { return st.DeleteReal(k, netip.MustParseAddr("10.1.0.1"), 0) }, ErrNoDest},
		{"delete real", func() error { return st.DeleteReal(k, netip.MustParseAddr("10.1.0.1"), 80) }, nil},
		{"delete missing service", func() error { return st.DeleteService(tcp("10.0.0.9:80")) }, ErrNoService},
	}
	for _, s := range steps {
		before := st.Clone()
		err := s.op()
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
		if err != nil {
			if d := Diff(before, st); !d.Empty() {
				t.Fatalf("%s: failed operation changed the state: %+v", s.name, d)
			}
		}
	}
	svc := st.Find(k)
	if svc == nil || svc.Scheduler != "wrr" || len(svc.Reals) != 1 || svc.Reals[0].Weight != 0 {
		t.Fatalf("final service %+v", svc)
	}
	if err := st.DeleteService(k); err != nil || len(st.Services) != 0 {
		t.Fatalf("delete: %v, %d services left", err, len(st.Services))
	}
}

func TestCloneIsDeep(t *testing.T) {
	st := &State{}
	k := tcp("10.0.0.1:80")
	_ = st.AddService(&Service{ServiceKey: k, Scheduler: "rr", Reals: []Real{real("10.1.0.1:80", Masq, 1)}}, Catalog{})
	c := st.Clone()
	c.Services[0].Reals[0].Weight = 7
	_ = c.EditReal(k, real("10.1.0.1:80", Masq, 9))
	if st.Services[0].Reals[0].Weight != 1 {
		t.Fatal("clone shares reals with the original")
	}
}

func TestSchedFlagNames(t *testing.T) {
	tests := []struct {
		sched string
		flags SvcFlags
		want  string
	}{
		{"sh", Sched1 | Sched2, "sh-fallback,sh-port"},
		{"mh", Sched2, "mh-port"},
		{"mh", Sched3, "flag-3"},
		{"rr", Sched1 | Sched3, "flag-1,flag-3"},
		{"rr", Persistent, ""},
	}
	for _, tt := range tests {
		s := Service{Scheduler: tt.sched, Flags: tt.flags}
		if got := s.SchedFlagNames(); got != tt.want {
			t.Errorf("%s %#x: %q, want %q", tt.sched, tt.flags, got, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	base := func() *State {
		st := &State{Timeouts: DefaultTimeouts}
		_ = st.AddService(&Service{ServiceKey: tcp("10.0.0.1:80"), Scheduler: "rr", Reals: []Real{
			real("10.1.0.1:80", Masq, 1), real("10.1.0.2:80", Masq, 1), real("10.1.0.3:80", Masq, 1)}}, Catalog{})
		_ = st.AddService(&Service{ServiceKey: tcp("10.0.0.2:80"), Scheduler: "rr"}, Catalog{})
		return st
	}
	old := base()
	if d := Diff(old, base()); !d.Empty() {
		t.Fatalf("identical states differ: %+v", d)
	}
	n := base()
	_ = n.EditReal(tcp("10.0.0.1:80"), real("10.1.0.2:80", Masq, 5))
	_ = n.DeleteReal(tcp("10.0.0.1:80"), netip.MustParseAddr("10.1.0.3"), 80)
	_ = n.AddReal(tcp("10.0.0.1:80"), real("10.1.0.4:80", Masq, 1))
	_ = n.DeleteService(tcp("10.0.0.2:80"))
	_ = n.AddService(&Service{ServiceKey: tcp("10.0.0.3:80"), Scheduler: "wlc"}, Catalog{})
	n.Timeouts.UDP = 60
	d := Diff(old, n)
	if len(d.Added) != 1 || d.Added[0].Port != 80 || d.Added[0].Addr.String() != "10.0.0.3" {
		t.Errorf("added %+v", d.Added)
	}
	if len(d.Removed) != 1 || d.Removed[0].Addr.String() != "10.0.0.2" {
		t.Errorf("removed %+v", d.Removed)
	}
	if len(d.Changed) != 1 {
		t.Fatalf("changed %+v", d.Changed)
	}
	c := d.Changed[0]
	if c.Attrs || len(c.AddedReals) != 1 || c.AddedReals[0].Addr.String() != "10.1.0.4" ||
		len(c.RemovedReals) != 1 || c.RemovedReals[0].Addr.String() != "10.1.0.3" ||
		len(c.ChangedReals) != 1 || c.ChangedReals[0].Old.Weight != 1 || c.ChangedReals[0].New.Weight != 5 {
		t.Errorf("service change %+v", c)
	}
	if d.Timeouts == nil || d.Timeouts.UDP != 60 {
		t.Errorf("timeouts %+v", d.Timeouts)
	}
	e := base()
	_ = e.EditService(&Service{ServiceKey: tcp("10.0.0.2:80"), Scheduler: "wrr"}, Catalog{})
	if d := Diff(old, e); len(d.Changed) != 1 || !d.Changed[0].Attrs {
		t.Errorf("scheduler change not seen: %+v", d)
	}
	if d := Diff(nil, old); len(d.Added) != 2 {
		t.Errorf("from nil: %+v", d)
	}
}
