package vrrp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// ScriptExec runs a vrrp_script's command once and reports success with a nil error (exit
// status 0). ctx is cancelled at the script's timeout: the implementation must then stop
// the command (keepalived sends SIGTERM, then SIGKILL, to its process group) and return.
// It is called on its own goroutine; one script never runs twice at once.
type ScriptExec func(ctx context.Context, script string) error

// ScriptOptions configure a ScriptRunner.
type ScriptOptions struct {
	Clock  Clock        // default SystemClock
	Logger *slog.Logger // nil discards
}

// ScriptRunner runs the vrrp_scripts of a configuration with keepalived's schedule and
// rise/fall counting (vrrp_script_thread and vrrp_script_child_thread in
// vrrp_scheduler.c) and reports each change of a script's state, plus its first result,
// to a callback (Router.SetScript in production).
type ScriptRunner struct {
	scripts []*config.VRRPScript
	exec    ScriptExec
	report  func(name string, ok bool)
	clock   Clock
	log     *slog.Logger
}

// NewScriptRunner returns a runner for scripts; report is called from Run's goroutine.
func NewScriptRunner(scripts []*config.VRRPScript, exec ScriptExec, report func(name string, ok bool), opts ScriptOptions) *ScriptRunner {
	s := &ScriptRunner{scripts: scripts, exec: exec, report: report, clock: opts.Clock, log: opts.Logger}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// scriptRun is the state of one script: keepalived's vrrp_script_t result counter, from
// 0 (failed) to rise+fall-1 (succeeding), OK from rise up.
type scriptRun struct {
	cfg        *config.VRRPScript
	rise, fall int
	interval   time.Duration
	timeout    time.Duration
	next       time.Time // next run
	running    bool
	deadline   time.Time // timeout of the running command
	cancel     context.CancelFunc
	timedOut   bool
	result     int
	init       bool // no result yet (SCRIPT_INIT_STATE_INIT)
}

type scriptDone struct {
	i   int
	err error
}

// record applies one result the way vrrp_script_child_thread does and reports whether
// the script's state changed (always on the first result).
func (s *scriptRun) record(ok bool) (changed bool) {
	top := s.rise + s.fall - 1
	if ok {
		switch {
		case s.result < s.rise-1:
			s.result++
		case s.result != top:
			changed = s.result < s.rise
			s.result = top
		}
	} else {
		if s.result > s.rise {
			s.result--
		} else {
			changed = s.result == s.rise || s.init
			s.result = 0
		}
	}
	s.init = false
	return changed
}

// Run runs every script at once, then every interval after the start of its previous
// run (a run still going when the next is due makes that one skip), until ctx is done.
// A run that outlives the timeout is cancelled and counts as a failure. Run waits for
// the running commands to return, and returns nil.
func (s *ScriptRunner) Run(ctx context.Context) error {
	runs := make([]*scriptRun, len(s.scripts))
	now := s.clock.Now()
	for i, c := range s.scripts {
		r := &scriptRun{cfg: c, rise: max(c.Rise, 1), fall: max(c.Fall, 1), interval: c.Interval, timeout: c.Timeout, next: now, init: true}
		if r.interval <= 0 {
			r.interval = time.Second
		}
		if r.timeout <= 0 {
			r.timeout = r.interval
		}
		r.result = r.rise - 1 // "one success is enough" (vrrp_init_script)
		runs[i] = r
	}
	done := make(chan scriptDone)
	var wg sync.WaitGroup
	timer := s.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(nextScriptEvent(runs, s.clock.Now()))
		select {
		case <-ctx.Done():
			for _, r := range runs {
				if r.running {
					r.cancel()
				}
			}
			go func() {
				for range done {
				}
			}()
			wg.Wait()
			close(done)
			return nil
		case d := <-done:
			s.finish(runs[d.i], d.err)
		case <-timer.C():
			now := s.clock.Now()
			for i, r := range runs {
				if r.running && !r.timedOut && !now.Before(r.deadline) {
					r.timedOut = true
					s.log.Info("track script timed out", "script", r.cfg.Name, "timeout", r.timeout)
					r.cancel()
				}
				if now.Before(r.next) {
					continue
				}
				for !r.next.After(now) {
					r.next = r.next.Add(r.interval)
				}
				if r.running {
					s.log.Info("Track script is already running, expect idle - skipping run", "script", r.cfg.Name)
					continue
				}
				s.start(ctx, &wg, done, i, r, now)
			}
		}
	}
}

// nextScriptEvent is the delay until the next run or timeout.
func nextScriptEvent(runs []*scriptRun, now time.Time) time.Duration {
	var t time.Time
	for _, r := range runs {
		c := r.next
		if r.running && !r.timedOut && r.deadline.Before(c) {
			c = r.deadline
		}
		if t.IsZero() || c.Before(t) {
			t = c
		}
	}
	if t.IsZero() {
		return time.Hour
	}
	return max(t.Sub(now), 0)
}

func (s *ScriptRunner) start(ctx context.Context, wg *sync.WaitGroup, done chan<- scriptDone, i int, r *scriptRun, now time.Time) {
	rctx, cancel := context.WithCancel(ctx)
	r.running, r.timedOut, r.cancel, r.deadline = true, false, cancel, now.Add(r.timeout)
	script := r.cfg.Script
	wg.Go(func() {
		done <- scriptDone{i, s.exec(rctx, script)}
	})
}

// errTimedOut is the reason of a run cancelled at its timeout.
var errTimedOut = errors.New("timed out")

// finish records a run's result and reports a change of state.
func (s *ScriptRunner) finish(r *scriptRun, err error) {
	r.running = false
	r.cancel()
	if r.timedOut {
		err = errTimedOut
	}
	ok := err == nil
	if r.record(ok) {
		if ok {
			s.log.Info("VRRP_Script succeeded", "script", r.cfg.Name)
		} else {
			s.log.Info("VRRP_Script failed", "script", r.cfg.Name, "err", err)
		}
		s.report(r.cfg.Name, ok)
	}
}
