package failover

import (
	"context"
	"log/slog"
	"reflect"
	"sync"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

// scriptHub runs each tracked vrrp_script once and fans its results out to the Routers
// that track it. A Router that subscribes late gets the last known result at once, so a
// unit restarted by a reload does not wait for the script's next change.
type scriptHub struct {
	exec  vrrp.ScriptExec
	clock vrrp.Clock
	log   *slog.Logger

	mu   sync.Mutex // guards runs and every scriptRun's known, ok and subs
	runs map[string]*scriptRun
}

// scriptRun is one running vrrp_script.
type scriptRun struct {
	cfg    config.VRRPScript // canonical (Pos zeroed): compared on reload
	cancel context.CancelFunc
	done   chan struct{}

	known, ok bool // a result has come, and what it is
	subs      map[*vrrp.Router]struct{}
}

func newScriptHub(exec vrrp.ScriptExec, clock vrrp.Clock, log *slog.Logger) *scriptHub {
	return &scriptHub{exec: exec, clock: clock, log: log, runs: map[string]*scriptRun{}}
}

// update makes the running scripts exactly want (by name, canonical configurations):
// a script whose configuration did not change keeps running with its state; a changed
// or unwanted one is stopped (update waits for its command to end); a new one starts.
func (h *scriptHub) update(want map[string]config.VRRPScript) {
	h.mu.Lock()
	var stop []*scriptRun
	for name, run := range h.runs {
		if w, ok := want[name]; !ok || !reflect.DeepEqual(w, run.cfg) {
			stop = append(stop, run)
			delete(h.runs, name)
		}
	}
	h.mu.Unlock()
	for _, run := range stop {
		run.cancel()
		<-run.done
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, cfg := range want {
		if h.runs[name] == nil {
			h.runs[name] = h.start(cfg)
		}
	}
}

// start runs one script with a ScriptRunner of its own; h.mu is held.
func (h *scriptHub) start(cfg config.VRRPScript) *scriptRun {
	ctx, cancel := context.WithCancel(context.Background())
	run := &scriptRun{cfg: cfg, cancel: cancel, done: make(chan struct{}), subs: map[*vrrp.Router]struct{}{}}
	c := cfg
	sr := vrrp.NewScriptRunner([]*config.VRRPScript{&c}, h.exec, func(name string, ok bool) { h.report(run, name, ok) },
		vrrp.ScriptOptions{Clock: h.clock, Logger: h.log})
	go func() {
		defer close(run.done)
		_ = sr.Run(ctx) // returns nil once ctx is done and its command has ended
	}()
	return run
}

// report records a script's new state and passes it to every subscribed Router.
func (h *scriptHub) report(run *scriptRun, name string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	run.known, run.ok = true, ok
	for r := range run.subs {
		r.SetScript(name, ok)
	}
}

// subscribe makes r receive the results of the named scripts, starting with the last
// known one of each.
func (h *scriptHub) subscribe(r *vrrp.Router, names []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range names {
		if run := h.runs[n]; run != nil {
			run.subs[r] = struct{}{}
			if run.known {
				r.SetScript(n, run.ok)
			}
		}
	}
}

// unsubscribe stops passing results to r.
func (h *scriptHub) unsubscribe(r *vrrp.Router) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, run := range h.runs {
		delete(run.subs, r)
	}
}
