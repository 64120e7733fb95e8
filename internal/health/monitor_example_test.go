package health_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/health"
	"github.com/golvs/golvs/internal/lb"
)

// Example shows how lvsd wires the monitor: the tables go to the director (Replace applies
// a whole table as a diff), the actions to a Notifier, and the shutdown actions (Omega) get
// a bounded time to run.
func Example() {
	var cfg *config.Config                                    // from an adapter
	var replace func(ctx context.Context, st *lb.State) error // director.Replace
	var logger = slog.Default()

	notifier := health.NewNotifier(health.NotifierOptions{Logger: logger})
	mon := health.NewMonitor(health.Options{
		NewChecker: health.NewChecker,
		OnActions:  notifier.Run,
		Logger:     logger,
		ConfigFile: "/etc/keepalived/keepalived.conf",
	})
	if err := mon.Start(cfg); err != nil {
		logger.Error("health", "err", err)
		return
	}
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for st := range mon.States() {
			if err := replace(context.Background(), st); err != nil {
				logger.Error("table refused", "err", err)
			}
		}
	}()

	// On SIGHUP: mon.Update(newCfg). On shutdown:
	mon.Stop()
	<-applied
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = notifier.Close(ctx)
}
