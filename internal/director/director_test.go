package director

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/fake"
	"github.com/golvs/golvs/internal/lb"
)

func key(ap string) *lb.ServiceKey {
	a := netip.MustParseAddrPort(ap)
	return &lb.ServiceKey{Protocol: lb.TCP, Addr: a.Addr(), Port: a.Port()}
}

func rs(ap string, fwd lb.Forward, w int32) *lb.Real {
	a := netip.MustParseAddrPort(ap)
	return &lb.Real{Addr: a.Addr(), Port: a.Port(), Forward: fwd, Weight: w}
}

func start(t *testing.T, cfg Config, initial *lb.State) *Director {
	t.Helper()
	d := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx, initial) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return d
}

func TestExecAtomic(t *testing.T) {
	eng := fake.New(lb.Route)
	d := start(t, Config{Engine: eng}, nil)
	ctx := context.Background()
	ok := []Op{
		{Kind: AddService, Service: &lb.Service{ServiceKey: *key("10.0.0.1:80"), Scheduler: "rr"}},
		{Kind: AddReal, Key: key("10.0.0.1:80"), Real: rs("10.1.0.1:80", lb.Masq, 1)},
	}
	if err := d.Exec(ctx, ok); err != nil {
		t.Fatal(err)
	}
	_, applied := eng.State()
	tests := []struct {
		name  string
		ops   []Op
		index int
		want  error
	}{
		{"second op fails", []Op{
			{Kind: AddReal, Key: key("10.0.0.1:80"), Real: rs("10.1.0.2:80", lb.Masq, 1)},
			{Kind: AddService, Service: &lb.Service{ServiceKey: *key("10.0.0.1:80"), Scheduler: "rr"}},
		}, 1, lb.ErrServiceExists},
		{"missing service", []Op{{Kind: DeleteService, Key: key("10.0.0.9:80")}}, 0, lb.ErrNoService},
		{"zero of a missing service", []Op{{Kind: Zero, Key: key("10.0.0.9:80")}}, 0, lb.ErrNoService},
		{"unknown op", []Op{{Kind: "frobnicate"}}, 0, lb.ErrInvalid},
	}
	for _, tt := range tests {
		err := d.Exec(ctx, tt.ops)
		var oe *OpError
		if !errors.As(err, &oe) || oe.Index != tt.index || !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want op %d failing with %v", tt.name, err, tt.index, tt.want)
		}
	}
	// the engine refuses route: the director keeps its table and re-applies the old one
	err := d.Exec(ctx, []Op{{Kind: AddReal, Key: key("10.0.0.1:80"), Real: rs("10.1.0.3:80", lb.Route, 1)}})
	if !errors.Is(err, engine.ErrNotSupported) {
		t.Fatalf("route on an engine without it: %v", err)
	}
	st, _ := d.State(ctx)
	got, n := eng.State()
	if len(st.Services) != 1 || len(st.Services[0].Reals) != 1 || len(got.Services[0].Reals) != 1 || n != applied {
		t.Fatalf("a refused change leaked: table %+v, engine %+v (applied %d, before %d)", st.Services[0], got.Services[0], n, applied)
	}
}

func TestSetTimeoutsZeroKeeps(t *testing.T) {
	d := start(t, Config{Engine: fake.New()}, nil)
	ctx := context.Background()
	if err := d.Exec(ctx, []Op{{Kind: SetTimeouts, Timeouts: &lb.Timeouts{TCP: 1000, UDP: 400}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Exec(ctx, []Op{{Kind: SetTimeouts, Timeouts: &lb.Timeouts{}}}); err != nil {
		t.Fatal(err)
	}
	st, _ := d.State(ctx)
	if want := (lb.Timeouts{TCP: 1000, TCPFin: 120, UDP: 400}); st.Timeouts != want {
		t.Fatalf("timeouts %+v, want %+v", st.Timeouts, want)
	}
}

func TestPersistAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	store := &Store{Path: path}
	ctx := context.Background()
	func() {
		d := New(Config{Engine: fake.New(), Store: store})
		c, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- d.Run(c, nil) }()
		defer func() { cancel(); <-done }()
		if err := d.Exec(ctx, []Op{
			{Kind: AddService, Service: &lb.Service{ServiceKey: *key("10.0.0.1:80"), Scheduler: "wrr", Flags: lb.Persistent, Timeout: 600, Netmask: 0xffffff00}},
			{Kind: AddReal, Key: key("10.0.0.1:80"), Real: rs("10.1.0.1:80", lb.Masq, 3)},
		}); err != nil {
			t.Fatal(err)
		}
	}()
	st, err := store.Load()
	if err != nil || st == nil {
		t.Fatalf("Load: %v, %v", st, err)
	}
	want := &lb.State{Timeouts: lb.DefaultTimeouts}
	_ = want.AddService(&lb.Service{ServiceKey: *key("10.0.0.1:80"), Scheduler: "wrr", Flags: lb.Persistent, Timeout: 600, Netmask: 0xffffff00,
		Reals: []lb.Real{*rs("10.1.0.1:80", lb.Masq, 3)}}, lb.Catalog{})
	if d := lb.Diff(want, st); !d.Empty() {
		t.Fatalf("restored table differs: %+v", d)
	}
	eng := fake.New()
	d := start(t, Config{Engine: eng, Store: store}, st)
	got, _ := d.State(ctx)
	if e, _ := eng.State(); len(e.Services) != 1 || len(got.Services) != 1 {
		t.Fatalf("restart did not restore: table %d services, engine %d", len(got.Services), len(e.Services))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left beside the table: %v", entries)
	}
}

func TestStoreRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for _, content := range []string{"{", `{"version": 99, "state": {}}`, `{"version": 1}`} {
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := (&Store{Path: path}).Load(); err == nil {
			t.Errorf("Load accepted %q", content)
		}
	}
	if st, err := (&Store{Path: filepath.Join(t.TempDir(), "none")}).Load(); st != nil || err != nil {
		t.Errorf("missing file: %v, %v", st, err)
	}
}

func TestReplaceIsADiff(t *testing.T) {
	eng := fake.New(lb.Tunnel)
	d := start(t, Config{Engine: eng}, nil)
	ctx := context.Background()
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	_ = st.AddService(&lb.Service{ServiceKey: *key("10.0.0.1:80"), Scheduler: "rr", Reals: []lb.Real{*rs("10.1.0.1:80", lb.Masq, 1)}}, lb.Catalog{})
	if err := d.Replace(ctx, st); err != nil {
		t.Fatal(err)
	}
	_, n1 := eng.State()
	if err := d.Replace(ctx, st.Clone()); err != nil {
		t.Fatal(err)
	}
	if _, n2 := eng.State(); n2 != n1 {
		t.Errorf("an identical reload applied again (%d -> %d)", n1, n2)
	}
	bad := st.Clone()
	_ = bad.AddReal(*key("10.0.0.1:80"), *rs("10.1.0.2:80", lb.Tunnel, 1))
	if err := d.Replace(ctx, bad); !errors.Is(err, engine.ErrNotSupported) {
		t.Fatalf("refused reload: %v", err)
	}
	dup := &lb.State{Timeouts: lb.DefaultTimeouts, Services: []*lb.Service{st.Services[0], st.Services[0]}}
	if err := d.Replace(ctx, dup); !errors.Is(err, lb.ErrServiceExists) {
		t.Fatalf("invalid reload: %v", err)
	}
	cur, _ := d.State(ctx)
	if diff := lb.Diff(st, cur); !diff.Empty() {
		t.Fatalf("refused reloads changed the table: %+v", diff)
	}
}

func TestDaemonNeedsASyncer(t *testing.T) {
	d := start(t, Config{Engine: fake.New()}, nil)
	err := d.Exec(context.Background(), []Op{{Kind: StartDaemon, Daemon: &engine.SyncDaemon{MCastIfn: "eth0"}}})
	if !errors.Is(err, engine.ErrNotSupported) || !strings.Contains(err.Error(), "the connection sync daemon needs the ipvs engine") {
		t.Fatalf("start-daemon on the fake engine: %v", err)
	}
}
