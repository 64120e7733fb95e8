package failover

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
)

// plan is the part of a configuration one unit runs: a sync group with its members, or
// one instance, with the scripts they track, as canonical copies (positions zeroed, so
// that a block that only moved in the file compares equal).
type plan struct {
	key string
	cfg *config.VRRP
}

// split cuts cfg (which passed Check) into plans, in the order of the first instance of
// each.
func split(cfg *config.VRRP) []*plan {
	groupOf := map[string]*config.VRRPSyncGroup{}
	for _, g := range cfg.SyncGroups {
		for _, n := range g.Instances {
			groupOf[n] = g
		}
	}
	scripts := map[string]*config.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	var out []*plan
	done := map[*config.VRRPSyncGroup]bool{}
	for _, in := range cfg.Instances {
		g := groupOf[in.Name]
		if g == nil {
			out = append(out, newPlan("instance "+in.Name, []*config.VRRPInstance{in}, nil, scripts))
			continue
		}
		if done[g] {
			continue
		}
		done[g] = true
		var members []*config.VRRPInstance
		for _, m := range cfg.Instances {
			if groupOf[m.Name] == g {
				members = append(members, m)
			}
		}
		out = append(out, newPlan("group "+g.Name, members, g, scripts))
	}
	return out
}

func newPlan(key string, ins []*config.VRRPInstance, g *config.VRRPSyncGroup, scripts map[string]*config.VRRPScript) *plan {
	c := &config.VRRP{}
	var names []string
	for _, in := range ins {
		cp := *in
		cp.Pos = config.Pos{}
		c.Instances = append(c.Instances, &cp)
		for _, t := range in.TrackScripts {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	for _, n := range names {
		cp := *scripts[n]
		cp.Pos = config.Pos{}
		c.Scripts = append(c.Scripts, &cp)
	}
	if g != nil {
		cp := *g
		cp.Pos = config.Pos{}
		c.SyncGroups = []*config.VRRPSyncGroup{&cp}
	}
	return &plan{key: key, cfg: c}
}

// links are the interfaces whose state the unit's instances track: each one's
// interface, track_interface list and address devices (the instance's interface when
// an address names none), each once.
func (p *plan) links() []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, in := range p.cfg.Instances {
		add(in.Interface)
		for _, n := range in.TrackInterfaces {
			add(n)
		}
		for _, v := range append(slices.Clone(in.Addresses), in.Excluded...) {
			if v.Dev == "" {
				v.Dev = in.Interface
			}
			add(v.Dev)
		}
	}
	return out
}

// unit runs one plan: a Router at a time, remade when it cannot start.
type unit struct {
	m    *Manager
	plan *plan
	log  *slog.Logger
	act  *actions

	// first is the Router Update built (and so validated); the unit goroutine uses it
	// for its first attempt. router is the current one, for Status.
	first  *vrrp.Router
	router atomic.Pointer[vrrp.Router]
	// linkUp is the link state when the current Router starts; only the unit goroutine
	// touches it (the Router reads it from Run, on that goroutine).
	linkUp map[string]bool

	cancel context.CancelFunc
	done   chan struct{}
}

// newUnit builds the unit of p and its first Router; an error means p cannot run.
func (m *Manager) newUnit(p *plan) (*unit, error) {
	u := &unit{m: m, plan: p, log: m.log.With("vrrp", p.key), done: make(chan struct{})}
	u.act = &actions{addrs: m.opts.Addrs, announce: m.opts.Announcer, notifier: m.notifier,
		scripts: map[notifyKey]notifyScripts{}, syncds: map[string]*syncd{}, log: u.log}
	for _, in := range p.cfg.Instances {
		u.act.scripts[notifyKey{name: in.Name}] = instanceScripts(in)
		if sd := newSyncd(m.opts.Syncer, in, u.log); sd != nil {
			u.act.syncds[in.Name] = sd
		} else if in.SyncDaemon != nil {
			u.log.Warn("lvs_sync_daemon needs the ipvs engine (--engine ipvs); not acted on", "instance", in.Name)
		}
	}
	for _, g := range p.cfg.SyncGroups {
		u.act.scripts[notifyKey{group: true, name: g.Name}] = groupScripts(g)
	}
	r, err := u.newRouter()
	if err != nil {
		return nil, err
	}
	u.first = r
	u.router.Store(r)
	return u, nil
}

func (u *unit) newRouter() (*vrrp.Router, error) {
	r, err := vrrp.New(u.plan.cfg, vrrp.Options{
		Transport: u.m.opts.Transport, Actions: u.act, Clock: u.m.opts.Clock, Logger: u.log,
		LinkUp: func(name string) bool { return u.linkUp[name] },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.plan.key, err)
	}
	return r, nil
}

// same reports whether p is the configuration the unit runs.
func (u *unit) same(p *plan) bool { return reflect.DeepEqual(u.plan, p) }

// start runs the unit on its own goroutine until stop.
func (u *unit) start() {
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go u.run(ctx)
}

// stop shuts the unit down (its Router stops as at exit) and waits for it.
func (u *unit) stop() {
	u.cancel()
	<-u.done
}

// run runs Routers until ctx ends; a Router that cannot start is replaced after a pause
// that doubles from RetryMin to RetryMax.
func (u *unit) run(ctx context.Context) {
	defer close(u.done)
	u.removeLeftovers()
	delay := u.m.opts.RetryMin
	r := u.first
	for {
		if r == nil {
			var err error
			if r, err = u.newRouter(); err != nil { // validated by Update: not expected
				u.log.Error("VRRP instances cannot run", "err", err)
				return
			}
			u.router.Store(r)
		}
		err := u.attempt(ctx, r)
		if ctx.Err() != nil {
			return
		}
		u.log.Error("VRRP instances could not start; trying again", "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, u.m.opts.RetryMax)
		r = nil
	}
}

// removeLeftovers removes the unit's addresses before it starts, as keepalived's
// vrrp_restore_interfaces_startup does ("removing VIPs."): a daemon killed while master
// leaves them on the interface, and a restarted backup must not answer for them.
func (u *unit) removeLeftovers() {
	for _, in := range u.plan.cfg.Instances {
		var vips []config.VIP
		for _, v := range append(slices.Clone(in.Addresses), in.Excluded...) {
			if v.Dev == "" {
				v.Dev = in.Interface
			}
			vips = append(vips, v)
		}
		if err := u.act.RemoveVIPs(in.Name, vips); err != nil {
			u.log.Warn("removing leftover virtual addresses", "instance", in.Name, "err", err)
		}
	}
}

// attempt watches the links, then runs r until ctx ends (nil) or r cannot open its
// sockets (the error).
func (u *unit) attempt(ctx context.Context, r *vrrp.Router) error {
	actx, cancel := context.WithCancel(ctx)
	names := u.plan.links()
	events, err := u.m.opts.WatchLinks(actx, names...)
	if err != nil {
		cancel()
		return fmt.Errorf("watching links: %w", err)
	}
	forwarded := make(chan struct{})
	defer func() {
		cancel()
		<-forwarded
	}()
	u.linkUp = map[string]bool{}
	timeout := time.After(5 * time.Second)
	for len(u.linkUp) < len(names) {
		select {
		case ev, ok := <-events:
			if !ok {
				close(forwarded)
				return fmt.Errorf("link watch ended before reporting %v", names)
			}
			u.linkUp[ev.Name] = ev.Up
		case <-timeout:
			go func() {
				for range events {
				}
				close(forwarded)
			}()
			return fmt.Errorf("link watch reported %d of %d interfaces", len(u.linkUp), len(names))
		}
	}
	go func() {
		defer close(forwarded)
		for ev := range events {
			r.SetLink(ev.Name, ev.Up)
		}
	}()
	var scriptNames []string
	for _, s := range u.plan.cfg.Scripts {
		scriptNames = append(scriptNames, s.Name)
	}
	u.m.scripts.subscribe(r, scriptNames)
	defer u.m.scripts.unsubscribe(r)
	return r.Run(ctx)
}
