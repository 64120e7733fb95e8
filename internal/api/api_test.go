package api

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/fake"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

func serve(t *testing.T) (*Client, string) {
	t.Helper()
	eng := fake.New(lb.Route)
	d := director.New(director.Config{Engine: eng})
	ctx, cancel := context.WithCancel(context.Background())
	go d.Run(ctx, nil)
	sock := filepath.Join(t.TempDir(), "lvsd.sock")
	ln, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- NewServer(d, eng, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return NewClient(sock), sock
}

func TestExecAndSnapshot(t *testing.T) {
	c, sock := serve(t)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v (%v), want 0600", fi.Mode(), err)
	}
	ctx := context.Background()
	k := lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	r := lb.Real{Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Forward: lb.Masq, Weight: 2}
	if err := c.Exec(ctx, []director.Op{
		{Kind: director.AddService, Service: &lb.Service{ServiceKey: k, Scheduler: "rr"}},
		{Kind: director.AddReal, Key: &k, Real: &r},
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Engine != "fake" || len(snap.State.Services) != 1 || snap.State.Services[0].Reals[0] != r ||
		len(snap.Counters) != 1 || snap.Counters[0].Key != k {
		t.Fatalf("snapshot %+v", snap)
	}
	tests := []struct {
		name  string
		ops   []director.Op
		want  error
		index int
	}{
		{"exists", []director.Op{{Kind: director.AddService, Service: &lb.Service{ServiceKey: k, Scheduler: "rr"}}}, lb.ErrServiceExists, 0},
		{"no dest", []director.Op{{Kind: director.Flush}, {Kind: director.EditReal, Key: &k, Real: &r}}, lb.ErrNoService, 1},
		{"not supported", []director.Op{{Kind: director.AddReal, Key: &k, Real: &lb.Real{Addr: netip.MustParseAddr("10.1.0.2"), Port: 80, Forward: lb.Route, Weight: 1}}}, engine.ErrNotSupported, -1},
	}
	for _, tt := range tests {
		err := c.Exec(ctx, tt.ops)
		var ae *Error
		if !errors.As(err, &ae) || !errors.Is(err, tt.want) || ae.Index != tt.index {
			t.Errorf("%s: got %v (%+v), want %v at %d", tt.name, err, ae, tt.want, tt.index)
		}
	}
	if snap, _ := c.Snapshot(ctx, false); len(snap.State.Services) != 1 {
		t.Fatalf("failed batches changed the table: %+v", snap.State)
	}
}

func TestListenUnixRefusesLiveSocket(t *testing.T) {
	_, sock := serve(t)
	if _, err := ListenUnix(sock); err == nil {
		t.Fatal("a second lvsd could take over a live socket")
	}
	other := filepath.Join(t.TempDir(), "file")
	os.WriteFile(other, nil, 0o600)
	if _, err := ListenUnix(other); err == nil {
		t.Fatal("ListenUnix replaced a regular file")
	}
}

// TestErrnoRoundTrip: a refusal that carries the kernel's errno (the ipvs engine's) reaches
// the client with it, beside its sentinel, so that lvsadm words it as ipvsadm does.
func TestErrnoRoundTrip(t *testing.T) {
	kernel := func(e syscall.Errno) error {
		return &ipvsnl.KernelError{Op: "new daemon master nosuch0 syncid 0", Errno: e}
	}
	sent := &director.OpError{Index: 0, Err: fmt.Errorf("ipvs engine: %w", kernel(syscall.ENODEV))}
	got := replyFor(sent).err()
	if !errors.Is(got, syscall.ENODEV) || got.Error() != sent.Error() {
		t.Errorf("ENODEV came back as %v", got)
	}
	both := replyFor(fmt.Errorf("%w (%w)", kernel(syscall.EEXIST), lb.ErrServiceExists)).err()
	if !errors.Is(both, syscall.EEXIST) || !errors.Is(both, lb.ErrServiceExists) {
		t.Errorf("EEXIST with its sentinel came back as %#v", both)
	}
	if plain := replyFor(lb.ErrNoDest).err().(*Error); plain.Errno != 0 || !errors.Is(plain, lb.ErrNoDest) {
		t.Errorf("a refusal without errno came back as %#v", plain)
	}
	// An errno that is not the kernel IPVS's refusal (a proxy engine's bind) stays in the text.
	bind := fmt.Errorf("proxy engine: listen tcp 10.0.0.1:80: %w", syscall.EADDRINUSE)
	if e := replyFor(bind).err().(*Error); e.Errno != 0 || e.Msg != bind.Error() {
		t.Errorf("a bind error came back as %#v", e)
	}
}
