package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/golvs/golvs/internal/engine"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/failover"
	"github.com/golvs/golvs/internal/health"
	"github.com/golvs/golvs/internal/runner"
	"github.com/golvs/golvs/internal/vip"
	"github.com/golvs/golvs/internal/vrrp"
)

// configFile returns the configuration file lvsd runs and its format, or "" for none.
func configFile(c *options) (string, runner.Format) {
	if c.keepalived != "" {
		return c.keepalived, runner.Keepalived
	}
	return c.ldirector, runner.Ldirectord
}

// checkConfig is lvsd -t: load the file, print its warnings and errors as file:line lines,
// and say whether it is usable (nil) or not.
func checkConfig(c *options, out io.Writer) error {
	path, format := configFile(c)
	cfg, err := runner.Load(format, path, c.configID, catalog())
	if cfg != nil {
		for _, w := range cfg.Warnings {
			fmt.Fprintf(out, "%s: warning: %s\n", w.Pos, w.Msg)
		}
	}
	var errs config.Errors
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			fmt.Fprintf(out, "%s: error: %s\n", e.Pos, e.Msg)
		}
		return fmt.Errorf("%s: %d error(s)", path, len(errs))
	case err != nil:
		return err
	}
	if err := failover.Check(&cfg.VRRP); err != nil {
		fmt.Fprintf(out, "%s: error: %s\n", path, err)
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(out, "%s: configuration is valid (%d virtual services, %d VRRP instances, %d warnings)\n",
		path, len(cfg.Services), len(cfg.VRRP.Instances), len(cfg.Warnings))
	return nil
}

// configRunner returns the runner of -f / --ldirectord, or nil when there is none, and
// for a keepalived.conf the VRRP manager it drives (nil when VRRP cannot run here: the
// runner then warns about vrrp_instance blocks).
func configRunner(c *options, d *director.Director, eng engine.Engine, log *slog.Logger) (*runner.Runner, *failover.Manager) {
	path, format := configFile(c)
	if path == "" {
		return nil, nil
	}
	log = log.With("config", path)
	o := runner.Options{
		Format: format, Path: path, ConfigID: c.configID, Catalog: catalog(),
		Director: d, Logger: log, NewChecker: health.NewChecker,
	}
	var fo *failover.Manager
	if format == runner.Keepalived {
		var err error
		fopts := failover.Options{Logger: log}
		if s, ok := eng.(engine.Syncer); ok {
			fopts.Syncer = s // lvs_sync_daemon drives the kernel's sync daemon
		}
		if fo, err = failover.New(fopts); err != nil {
			log.Warn("VRRP cannot run", "err", err)
		} else {
			o.Failover = fo
		}
		o.WatchAddrs = func(ctx context.Context) (<-chan vip.AddrEvent, error) {
			return vip.WatchAddrs(ctx, netns.None())
		}
	}
	return runner.New(o), fo
}

// vrrpHandler serves the state of every VRRP instance and sync group as JSON
// (failover.Manager.Status); without VRRP, empty lists.
func vrrpHandler(fo *failover.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := vrrp.Status{Instances: []vrrp.InstanceStatus{}, Groups: []vrrp.GroupStatus{}}
		if fo != nil {
			st = fo.Status()
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
}

// healthHandler serves the health of every service and real as JSON.
func healthHandler(r *runner.Runner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st, err := r.Status()
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(st)
	})
}
