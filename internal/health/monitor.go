package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// Options configure a Monitor.
type Options struct {
	// NewChecker builds the checker of each check (NewChecker in production, fakes in
	// tests). A check whose checker cannot be built fails every run with the error as its
	// reason: its real stays down rather than unchecked.
	NewChecker CheckerFactory
	// Workers bounds the checks that run at once (default 256). A check that is due while
	// every worker is busy waits its turn; size it for the checks per second times the
	// timeout of a failing check.
	Workers int
	// Jitter spreads runs: each run comes Interval ± Interval*Jitter/2 after the previous
	// one started, and with no Warmup the first run comes within Interval*Jitter. Default
	// 0.1; negative for none.
	Jitter float64
	// TimerSlack lets checks run up to that late, so that checks due close together share
	// a wake-up of the monitor: 10 ms by default, negative for none. A run's lateness does
	// not shift the next ones.
	TimerSlack time.Duration
	// Clock schedules the checks (default SystemClock). Check timeouts are real time.
	Clock Clock
	// Rand draws warmups and jitter; only the monitor goroutine uses it. Default: seeded
	// from the runtime's random source.
	Rand *rand.Rand
	// Logger gets a line per transition, per action and per check that cannot be built.
	// Nil discards.
	Logger *slog.Logger
	// OnTransition, if set, is called on the monitor goroutine for each transition, in
	// order. It must return quickly and must not call the Monitor.
	OnTransition func(Transition)
	// OnActions, if set, is called on the monitor goroutine with the actions the table
	// logic emits, in order (Notifier.Run). Same rules as OnTransition.
	OnActions func([]Action)
	// ConfigFile is the argument of Global.Callback, run on Update.
	ConfigFile string
}

// ErrStopped is returned by the methods of a Monitor that is not running.
var ErrStopped = errors.New("health monitor not running")

// timeoutGrace is how long past its deadline a check may take to return its own result
// before the monitor reports the timeout itself and frees the worker.
const timeoutGrace = 20 * time.Millisecond

// Monitor runs the health checks of every real of every service and keeps the table they
// ask for. One goroutine owns all the state: the schedule (one timer heap for every check,
// keyed by due time), the state machine of each check and real, and the Table; a bounded
// pool of workers runs the checks, each with its own timeout. A hung real delays nothing
// but its own check: past its timeout the check fails and its worker moves on.
//
// The table is delivered on States, the commands to run to OnActions, and transitions to
// OnTransition. The methods of a Monitor are safe for concurrent use.
type Monitor struct {
	opts    Options
	reqs    chan func()
	jobs    chan job
	results chan result
	states  chan *lb.State
	stop    chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup // worker goroutines
	checks  sync.WaitGroup // goroutines running Checker.Check

	mu      sync.Mutex
	started bool
	stopped bool

	// Owned by the monitor goroutine once started.
	sched     *sched
	table     *Table
	pending   []*checkRun // due, waiting for a worker
	running   int         // handed to a worker, result not yet seen
	armed     time.Time   // when the timer fires; zero when stopped
	published uint64      // table.changes when States last got a table
}

type job struct {
	c        *checkRun
	checker  Checker
	buildErr error
	timeout  time.Duration
}

type result struct {
	c                 *checkRun
	res               Result
	started, finished time.Time
}

// NewMonitor returns a monitor; Start starts it.
func NewMonitor(opts Options) *Monitor {
	if opts.Workers <= 0 {
		opts.Workers = 256
	}
	if opts.Jitter == 0 {
		opts.Jitter = 0.1
	}
	opts.Jitter = max(opts.Jitter, 0)
	if opts.TimerSlack == 0 {
		opts.TimerSlack = 10 * time.Millisecond
	}
	opts.TimerSlack = max(opts.TimerSlack, 0)
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Monitor{opts: opts, reqs: make(chan func()), jobs: make(chan job),
		results: make(chan result, opts.Workers), states: make(chan *lb.State, 1),
		stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// Start loads cfg, hands the initial table to States and the start actions to OnActions,
// and starts checking. Reals start as InitialHealth says. It fails if the monitor was
// already started, or if NewChecker is nil.
func (m *Monitor) Start(cfg *config.Config) error {
	if m.opts.NewChecker == nil {
		return errors.New("health monitor: no checker factory")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.stopped {
		return errors.New("health monitor already started")
	}
	m.started = true
	now := m.opts.Clock.Now()
	m.sched = newSched(m.opts.NewChecker, m.opts.Rand, m.opts.Jitter)
	m.sched.slack = m.opts.TimerSlack
	m.sched.load(cfg, now)
	m.logBuildErrors()
	var acts []Action
	m.table, acts = NewTable(cfg, m.sched.health())
	m.act(acts)
	m.publish()
	for range m.opts.Workers {
		m.workers.Add(1)
		go m.worker()
	}
	go m.loop()
	return nil
}

// Update makes cfg the configuration (a reload): checks whose configuration did not change
// keep their state and schedule, removed ones stop, new ones start (see Table.Reload for
// the actions). It returns ErrStopped if the monitor is not running.
func (m *Monitor) Update(cfg *config.Config) error {
	return m.do(func() {
		trs := m.sched.load(cfg, m.opts.Clock.Now())
		m.logBuildErrors()
		for _, tr := range trs {
			m.emit(tr)
		}
		m.act(m.table.Reload(cfg, m.sched.health(), m.opts.ConfigFile))
	})
}

// Suspend suspends (on) or resumes the checks of service k, for keepalived's ha_suspend:
// the lead wires it to the presence of the VIP. While suspended the checks do not run and
// the state of the reals is frozen. Services with HASuspend start suspended. It fails if
// there is no such service, or with ErrStopped.
func (m *Monitor) Suspend(k lb.ServiceKey, on bool) error {
	var ok bool
	if err := m.do(func() { ok = m.sched.suspend(k, on) }); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("health monitor: no service %s", k)
	}
	return nil
}

// States delivers the table to apply, after Start and after every change. It holds the
// latest table only: a slow reader skips intermediate ones. It is closed by Stop. The
// tables must not be modified.
func (m *Monitor) States() <-chan *lb.State { return m.states }

// Stop stops the checks and the monitor, hands the shutdown actions (Table.Shutdown:
// Omega) to OnActions, and returns once every goroutine the monitor started has ended,
// checks included (a Checker must return once its context is done). It does nothing if
// the monitor is not running.
func (m *Monitor) Stop() {
	m.mu.Lock()
	if !m.started || m.stopped {
		m.stopped = true
		m.mu.Unlock()
		return
	}
	m.stopped = true
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	m.cancel()
	m.workers.Wait()
	m.checks.Wait()
	close(m.states)
}

// do runs fn on the monitor goroutine and waits for it.
func (m *Monitor) do(fn func()) error {
	m.mu.Lock()
	running := m.started && !m.stopped
	m.mu.Unlock()
	if !running {
		return ErrStopped
	}
	ran := make(chan struct{})
	select {
	case m.reqs <- func() { fn(); close(ran) }:
		<-ran
		return nil
	case <-m.done:
		return ErrStopped
	}
}

func (m *Monitor) loop() {
	defer close(m.done)
	timer := m.opts.Clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var due []*checkRun
	for {
		m.rearm(timer)
		m.publish()
		for len(m.pending) > 0 && m.pending[0].removed {
			m.pending[0] = nil
			m.pending = m.pending[1:]
		}
		var jobs chan job
		var next job
		if len(m.pending) > 0 {
			jobs = m.jobs
			c := m.pending[0]
			next = job{c: c, checker: c.checker, buildErr: c.buildErr, timeout: timeout(c.cfg)}
		}
		select {
		case <-m.stop:
			m.act(m.table.Shutdown())
			return
		case <-timer.C():
			m.armed = time.Time{}
			due = m.sched.popDue(m.opts.Clock.Now(), due[:0])
			m.pending = append(m.pending, due...)
			clear(due)
		case jobs <- next:
			m.pending[0] = nil
			m.pending = m.pending[1:]
			m.running++
		case r := <-m.results:
			m.running--
			for _, tr := range m.sched.complete(r.c, r.res, r.started, r.finished) {
				m.emit(tr)
				m.act(m.table.Step(tr))
			}
		case req := <-m.reqs:
			req()
		}
	}
}

// rearm makes the timer fire when the earliest check is due.
func (m *Monitor) rearm(t Timer) {
	due, ok := m.sched.next()
	switch {
	case !ok:
		if !m.armed.IsZero() {
			t.Stop()
			m.armed = time.Time{}
		}
	case !due.Equal(m.armed):
		m.armed = due
		d := max(due.Sub(m.opts.Clock.Now()), 0)
		if sl := m.opts.TimerSlack; sl > 0 && d > 0 {
			d = (d + sl - 1) / sl * sl
		}
		t.Reset(d)
	}
}

// publish hands the table to States if it changed since the last time.
func (m *Monitor) publish() {
	if m.table.changes == m.published {
		return
	}
	m.published = m.table.changes
	st := m.table.State()
	select {
	case <-m.states:
	default:
	}
	m.states <- st // the monitor goroutine is the only sender: there is room now
}

func (m *Monitor) emit(tr Transition) {
	m.opts.Logger.Info("real "+tr.Kind.String(), "service", tr.Service.String(), "real", tr.Real.String(),
		"up", tr.Up, "weight", tr.Weight, "check", string(tr.Check), "check_index", tr.CheckIndex,
		"reason", tr.Reason)
	if m.opts.OnTransition != nil {
		m.opts.OnTransition(tr)
	}
}

func (m *Monitor) act(acts []Action) {
	if len(acts) == 0 {
		return
	}
	for _, a := range acts {
		m.opts.Logger.Info("health action", actionAttrs(a)...)
	}
	if m.opts.OnActions != nil {
		m.opts.OnActions(acts)
	}
}

func (m *Monitor) logBuildErrors() {
	for _, err := range m.sched.errs {
		m.opts.Logger.Error("check cannot run; its real is kept down", "err", err)
	}
}

func (m *Monitor) worker() {
	defer m.workers.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case j := <-m.jobs:
			started := m.opts.Clock.Now()
			res := m.check(j)
			r := result{c: j.c, res: res, started: started, finished: m.opts.Clock.Now()}
			select {
			case m.results <- r:
			case <-m.ctx.Done():
				return
			}
		}
	}
}

// check runs one check with its timeout. The check runs in a goroutine of its own, so that
// a checker that overstays its deadline costs that goroutine, not the worker: past the
// deadline (and a short grace for the checker's own reason), the check has failed.
func (m *Monitor) check(j job) Result {
	if j.checker == nil {
		return Result{Reason: j.buildErr.Error(), Weight: -1}
	}
	if !j.c.busy.CompareAndSwap(false, true) {
		return Result{Reason: "the previous run is still going, past its timeout", Weight: -1}
	}
	ctx, cancel := context.WithTimeout(m.ctx, j.timeout)
	defer cancel()
	ch := make(chan Result, 1)
	m.checks.Add(1)
	go func() {
		defer m.checks.Done()
		r := safeCheck(ctx, j.checker)
		j.c.busy.Store(false) // before the result is seen: the next run may follow at once
		ch <- r
	}()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
	}
	grace := time.NewTimer(timeoutGrace)
	defer grace.Stop()
	select {
	case r := <-ch:
		return r
	case <-grace.C:
		return Result{Reason: fmt.Sprintf("timeout after %v", j.timeout), Weight: -1}
	}
}

func safeCheck(ctx context.Context, c Checker) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Reason: fmt.Sprintf("checker panicked: %v", p), Weight: -1}
		}
	}()
	return c.Check(ctx)
}
