package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/vip"
)

// failover records what the runner asks of VRRP.
type failover struct {
	mu      sync.Mutex
	updates []string // instance names of each Update, joined
	closed  int
	refuse  bool
}

func (f *failover) Update(cfg *config.VRRP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		return errors.New("refused")
	}
	var names []string
	for _, in := range cfg.Instances {
		names = append(names, in.Name)
	}
	f.updates = append(f.updates, strings.Join(names, ","))
	return nil
}

func (f *failover) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
}

func (f *failover) get() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.updates...), f.closed
}

const vrrpConf = `vrrp_instance %s {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 10.0.1.1 80 {
        TCP_CHECK {
        }
    }
}
`

// TestRunFailover: VRRP starts with the file, follows its reloads (a refused VRRP part
// refuses the whole reload) and stops at the end.
func TestRunFailover(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "keepalived.conf", fmt.Sprintf(vrrpConf, "VI_1"))
	f := &failover{}
	var logs strings.Builder
	var logMu sync.Mutex
	r := New(Options{Format: Keepalived, Path: p, Catalog: catalog(), Director: &director{notify: make(chan struct{}, 1)},
		NewChecker: upChecker, Failover: f, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, reload) }()
	waitLog(t, &logMu, &logs, "ha_suspend services are checked all the time")

	write(t, dir, "keepalived.conf", fmt.Sprintf(vrrpConf, "VI_2"))
	reload <- struct{}{}
	waitLog(t, &logMu, &logs, "configuration reloaded")
	f.mu.Lock()
	f.refuse = true
	f.mu.Unlock()
	write(t, dir, "keepalived.conf", fmt.Sprintf(vrrpConf, "VI_3"))
	reload <- struct{}{}
	waitLog(t, &logMu, &logs, "reload refused: VRRP")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	updates, closed := f.get()
	if strings.Join(updates, " ") != "VI_1 VI_2" || closed != 1 {
		t.Fatalf("updates %q, closes %d", updates, closed)
	}
}

// suspends records Suspend calls.
type suspends struct{ calls []string }

func (s *suspends) Suspend(k lb.ServiceKey, on bool) error {
	s.calls = append(s.calls, fmt.Sprintf("%s=%v", k.Addr, on))
	return nil
}

func TestSuspender(t *testing.T) {
	ch := make(chan vip.AddrEvent, 4)
	ch <- vip.AddrEvent{Addr: netip.MustParseAddr("192.0.2.1"), Present: true}
	var s suspender
	events := s.start(context.Background(), func(context.Context) (<-chan vip.AddrEvent, error) { return ch, nil }, slog.New(slog.DiscardHandler))
	svc := func(addr string, ha bool) *config.Service {
		return &config.Service{Service: lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr(addr), Port: 80}}, HASuspend: ha}
	}
	cfg := &config.Config{Services: []*config.Service{svc("192.0.2.1", true), svc("192.0.2.2", true), svc("192.0.2.3", false)}}
	mon := &suspends{}
	s.apply(cfg, mon)
	if got := strings.Join(mon.calls, " "); got != "192.0.2.1=false 192.0.2.2=true" {
		t.Fatalf("after start: %q", got)
	}
	mon.calls = nil
	ch <- vip.AddrEvent{Addr: netip.MustParseAddr("192.0.2.2"), Present: true}
	s.addr(<-events, mon)
	ch <- vip.AddrEvent{Addr: netip.MustParseAddr("192.0.2.1"), Present: false}
	s.addr(<-events, mon)
	if got := strings.Join(mon.calls, " "); got != "192.0.2.2=false 192.0.2.1=true" {
		t.Fatalf("after address events: %q", got)
	}
	// A reload keeps the state of services that stay; a new one follows its address.
	mon.calls = nil
	cfg.Services[2].HASuspend = true
	s.apply(cfg, mon)
	if got := strings.Join(mon.calls, " "); got != "192.0.2.1=true 192.0.2.2=false 192.0.2.3=true" {
		t.Fatalf("after reload: %q", got)
	}
}
