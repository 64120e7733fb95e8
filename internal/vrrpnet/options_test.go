package vrrpnet

import (
	"errors"
	"net/netip"
	"testing"
)

// TestListenValidation covers the checks Listen makes before touching the system, so it
// runs without privileges.
func TestListenValidation(t *testing.T) {
	cases := []struct {
		name    string
		o       Options
		wantErr error
	}{
		{"family of peers", Options{Interface: "x", Family: 4, Peers: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, ErrFamily},
		{"family of source", Options{Interface: "x", Family: 6, Unicast: netip.MustParseAddr("192.0.2.1")}, ErrFamily},
		{"mixed", Options{Interface: "x", Unicast: netip.MustParseAddr("192.0.2.1"), Peers: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, ErrFamily},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Listen(tc.o); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Listen: %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := Listen(Options{}); err == nil {
		t.Fatal("Listen without interface succeeded")
	}
	if _, err := Listen(Options{Interface: "x", Family: 5}); err == nil {
		t.Fatal("Listen with family 5 succeeded")
	}
}

func TestOptionsFamily(t *testing.T) {
	cases := []struct {
		o    Options
		want int
	}{
		{Options{}, 4},
		{Options{Family: 6}, 6},
		{Options{Unicast: netip.MustParseAddr("2001:db8::1")}, 6},
		{Options{Peers: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, 6},
		{Options{Peers: []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1")}}, 4},
	}
	for _, tc := range cases {
		if got := tc.o.family(); got != tc.want {
			t.Errorf("%+v.family() = %d, want %d", tc.o, got, tc.want)
		}
	}
}
