package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// startDemo starts c.demoReals HTTP servers on loopback (127.0.0.1, ports after the VIP's),
// each answering its own name, and returns a table with a round-robin VIP in front of them.
// The servers stop when ctx ends.
func startDemo(ctx context.Context, c *options, log *slog.Logger) (*lb.State, error) {
	vip, err := netip.ParseAddrPort(c.demoVIP)
	if err != nil {
		return nil, fmt.Errorf("--demo-vip: %w", err)
	}
	if c.demoReals < 1 || c.demoReals > 100 {
		return nil, errors.New("--demo-reals: 1 to 100")
	}
	svc := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: vip.Addr(), Port: vip.Port()}, Scheduler: "rr"}
	for i := 1; i <= c.demoReals; i++ {
		addr := netip.AddrPortFrom(vip.Addr(), vip.Port()+uint16(i))
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			return nil, fmt.Errorf("demo real server %d: %w", i, err)
		}
		name := fmt.Sprintf("demo real server %d (%s)", i, addr)
		srv := &http.Server{
			ReadHeaderTimeout: 5 * time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s: %s %s from %s\n", name, r.Method, r.URL.Path, r.RemoteAddr)
			}),
		}
		go srv.Serve(ln)
		go func() { <-ctx.Done(); srv.Close() }()
		svc.Reals = append(svc.Reals, lb.Real{Addr: addr.Addr(), Port: addr.Port(), Forward: lb.Masq, Weight: 1})
		log.Info("demo real server", "addr", addr)
	}
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	if err := st.AddService(svc, catalog()); err != nil {
		return nil, err
	}
	log.Info("demo virtual service: try  curl http://"+vip.String()+"/  several times", "vip", vip, "scheduler", "rr")
	return st, nil
}
