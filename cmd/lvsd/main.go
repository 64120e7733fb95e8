// Command lvsd is the GoLVS director daemon: it owns the virtual-service table, programs an
// engine with it, and serves the API that lvsadm uses on a unix socket.
//
//	lvsd [--engine proxy] [--socket /run/lvsd.sock] [--state FILE | --no-state]
//	     [-f keepalived.conf | --ldirectord ldirectord.cf | --restore RULES | --demo]
//	     [proxy options | ipvs options]
//	lvsd -t -f keepalived.conf      (or -t --ldirectord FILE): check the file, exit 0 or 1
//
// Where the table comes from: a keepalived.conf (-f) or ldirectord.cf (--ldirectord), whose
// health checks then decide which reals are in it, reloaded on SIGHUP; else --demo; else
// --restore RULES (ipvsadm -S output); else the saved table (--state); else empty. Without a
// configuration file every accepted change is saved to --state (write to a temporary file,
// fsync, rename), so a restart loses nothing; --no-state turns that off. With a
// configuration file, the file is the source of truth and nothing is saved. The
// vrrp_instance blocks of a keepalived.conf run too (internal/failover): VIPs move between
// directors as keepalived moves them, their state is at GET /v1/vrrp, and on SIGTERM masters
// send priority 0 and remove their VIPs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/ipvs"
	"github.com/golvs/golvs/internal/engine/proxy"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/sched"
)

// DefaultStatePath is where lvsd keeps its table between restarts.
const DefaultStatePath = "/var/lib/lvsd/state.json"

type options struct {
	engine     string
	socket     string
	statePath  string
	noState    bool
	restore    string
	demo       bool
	keepalived string
	ldirector  string
	testOnly   bool
	configID   string
	demoVIP    string
	demoReals  int
	logLevel   string
	proxy      proxy.Options
	ipvs       ipvs.Options
	connectTmo time.Duration
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "lvsd: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	c := &options{}
	fs := flag.NewFlagSet("lvsd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.engine, "engine", "proxy", "data plane: proxy (userspace L4, no privileges needed) or ipvs (the kernel's IPVS, root)")
	fs.BoolVar(&c.ipvs.OwnTable, "ipvs-own-table", false, "ipvs: lvsd owns the whole kernel table and removes services it did not add (default: leave them alone, as keepalived does)")
	fs.BoolVar(&c.ipvs.KeepOnClose, "ipvs-keep-on-close", false, "ipvs: leave lvsd's services in the kernel when lvsd stops (default: remove them, as keepalived does)")
	fs.StringVar(&c.ipvs.NetNS, "ipvs-netns", "", "ipvs: program the IPVS table of this network namespace (/run/netns/NAME)")
	fs.StringVar(&c.socket, "socket", api.DefaultSocket, "API socket (mode 0600) that lvsadm talks to")
	fs.StringVar(&c.statePath, "state", DefaultStatePath, "file that keeps the table across restarts")
	fs.BoolVar(&c.noState, "no-state", false, "do not save the table (a restart starts empty or from --restore)")
	fs.StringVar(&c.restore, "restore", "", "start from these ipvsadm-save rules (all or nothing)")
	fs.StringVar(&c.keepalived, "f", "", "run this keepalived.conf: its virtual servers, health checks, sorry servers and VRRP instances (reloaded on SIGHUP)")
	fs.StringVar(&c.ldirector, "ldirectord", "", "run this ldirectord.cf (reloaded on SIGHUP, and on change with autoreload=yes)")
	fs.BoolVar(&c.testOnly, "t", false, "check the configuration file (-f or --ldirectord), print its warnings and errors, exit 0 or 1")
	fs.StringVar(&c.configID, "config-id", "", "keepalived's -i: which @ID lines apply (default: the host name up to its first dot)")
	fs.BoolVar(&c.demo, "demo", false, "start demo real servers on loopback and a round-robin VIP in front of them (implies --no-state)")
	fs.StringVar(&c.demoVIP, "demo-vip", "127.0.0.1:8080", "the demo's virtual service address")
	fs.IntVar(&c.demoReals, "demo-reals", 3, "how many demo real servers to start")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&c.proxy.Retries, "proxy-retries", 0, "proxy: other reals to try when connecting to the chosen one fails (0 = reset the client, like IPVS)")
	fs.IntVar(&c.proxy.Listeners, "proxy-listeners", 0, "proxy: TCP listeners per service, each with its own event loop (reactor) or accept goroutine (0 = GOMAXPROCS)")
	fs.DurationVar(&c.connectTmo, "proxy-connect-timeout", 5*time.Second, "proxy: timeout of a connect to a real")
	fs.StringVar(&c.proxy.DataPath, "proxy-data-path", "", "proxy: TCP data path: reactor (an epoll event loop per CPU; the default on Linux) or goroutine (two goroutines per connection; the default elsewhere)")
	fs.BoolVar(&c.proxy.ExpireNodestConn, "expire-nodest-conn", false, "close the connections of a deleted real at once (the kernel sysctl)")
	fs.BoolVar(&c.proxy.ExpireQuiescentTemplate, "expire-quiescent-template", false, "do not use persistence templates of reals with weight 0 (the kernel sysctl)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.proxy.ConnectTimeout = c.connectTmo
	sources := 0
	for _, on := range []bool{c.keepalived != "", c.ldirector != "", c.restore != "", c.demo} {
		if on {
			sources++
		}
	}
	if sources > 1 {
		return nil, errors.New("-f, --ldirectord, --restore and --demo exclude each other")
	}
	if c.testOnly && c.keepalived == "" && c.ldirector == "" {
		return nil, errors.New("-t needs -f FILE or --ldirectord FILE")
	}
	if c.demo || c.keepalived != "" || c.ldirector != "" {
		c.noState = true
	}
	if c.configID == "" {
		host, _ := os.Hostname()
		c.configID, _, _ = strings.Cut(host, ".")
	}
	return c, nil
}

func run(args []string, logOut io.Writer) error {
	c, err := parseFlags(args, logOut)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if c.testOnly {
		return checkConfig(c, logOut)
	}
	// the API socket and the saved table are root's (0600); no window in between
	syscall.Umask(0o077)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var store *director.Store
	if !c.noState {
		store = &director.Store{Path: c.statePath}
	}
	initial, err := startingTable(ctx, c, store, log)
	if err != nil {
		return err
	}
	eng, err := newEngine(c, log)
	if err != nil {
		return err
	}
	defer eng.Close()

	d := director.New(director.Config{Engine: eng, Catalog: catalog(), Store: store, Logger: log})
	ln, err := api.ListenUnix(c.socket)
	if err != nil {
		return err
	}
	defer os.Remove(c.socket)
	srv := api.NewServer(d, eng, log)
	n := 2
	errc := make(chan error, 3)
	go func() { errc <- d.Run(ctx, initial) }()
	if run, fo := configRunner(c, d, eng, log); run != nil {
		srv.Handle("GET /v1/health", healthHandler(run))
		srv.Handle("GET /v1/vrrp", vrrpHandler(fo))
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		reload := make(chan struct{}, 1)
		go func() {
			for range hup {
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}()
		n++
		go func() { errc <- run.Run(ctx, reload) }()
	}
	go func() { errc <- srv.Serve(ctx, ln) }()
	log.Info("lvsd started", "engine", eng.Name(), "socket", c.socket, "services", len(initial.Services), "state", stateDesc(store))
	for i := 0; i < n; i++ {
		if err := <-errc; err != nil {
			stop()
			return err
		}
	}
	log.Info("lvsd stopped")
	return nil
}

func stateDesc(s *director.Store) string {
	if s == nil {
		return "not saved"
	}
	return s.Path
}

// catalog lists the schedulers and persistence engines lvsd has.
func catalog() lb.Catalog {
	return lb.Catalog{Scheduler: sched.Known, PE: func(name string) bool { return name == "sip" }}
}

func newEngine(c *options, log *slog.Logger) (engine.Engine, error) {
	switch c.engine {
	case "proxy":
		o := c.proxy
		o.Logger = log.With("engine", "proxy")
		return proxy.New(o)
	case "ipvs":
		o := c.ipvs
		o.Logger = log.With("engine", "ipvs")
		e, err := ipvs.New(o)
		if err != nil {
			return nil, err
		}
		if found := e.Found(); len(found) > 0 && !o.OwnTable {
			log.Info("ipvs engine: the kernel table has services lvsd did not add; they are left alone (--ipvs-own-table removes them)", "services", len(found))
		}
		return e, nil
	case "xdp":
		return nil, fmt.Errorf("--engine xdp: this build of lvsd has the proxy and ipvs engines only")
	}
	return nil, fmt.Errorf("--engine %q: unknown engine (proxy, ipvs)", c.engine)
}

// startingTable decides what the table starts as (see the command's doc).
func startingTable(ctx context.Context, c *options, store *director.Store, log *slog.Logger) (*lb.State, error) {
	switch {
	case c.demo:
		return startDemo(ctx, c, log)
	case c.restore != "":
		f, err := os.Open(c.restore)
		if err != nil {
			return nil, fmt.Errorf("--restore: %w", err)
		}
		defer f.Close()
		st, err := ctl.RestoreState(ipvsadm.Parser{Resolver: &ipvsadm.SystemResolver{}}, f, catalog())
		if err != nil {
			return nil, fmt.Errorf("--restore %s: %w", c.restore, err)
		}
		return st, nil
	case store != nil:
		st, err := store.Load()
		if err != nil {
			return nil, fmt.Errorf("%w (move it away, or start with --no-state)", err)
		}
		if st != nil {
			log.Info("table restored", "path", store.Path, "services", len(st.Services))
			return st, nil
		}
	}
	return &lb.State{Timeouts: lb.DefaultTimeouts}, nil
}
