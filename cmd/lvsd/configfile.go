package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/health"
	"github.com/golvs/golvs/internal/runner"
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
	fmt.Fprintf(out, "%s: configuration is valid (%d virtual services, %d warnings)\n", path, len(cfg.Services), len(cfg.Warnings))
	return nil
}

// configRunner returns the runner of -f / --ldirectord, or nil when there is none.
func configRunner(c *options, d *director.Director, log *slog.Logger) *runner.Runner {
	path, format := configFile(c)
	if path == "" {
		return nil
	}
	return runner.New(runner.Options{
		Format: format, Path: path, ConfigID: c.configID, Catalog: catalog(),
		Director: d, Logger: log.With("config", path), NewChecker: health.NewChecker,
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
