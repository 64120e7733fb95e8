package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// TestRun drives Run itself: each event the loop handles ends with one timer Reset,
// which the fake clock reports, so the test waits for it instead of sleeping.
func TestRun(t *testing.T) {
	clock := newFakeClock()
	tr := &fakeTransport{local4: kaSrc4, conns: map[string]*fakeConn{}}
	act := &fakeActions{}
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	r, err := New(vrrpCfg(c), Options{Transport: tr, Actions: act, Clock: clock, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); len(st.Instances) != 1 || st.Instances[0].State != Init {
		t.Fatalf("status before Run %+v", st)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	step := func() time.Duration {
		select {
		case d := <-clock.armed:
			return d
		case err := <-done:
			t.Fatalf("Run returned %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the Router did not go round its loop")
		}
		return 0
	}
	state := func() State { return r.Status().Instances[0].State }
	if d := step(); d != downFor(time.Second, 100) || state() != Backup {
		t.Fatalf("first timer %v in %v, want %v in BACKUP", d, state(), downFor(time.Second, 100))
	}
	clock.Advance(downFor(time.Second, 100))
	if d := step(); d != time.Second || state() != Master {
		t.Fatalf("after the down interval: %v, next timer %v", state(), d)
	}
	tr.conns["VI"].in <- advertFrom(t, c, "10.0.0.2", 200, nil)
	step()
	if st := r.Status().Instances[0]; st.State != Backup || st.MasterAddr != "10.0.0.2" || st.Counters.Received != 1 {
		t.Fatalf("after a higher priority advert: %+v", st)
	}
	r.SetLink("eth0", false)
	step()
	if state() != Fault {
		t.Fatalf("link down: %v", state())
	}
	r.SetLink("eth0", true)
	step()
	clock.Advance(downFor(time.Second, 100))
	step()
	if state() != Master {
		t.Fatalf("link back, no master: %v", state())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st := r.Status().Instances[0]; st.State != Stop || st.Counters.PriZeroSent != 1 {
		t.Errorf("after Run: %+v", st)
	}
	got := act.take()
	if got[len(got)-1] != "notify INSTANCE VI STOP 100" || !slices.Contains(got, "remove VI 10.0.0.100/24@eth0") {
		t.Errorf("actions %v", got)
	}
	if _, open := <-tr.conns["VI"].in; open {
		t.Error("conn not closed")
	}
}

type failingTransport struct {
	fakeTransport
	failOn string
}

func (t *failingTransport) Open(in *config.VRRPInstance) (Conn, error) {
	if in.Name == t.failOn {
		return nil, errors.New("no such device")
	}
	return t.fakeTransport.Open(in)
}

func TestRunOpenError(t *testing.T) {
	tr := &failingTransport{fakeTransport{local4: kaSrc4, conns: map[string]*fakeConn{}}, "B"}
	r, err := New(vrrpCfg(instCfg("A", 1, 100, "10.0.0.1/32"), instCfg("B", 2, 100, "10.0.0.2/32")),
		Options{Transport: tr, Actions: &fakeActions{}, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(t.Context())
	if err == nil || err.Error() != "vrrp_instance B: no such device" {
		t.Fatalf("Run = %v", err)
	}
	if _, open := <-tr.conns["A"].in; open {
		t.Error("A's conn left open")
	}
}

func TestNewErrors(t *testing.T) {
	opts := Options{Transport: &fakeTransport{}, Actions: &fakeActions{}}
	v6 := instCfg("V6", 1, 100, "fd00::1/64")
	v6.AuthType, v6.AuthPass = "PASS", "x"
	tests := []struct {
		name string
		cfg  func() *config.VRRP
		opts Options
		want string
	}{
		{"no transport", func() *config.VRRP { return vrrpCfg() }, Options{Actions: &fakeActions{}}, "Options.Transport and Options.Actions are required"},
		{"VRID 0", func() *config.VRRP { return vrrpCfg(instCfg("A", 0, 100, "10.0.0.1/32")) }, opts, "vrrp_instance A: virtual_router_id 0 not in 1..255"},
		{"priority 0", func() *config.VRRP { return vrrpCfg(instCfg("A", 1, 0, "10.0.0.1/32")) }, opts, "vrrp_instance A: priority 0 not in 1..255"},
		{"mixed families", func() *config.VRRP { return vrrpCfg(instCfg("A", 1, 100, "10.0.0.1/32", "fd00::1/128")) }, opts, "mixes IPv4 and IPv6"},
		{"v3 without VIP", func() *config.VRRP { c := instCfg("A", 1, 100); c.Version = 3; return vrrpCfg(c) }, opts, "no VIP specified; at least one is required"},
		{"v2 sub-second", func() *config.VRRP {
			c := instCfg("A", 1, 100, "10.0.0.1/32")
			c.AdvertInt = 500 * time.Millisecond
			return vrrpCfg(c)
		}, opts, "VRRPv2 advert_int 500ms must be whole seconds"},
		{"v3 too slow", func() *config.VRRP {
			c := instCfg("A", 1, 100, "10.0.0.1/32")
			c.Version, c.AdvertInt = 3, 41*time.Second
			return vrrpCfg(c)
		}, opts, "VRRPv3 advert_int 41s must be whole centiseconds up to 40.95 s"},
		{"AH", func() *config.VRRP {
			c := instCfg("A", 1, 100, "10.0.0.1/32")
			c.AuthType, c.AuthPass = "AH", "x"
			return vrrpCfg(c)
		}, opts, "vrrp_instance A: IPsec AH authentication is not supported"},
		{"peer family", func() *config.VRRP {
			c := instCfg("A", 1, 100, "10.0.0.1/32")
			c.UnicastPeers = addrs("fd00::2")
			return vrrpCfg(c)
		}, opts, "unicast_peer fd00::2 is not of the instance's family"},
		{"unknown script", func() *config.VRRP {
			c := instCfg("A", 1, 100, "10.0.0.1/32")
			c.TrackScripts = []config.TrackScript{{Name: "nope"}}
			return vrrpCfg(c)
		}, opts, "vrrp_instance A: track script nope not found"},
		{"duplicate", func() *config.VRRP {
			return vrrpCfg(instCfg("A", 1, 100, "10.0.0.1/32"), instCfg("A", 2, 100, "10.0.0.1/32"))
		}, opts, "vrrp_instance A defined twice"},
		{"group member", func() *config.VRRP {
			cfg := vrrpCfg(instCfg("A", 1, 100, "10.0.0.1/32"))
			cfg.SyncGroups = []*config.VRRPSyncGroup{{Name: "G", Instances: []string{"A", "Z"}}}
			return cfg
		}, opts, "vrrp_sync_group G: instance Z not found"},
		{"two groups", func() *config.VRRP {
			cfg := vrrpCfg(instCfg("A", 1, 100, "10.0.0.1/32"))
			cfg.SyncGroups = []*config.VRRPSyncGroup{{Name: "G", Instances: []string{"A"}}, {Name: "H", Instances: []string{"A"}}}
			return cfg
		}, opts, "vrrp_sync_group H: instance A is already in G"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// IPv6 forces VRRPv3 and drops authentication, as keepalived does.
	r, err := New(vrrpCfg(v6), opts)
	if err != nil {
		t.Fatal(err)
	}
	if in := r.insts[0]; in.version != 3 || in.authType != AuthNone {
		t.Errorf("IPv6 instance: version %d auth %v", in.version, in.authType)
	}
}

func TestSendErrorsCounted(t *testing.T) {
	l := newLab(t)
	n := l.add(vrrpCfg(instCfg("VI", 51, 255, "10.0.0.100/24")), "10.0.0.1", nil)
	n.tr.conns["VI"].err = errors.New("network is down")
	l.run(3 * time.Second)
	in := n.inst("VI")
	if in.counters.SendErrors != in.counters.Sent || in.counters.Sent != 3 {
		t.Errorf("Sent %d, SendErrors %d; want 3 and 3", in.counters.Sent, in.counters.SendErrors)
	}
	n.tr.conns["VI"].local = netip.Addr{}
	n.tr.conns["VI"].err = nil
	l.run(time.Second)
	if in.counters.SendErrors != 4 {
		t.Errorf("no source address: SendErrors %d, want 4", in.counters.SendErrors)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Init: "INIT", Backup: "BACKUP", Master: "MASTER", Fault: "FAULT", Stop: "STOP", 9: "State(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
		if b, _ := s.MarshalText(); string(b) != want {
			t.Errorf("%d: MarshalText %q", int(s), b)
		}
	}
}
