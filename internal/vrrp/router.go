package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// Options configure a Router.
type Options struct {
	// Transport opens each instance's Conn when Run starts. Required.
	Transport Transport
	// Actions moves, announces and notifies. Required.
	Actions Actions
	// Clock drives every timer (default SystemClock).
	Clock Clock
	// Logger gets keepalived's log lines (nil discards).
	Logger *slog.Logger
	// LinkUp tells the link state of an interface when Run starts (nil: every interface
	// is up). Later changes come through SetLink.
	LinkUp func(ifname string) bool
}

// scriptState is what the Router knows of a vrrp_script: nothing yet (init), or its
// last reported result.
type scriptState struct {
	init, ok bool
}

// event is a tracking input queued by SetLink or SetScript.
type event struct {
	link   bool
	name   string
	up, ok bool
}

// Router runs the VRRP instances of a configuration on one goroutine (Run). SetLink,
// SetScript and Status are safe from any goroutine, before and during Run.
type Router struct {
	// Immutable after New.
	transport Transport
	actions   Actions
	clock     Clock
	log       *slog.Logger
	linkUp    func(string) bool
	insts     []*instance
	groups    []*syncGroup

	// Owned by the Run goroutine.
	links   map[string]bool
	scripts map[string]*scriptState

	// Locked by mu.
	mu      sync.Mutex
	pending []event
	snap    Status
	wake    chan struct{} // capacity 1: events are pending
}

// New builds a Router for cfg: every instance and sync group checked and completed as
// keepalived's vrrp_complete_instance does. It opens nothing; Run does. Errors name the
// instance or group at fault.
func New(cfg *config.VRRP, opts Options) (*Router, error) {
	if opts.Transport == nil || opts.Actions == nil {
		return nil, errors.New("vrrp: Options.Transport and Options.Actions are required")
	}
	r := &Router{transport: opts.Transport, actions: opts.Actions, clock: opts.Clock, log: opts.Logger,
		linkUp: opts.LinkUp, links: map[string]bool{}, scripts: map[string]*scriptState{},
		wake: make(chan struct{}, 1)}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.linkUp == nil {
		r.linkUp = func(string) bool { return true }
	}
	weights := map[string]int{}
	for _, s := range cfg.Scripts {
		weights[s.Name] = s.Weight
		r.scripts[s.Name] = &scriptState{init: true}
	}
	byName := map[string]*instance{}
	for _, c := range cfg.Instances {
		if byName[c.Name] != nil {
			return nil, fmt.Errorf("vrrp_instance %s defined twice", c.Name)
		}
		in, err := newInstance(r, c)
		if err != nil {
			return nil, err
		}
		for _, t := range c.TrackScripts {
			w, ok := weights[t.Name]
			if !ok {
				return nil, fmt.Errorf("vrrp_instance %s: track script %s not found", c.Name, t.Name)
			}
			if t.HasWeight {
				w = t.Weight
			}
			if w != 0 && in.basePrio == PriorityOwner {
				in.log.Warn(fmt.Sprintf("Cannot have weighted track script '%s' with priority %d", t.Name, PriorityOwner))
				continue
			}
			in.scripts = append(in.scripts, trackedScript{name: t.Name, weight: w})
		}
		byName[c.Name] = in
		r.insts = append(r.insts, in)
	}
	for _, gc := range cfg.SyncGroups {
		g := &syncGroup{r: r, name: gc.Name, log: r.log.With("group", gc.Name)}
		for _, n := range gc.Instances {
			in := byName[n]
			switch {
			case in == nil:
				return nil, fmt.Errorf("vrrp_sync_group %s: instance %s not found", gc.Name, n)
			case in.group != nil:
				return nil, fmt.Errorf("vrrp_sync_group %s: instance %s is already in %s", gc.Name, n, in.group.name)
			}
			in.group = g
			g.members = append(g.members, in)
		}
		if len(g.members) > 0 {
			r.groups = append(r.groups, g)
		}
	}
	r.publish()
	return r, nil
}

// SetLink reports that an interface went up or down. An instance that tracks it (its own
// interface, track_interface, a device of its addresses) goes to FAULT while it is down.
func (r *Router) SetLink(ifname string, up bool) { r.queue(event{link: true, name: ifname, up: up}) }

// SetScript reports the result of a vrrp_script (ScriptRunner calls it on each change of
// its state): a failing weight-0 script puts its instances in FAULT, a weighted one
// moves their priority.
func (r *Router) SetScript(name string, ok bool) { r.queue(event{name: name, ok: ok}) }

func (r *Router) queue(e event) {
	r.mu.Lock()
	r.pending = append(r.pending, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Status returns the latest snapshot, taken after each event the Router handled.
func (r *Router) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snap
}

func (r *Router) publish() {
	var s Status
	for _, in := range r.insts {
		s.Instances = append(s.Instances, in.status())
	}
	for _, g := range r.groups {
		s.Groups = append(s.Groups, g.status())
	}
	r.mu.Lock()
	r.snap = s
	r.mu.Unlock()
}

// rx is a packet with the index of the instance whose Conn received it.
type rx struct {
	i int
	p Packet
}

// Run opens the instances' Conns, starts the instances and runs them until ctx is done;
// then masters send priority 0 and drop their addresses, every instance and group
// reports STOP, and the Conns are closed. It returns an error only when a Conn cannot be
// opened (the ones already open are closed); it returns nil after a shutdown. Run must
// not be called twice.
func (r *Router) Run(ctx context.Context) error {
	if err := r.open(); err != nil {
		return err
	}
	in := make(chan rx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, inst := range r.insts {
		wg.Go(func() {
			for p := range inst.conn.Packets() {
				select {
				case in <- rx{i, p}:
				case <-done:
					return
				}
			}
		})
	}
	r.begin()
	timer := r.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.publish()
		timer.Reset(r.delay())
		select {
		case <-ctx.Done():
			r.shutdown()
			close(done)
			r.closeConns()
			wg.Wait()
			r.publish()
			return nil
		case p := <-in:
			r.insts[p.i].receive(r.clock.Now(), &p.p)
		case <-timer.C():
			r.fire()
		case <-r.wake:
			r.drain()
		}
	}
}

// open opens a Conn per instance.
func (r *Router) open() error {
	for i, in := range r.insts {
		c, err := r.transport.Open(in.cfg)
		if err != nil {
			for _, o := range r.insts[:i] {
				o.conn.Close()
			}
			return fmt.Errorf("vrrp_instance %s: %w", in.cfg.Name, err)
		}
		in.conn = c
	}
	return nil
}

func (r *Router) closeConns() {
	for _, in := range r.insts {
		if err := in.conn.Close(); err != nil {
			in.log.Warn("closing connection", "err", err)
		}
	}
}

// begin is initialise_tracking_priorities then vrrp_init_state: links and weight-0
// scripts decide who starts in FAULT, then every instance starts.
func (r *Router) begin() {
	now := r.clock.Now()
	for _, in := range r.insts {
		for _, n := range in.tracked {
			up, seen := r.links[n]
			if !seen {
				up = r.linkUp(n)
				r.links[n] = up
			}
			if !up {
				in.log.Info("entering FAULT state (interface " + n + " down)")
				in.faults++
			}
		}
		for _, t := range in.scripts {
			if t.weight == 0 && r.scripts[t.name].init {
				in.scriptInit++
			}
		}
	}
	for _, g := range r.groups {
		g.initState()
		g.notify()
	}
	for _, in := range r.insts {
		in.start(now)
	}
}

// drain handles the queued tracking events.
func (r *Router) drain() {
	r.mu.Lock()
	evs := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, e := range evs {
		if e.link {
			r.link(e.name, e.up)
		} else {
			r.script(e.name, e.ok)
		}
	}
}

// link is a link state change (vrrp_netlink_if_link_up/down): each tracking instance
// goes down or tries to come up.
func (r *Router) link(name string, up bool) {
	if old, seen := r.links[name]; seen && old == up {
		return
	}
	r.links[name] = up
	now := r.clock.Now()
	for _, in := range r.insts {
		if !slices.Contains(in.tracked, name) {
			continue
		}
		in.log.Info("tracked interface changed", "interface", name, "up", up)
		if up {
			in.tryUp(now, false)
		} else {
			in.down(now)
		}
	}
}

// script is update_script_priorities: a script's state changed.
func (r *Router) script(name string, ok bool) {
	st := r.scripts[name]
	if st == nil {
		r.log.Warn("result of an unknown vrrp_script", "script", name)
		return
	}
	if !st.init && st.ok == ok {
		return
	}
	wasInit := st.init
	st.init, st.ok = false, ok
	now := r.clock.Now()
	for _, in := range r.insts {
		for _, t := range in.scripts {
			if t.name == name {
				in.scriptUpdate(now, t.weight, wasInit, ok)
			}
		}
	}
}

// scriptUpdate is process_script_update_priority for one tracking instance.
func (in *instance) scriptUpdate(now time.Time, weight int, wasInit, ok bool) {
	if weight == 0 {
		leftInit := false
		if wasInit {
			in.scriptInit--
			if in.scriptInit == 0 {
				leftInit = true
				if in.group != nil {
					in.group.inits--
				}
			}
		}
		if !ok {
			in.down(now)
		} else if in.scriptInit == 0 && (in.group == nil || in.group.inits == 0) {
			in.tryUp(now, leftInit)
		}
		return
	}
	switch {
	case wasInit && ok && weight > 0, wasInit && !ok && weight < 0:
		in.totalPrio += weight
	case !wasInit && ok:
		in.totalPrio += abs(weight)
	case !wasInit:
		in.totalPrio -= abs(weight)
	}
	in.setEffectivePriority()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// next is the earliest instance deadline; zero for none.
func (r *Router) next() time.Time {
	var t time.Time
	for _, in := range r.insts {
		if d := in.nextDeadline(); !d.IsZero() && (t.IsZero() || d.Before(t)) {
			t = d
		}
	}
	return t
}

// delay is how long Run sleeps: until the next deadline, or an hour when none.
func (r *Router) delay() time.Duration {
	t := r.next()
	if t.IsZero() {
		return time.Hour
	}
	return max(t.Sub(r.clock.Now()), 0)
}

// fire runs the timeouts that are due, earliest first.
func (r *Router) fire() {
	now := r.clock.Now()
	due := slices.DeleteFunc(slices.Clone(r.insts), func(in *instance) bool {
		d := in.nextDeadline()
		return d.IsZero() || d.After(now)
	})
	slices.SortStableFunc(due, func(a, b *instance) int { return a.nextDeadline().Compare(b.nextDeadline()) })
	for _, in := range due {
		in.timeout(now)
	}
}

// shutdown stops every instance, then reports STOP for the groups.
func (r *Router) shutdown() {
	now := r.clock.Now()
	for _, in := range r.insts {
		in.shutdown(now)
	}
	for _, g := range r.groups {
		g.state = Stop
		g.notify()
	}
}
