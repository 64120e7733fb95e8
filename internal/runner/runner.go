// Package runner runs a configuration file the way keepalived and ldirectord do: it reads
// and validates the file, starts the health monitor on it, hands every table the monitor
// computes to the director (which applies it as a diff), and reloads on request (SIGHUP) or,
// with ldirectord's autoreload, when the file changes. A file that does not load is refused
// as a whole: the running table and checks stay as they were, and the log says why.
package runner

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/config/keepalived"
	"github.com/golvs/golvs/internal/config/ldirectord"
	"github.com/golvs/golvs/internal/health"
	"github.com/golvs/golvs/internal/lb"
	"github.com/golvs/golvs/internal/vip"
)

// Format is the syntax of a configuration file.
type Format string

// Formats.
const (
	Keepalived Format = "keepalived"
	Ldirectord Format = "ldirectord"
)

// Load reads and validates the file at path: syntax (the adapter), then the table it asks
// for (known schedulers, valid services). The returned config carries the warnings; on an
// error the config (if any) must not be used. configID is keepalived's -i (for @ lines).
func Load(format Format, path, configID string, cat lb.Catalog) (*config.Config, error) {
	var cfg *config.Config
	var err error
	switch format {
	case Keepalived:
		cfg, err = keepalived.ParseFile(path, keepalived.Options{ConfigID: configID})
	case Ldirectord:
		var data []byte
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		cfg, err = ldirectord.Parse(path, data)
	default:
		return nil, fmt.Errorf("unknown configuration format %q", format)
	}
	if err != nil {
		return cfg, err
	}
	if _, err := cfg.Desired(cat); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Director is what the runner drives: director.Director's Replace.
type Director interface {
	Replace(ctx context.Context, st *lb.State) error
}

// Options configure a Runner.
type Options struct {
	Format   Format
	Path     string
	ConfigID string
	Catalog  lb.Catalog
	Director Director
	Logger   *slog.Logger
	// NewChecker builds checkers (health.NewChecker in production).
	NewChecker health.CheckerFactory
	// PollInterval is how often an autoreload config is checked for changes (default 5 s,
	// ldirectord's default for its check of the file).
	PollInterval time.Duration
	// Failover runs the vrrp_instance blocks (failover.Manager in production). Nil: they
	// are parsed and checked only, and a warning says that VRRP does not run.
	Failover Failover
	// WatchAddrs reports the host's addresses, for keepalived's ha_suspend
	// (vip.WatchAddrs in production). Nil: the checks of ha_suspend services always run,
	// and a warning says so.
	WatchAddrs func(ctx context.Context) (<-chan vip.AddrEvent, error)
}

// Failover is what runs VRRP for the runner: failover.Manager.
type Failover interface {
	// Update runs cfg (the first call) or reloads it; an error means cfg was refused and
	// what runs did not change.
	Update(cfg *config.VRRP) error
	// Close stops every instance as at exit (masters send priority 0, addresses go).
	Close()
}

// Runner runs one configuration file. Run it with Run; Status is safe from any goroutine.
type Runner struct {
	opts     Options
	mon      *health.Monitor
	notifier *health.Notifier
	suspend  suspender // owned by Run's goroutine
}

// New returns a runner; nothing starts before Run.
func New(o Options) *Runner {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Second
	}
	r := &Runner{opts: o}
	r.notifier = health.NewNotifier(health.NotifierOptions{Logger: o.Logger})
	r.mon = health.NewMonitor(health.Options{
		NewChecker: o.NewChecker, OnActions: r.notifier.Run, Logger: o.Logger, ConfigFile: o.Path,
	})
	return r
}

// Status is the health of every service and real (for the API).
func (r *Runner) Status() (health.Status, error) { return r.mon.Status() }

// Run loads the file, starts VRRP (Options.Failover) and the checks and feeds the
// director until ctx ends; every value on reload asks for a reload. It returns the error
// of the first load (lvsd then does not start); later load errors are logged and leave
// everything running as it was. At the end VRRP stops first, as keepalived's does at
// exit, then the checks.
func (r *Runner) Run(ctx context.Context, reload <-chan struct{}) error {
	cfg, err := r.load()
	if err != nil {
		return err
	}
	if err := r.updateFailover(cfg); err != nil {
		r.closeFailover()
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addrs := r.suspend.start(wctx, r.opts.WatchAddrs, r.opts.Logger)
	if err := r.mon.Start(cfg); err != nil {
		r.closeFailover()
		return err
	}
	r.suspend.apply(cfg, r.mon)
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for st := range r.mon.States() {
			// a refusal here means the engine cannot do what the file asks (e.g. -g on the
			// proxy engine); the previous table stays
			if err := r.opts.Director.Replace(context.Background(), st); err != nil {
				r.opts.Logger.Error("table from the configuration refused", "file", r.opts.Path, "err", err)
			}
		}
	}()
	defer func() {
		r.closeFailover()
		r.mon.Stop()
		<-applied
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r.notifier.Close(sctx) // keepalived gives shutdown scripts about a second
	}()

	var tick <-chan time.Time
	sum := fileSum(r.opts.Path)
	if cfg.Global.AutoReload {
		t := time.NewTicker(r.opts.PollInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-addrs:
			if !ok {
				addrs = nil
				continue
			}
			r.suspend.addr(ev, r.mon)
		case <-reload:
			r.reload(&sum)
		case <-tick:
			if s := fileSum(r.opts.Path); s != sum {
				r.opts.Logger.Info("configuration file changed: reloading", "file", r.opts.Path)
				r.reload(&sum)
			}
		}
	}
}

func (r *Runner) reload(sum *[32]byte) {
	*sum = fileSum(r.opts.Path)
	cfg, err := r.load()
	if err != nil {
		r.opts.Logger.Error("reload refused: the running table and checks stay as they were", "file", r.opts.Path, "err", err)
		return
	}
	if err := r.updateFailover(cfg); err != nil {
		r.opts.Logger.Error("reload refused: VRRP, the running table and checks stay as they were", "file", r.opts.Path, "err", err)
		return
	}
	if err := r.mon.Update(cfg); err != nil {
		r.opts.Logger.Error("reload failed", "file", r.opts.Path, "err", err)
		return
	}
	r.suspend.apply(cfg, r.mon)
	r.opts.Logger.Info("configuration reloaded", "file", r.opts.Path, "services", len(cfg.Services),
		"vrrp_instances", len(cfg.VRRP.Instances))
}

// closeFailover stops VRRP, if it runs.
func (r *Runner) closeFailover() {
	if r.opts.Failover != nil {
		r.opts.Failover.Close()
	}
}

// updateFailover hands the VRRP part of cfg to Options.Failover.
func (r *Runner) updateFailover(cfg *config.Config) error {
	if r.opts.Failover == nil {
		if len(cfg.VRRP.Instances) > 0 {
			r.opts.Logger.Warn("vrrp_instance blocks are checked but VRRP does not run in this lvsd", "file", r.opts.Path)
		}
		return nil
	}
	return r.opts.Failover.Update(&cfg.VRRP)
}

// load reads the file and logs its warnings.
func (r *Runner) load() (*config.Config, error) {
	cfg, err := Load(r.opts.Format, r.opts.Path, r.opts.ConfigID, r.opts.Catalog)
	if cfg != nil {
		for _, w := range cfg.Warnings {
			r.opts.Logger.Warn(w.Msg, "at", w.Pos.String())
		}
	}
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			r.opts.Logger.Error(e.Msg, "at", e.Pos.String())
		}
	}
	return cfg, err
}

// fileSum is the file's content hash (zero when unreadable), to notice changes.
func fileSum(path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}
