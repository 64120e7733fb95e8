package vip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

func TestAddRemove(t *testing.T) {
	h := twoHosts(t)
	m := manager(t, h.a)
	v4 := config.VIP{Prefix: vip4, Dev: "a0", Label: "a0:1", Scope: "link"}
	v4net := config.VIP{Prefix: netip.MustParsePrefix("198.51.100.7/24"), Dev: "a0"}
	v6 := config.VIP{Prefix: vip6, Dev: "a0", Label: "ignored", Scope: "host"}
	v6net := config.VIP{Prefix: netip.MustParsePrefix("2001:db8:1::7/64"), Dev: "a0"}

	for _, v := range []config.VIP{v4, v4net, v6, v6net} {
		for i := 0; i < 2; i++ { // the second Add finds the address there
			if err := m.Add(v); err != nil {
				t.Fatalf("Add(%+v) #%d: %v", v, i+1, err)
			}
		}
		if ok, err := m.Has(v); err != nil || !ok {
			t.Errorf("Has(%+v) = %v, %v after Add", v, ok, err)
		}
	}
	list := addrs(t, h.a, "a0")
	want := []addrInfo{
		{Family: "inet", Local: "192.0.2.100", PrefixLen: 32, Scope: "link", Label: "a0:1", Preferred: 1<<32 - 1},
		{Family: "inet", Local: "198.51.100.7", PrefixLen: 24, Scope: "global", Label: "a0", Preferred: 1<<32 - 1},
		// A /128 is deprecated (preferred lifetime 0); label and scope are ignored.
		{Family: "inet6", Local: "2001:db8::100", PrefixLen: 128, Scope: "global", NoDAD: true, Deprecate: true},
		{Family: "inet6", Local: "2001:db8:1::7", PrefixLen: 64, Scope: "global", NoDAD: true, Preferred: 1<<32 - 1},
	}
	for _, w := range want {
		got, ok := findAddr(list, w.Local)
		if !ok {
			t.Errorf("%s not on a0: %+v", w.Local, list)
			continue
		}
		if got != w {
			t.Errorf("ip -j addr for %s:\n got %+v\nwant %+v", w.Local, got, w)
		}
	}

	for _, v := range []config.VIP{v4, v4net, v6, v6net} {
		for i := 0; i < 2; i++ { // the second Remove finds nothing to remove
			if err := m.Remove(v); err != nil {
				t.Fatalf("Remove(%+v) #%d: %v", v, i+1, err)
			}
		}
		if ok, err := m.Has(v); err != nil || ok {
			t.Errorf("Has(%+v) = %v, %v after Remove", v, ok, err)
		}
	}
	for _, w := range want {
		if _, ok := findAddr(addrs(t, h.a, "a0"), w.Local); ok {
			t.Errorf("%s still on a0 after Remove", w.Local)
		}
	}
	// The interface's own addresses are untouched.
	if _, ok := findAddr(addrs(t, h.a, "a0"), "192.0.2.1"); !ok {
		t.Error("192.0.2.1 disappeared from a0")
	}
}

func TestAddRemoveErrors(t *testing.T) {
	h := twoHosts(t)
	m := manager(t, h.a)
	cases := []struct {
		name    string
		v       config.VIP
		wantErr error
	}{
		{"no device", config.VIP{Prefix: vip4}, ErrInvalid},
		{"no address", config.VIP{Dev: "a0"}, ErrInvalid},
		{"long label", config.VIP{Prefix: vip4, Dev: "a0", Label: "a0:0123456789abc"}, ErrInvalid},
		{"bad scope", config.VIP{Prefix: vip4, Dev: "a0", Scope: "galaxy"}, ErrInvalid},
		{"missing device", config.VIP{Prefix: vip4, Dev: "nope0"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Add(tc.v)
			if err == nil {
				t.Fatal("Add succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Add: %v, want %v", err, tc.wantErr)
			}
			if tc.v.Prefix.IsValid() && !strings.Contains(err.Error(), tc.v.Prefix.String()) {
				t.Errorf("error %q does not name the VIP", err)
			}
		})
	}
	// Removing from a device that does not exist: the address is absent, not an error.
	if err := m.Remove(config.VIP{Prefix: vip4, Dev: "nope0"}); err != nil {
		t.Errorf("Remove on missing device: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(config.VIP{Prefix: vip4, Dev: "a0"}); err == nil {
		t.Error("Add after Close succeeded")
	}
}

func TestPromoteSecondaries(t *testing.T) {
	h := twoHosts(t)
	m := manager(t, h.a)
	read := func() string {
		out, err := h.a.Exec("cat", "/proc/sys/net/ipv4/conf/a0/promote_secondaries")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	h.a.Sysctl("net.ipv4.conf.a0.promote_secondaries", "0")
	prev, err := m.SetPromoteSecondaries("a0", true)
	if err != nil || prev {
		t.Fatalf("SetPromoteSecondaries(a0, true) = %v, %v; want false, nil", prev, err)
	}
	if got := read(); got != "1" {
		t.Fatalf("promote_secondaries = %s after setting, want 1", got)
	}
	// With it on, removing a primary VIP keeps the secondary of the same subnet.
	primary := config.VIP{Prefix: netip.MustParsePrefix("198.51.100.1/24"), Dev: "a0"}
	secondary := config.VIP{Prefix: netip.MustParsePrefix("198.51.100.2/24"), Dev: "a0"}
	for _, v := range []config.VIP{primary, secondary} {
		if err := m.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Remove(primary); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.Has(secondary); err != nil || !ok {
		t.Errorf("secondary gone after removing the primary: %v %v", ok, err)
	}
	prev, err = m.SetPromoteSecondaries("a0", false)
	if err != nil || !prev {
		t.Fatalf("SetPromoteSecondaries(a0, false) = %v, %v; want true, nil", prev, err)
	}
	if got := read(); got != "0" {
		t.Fatalf("promote_secondaries = %s after clearing, want 0", got)
	}
	if _, err := m.SetPromoteSecondaries("../all", true); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetPromoteSecondaries(../all): %v, want ErrInvalid", err)
	}
}
