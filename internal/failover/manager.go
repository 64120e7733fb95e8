package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/engine"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vip"
	"github.com/golvs/golvs/internal/vrrp"
)

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("failover: manager closed")

// LinkWatcher reports the link state of the named interfaces, as vip.Watch does: first
// one event per distinct name with its current state, then every change, until ctx ends
// (then the channel is closed).
type LinkWatcher func(ctx context.Context, names ...string) (<-chan vip.LinkEvent, error)

// Options configure a Manager. The OS side defaults to the production implementation in
// NetNS; tests replace it with fakes.
type Options struct {
	// NetNS is the network namespace of the interfaces and addresses (zero: current).
	NetNS  netns.NsHandle
	Logger *slog.Logger
	// Transport opens the instances' sockets (default: *Transport in NetNS).
	Transport vrrp.Transport
	// Addrs adds and removes VIPs (default: a vip.Manager in NetNS, closed by Close).
	Addrs AddrManager
	// Announcer sends gratuitous ARP / NA (default: a vip.Announcer in NetNS).
	Announcer Announcer
	// WatchLinks watches links for track_interface (default: vip.Watch in NetNS).
	WatchLinks LinkWatcher
	// ScriptExec runs vrrp_script commands (default: ScriptExecutor{}.Exec).
	ScriptExec vrrp.ScriptExec
	// Clock drives the Routers and script runners (default: the wall clock).
	Clock vrrp.Clock
	// NotifyWait is how long the notify scripts of one instance or group wait for the
	// previous one to end before they start anyway (default 30 s).
	NotifyWait time.Duration
	// Syncer runs the IPVS connection-sync daemon for instances with lvs_sync_daemon (the
	// ipvs engine); nil: lvs_sync_daemon is not acted on (lvsd warns).
	Syncer engine.Syncer
	// RetryMin and RetryMax bound the pause before a unit whose sockets or link watch
	// could not be opened is tried again; it doubles from RetryMin (default 1 s) to
	// RetryMax (default 30 s).
	RetryMin, RetryMax time.Duration
}

// Manager runs the VRRP instances of a configuration and follows its reloads. Update,
// Close and Status are safe for concurrent use.
type Manager struct {
	// Immutable after New.
	opts       Options
	log        *slog.Logger
	closeAddrs func() error
	notifier   *notifier
	scripts    *scriptHub

	mu         sync.Mutex // serialises Update and Close; guards the fields below
	units      map[string]*unit
	instOrder  []string // instance names in configuration order
	groupOrder []string
	closed     bool
}

// New returns a Manager that runs nothing until Update. It fails only when the default
// vip.Manager cannot be opened (no netlink, or not Linux).
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{log: opts.Logger, closeAddrs: func() error { return nil }, units: map[string]*unit{}}
	if opts.Addrs == nil {
		vm, err := vip.NewManager(opts.NetNS)
		if err != nil {
			return nil, fmt.Errorf("failover: %w", err)
		}
		opts.Addrs, m.closeAddrs = vm, vm.Close
	}
	if opts.Transport == nil {
		opts.Transport = &Transport{NetNS: opts.NetNS, Logger: opts.Logger}
	}
	if opts.Announcer == nil {
		opts.Announcer = vip.NewAnnouncer(opts.NetNS)
	}
	if opts.WatchLinks == nil {
		ns := opts.NetNS
		opts.WatchLinks = func(ctx context.Context, names ...string) (<-chan vip.LinkEvent, error) {
			return vip.Watch(ctx, ns, names...)
		}
	}
	if opts.ScriptExec == nil {
		opts.ScriptExec = ScriptExecutor{}.Exec
	}
	if opts.Clock == nil {
		opts.Clock = vrrp.SystemClock{}
	}
	if opts.NotifyWait <= 0 {
		opts.NotifyWait = 30 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(30*time.Second, opts.RetryMin)
	}
	m.opts = opts
	m.notifier = newNotifier(opts.Logger, opts.NotifyWait)
	m.scripts = newScriptHub(opts.ScriptExec, opts.Clock, opts.Logger)
	return m, nil
}

// Check reports whether cfg can run: the checks and corrections of keepalived's
// vrrp_complete_instance that vrrp.New applies (IDs, priorities, versions and
// intervals, authentication, track scripts and sync groups that exist). It opens
// nothing.
func Check(cfg *config.VRRP) error {
	_, err := vrrp.New(cfg, vrrp.Options{Transport: nopTransport{}, Actions: nopActions{}})
	return err
}

// Update makes cfg the running configuration. The first call starts every instance;
// later calls (reloads) compare each unit (a vrrp_sync_group with its members, or an
// instance outside any group), with the vrrp_scripts it tracks, to the running one:
//
//   - unchanged: it keeps running untouched (state, timers, addresses, counters);
//   - removed: it stops as at shutdown (a master sends priority 0 and removes its
//     addresses; notify_stop and notify ... STOP run);
//   - changed: it is stopped that way and started again from INIT, so a master hands
//     over to its peer and takes the addresses back only by preemption. keepalived's
//     reload keeps the state of an instance of the same name instead (and only adds and
//     removes the addresses that changed); lvsd restarts it.
//
// Sockets are opened by the units in the background: an instance whose interface has no
// address yet is retried (RetryMin to RetryMax) and logged. Update returns an error,
// and changes nothing, when cfg does not pass Check, or ErrClosed after Close.
func (m *Manager) Update(cfg *config.VRRP) error {
	if err := Check(cfg); err != nil {
		return err
	}
	plans := split(cfg)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	next := map[string]*unit{}
	var starts []*unit
	for _, p := range plans {
		if u := m.units[p.key]; u != nil && u.same(p) {
			next[p.key] = u
			continue
		}
		u, err := m.newUnit(p)
		if err != nil {
			return err
		}
		next[p.key] = u
		starts = append(starts, u)
	}
	var stops []*unit
	for k, u := range m.units {
		if next[k] != u {
			stops = append(stops, u)
		}
	}
	stopUnits(stops)
	want := map[string]config.VRRPScript{}
	for _, p := range plans {
		for _, s := range p.cfg.Scripts {
			want[s.Name] = *s
		}
	}
	m.scripts.update(want)
	for _, u := range starts {
		u.start()
	}
	m.units = next
	m.instOrder, m.groupOrder = nil, nil
	for _, in := range cfg.Instances {
		m.instOrder = append(m.instOrder, in.Name)
	}
	for _, g := range cfg.SyncGroups {
		m.groupOrder = append(m.groupOrder, g.Name)
	}
	if len(starts) > 0 || len(stops) > 0 {
		m.log.Info("VRRP configuration applied", "units", len(next), "started", len(starts), "stopped", len(stops))
	}
	return nil
}

// stopUnits stops units in parallel and waits for them.
func stopUnits(us []*unit) {
	var wg sync.WaitGroup
	for _, u := range us {
		wg.Go(u.stop)
	}
	wg.Wait()
}

// Close stops every instance as keepalived does at exit (masters send priority 0 and
// remove their addresses; STOP is notified), stops the scripts, waits up to two seconds
// for the notify scripts queued so far, and releases the netlink handle. Later calls do
// nothing.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	var us []*unit
	for _, u := range m.units {
		us = append(us, u)
	}
	m.units = map[string]*unit{}
	m.mu.Unlock()
	stopUnits(us)
	m.scripts.update(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.notifier.close(ctx)
	if err := m.closeAddrs(); err != nil {
		m.log.Warn("closing the address manager", "err", err)
	}
}

// Status is the state of every instance and sync group, in configuration order.
func (m *Manager) Status() vrrp.Status {
	m.mu.Lock()
	var routers []*vrrp.Router
	for _, u := range m.units {
		if r := u.router.Load(); r != nil {
			routers = append(routers, r)
		}
	}
	instOrder, groupOrder := m.instOrder, m.groupOrder
	m.mu.Unlock()
	insts := map[string]vrrp.InstanceStatus{}
	groups := map[string]vrrp.GroupStatus{}
	for _, r := range routers {
		st := r.Status()
		for _, s := range st.Instances {
			insts[s.Name] = s
		}
		for _, g := range st.Groups {
			groups[g.Name] = g
		}
	}
	out := vrrp.Status{Instances: []vrrp.InstanceStatus{}, Groups: []vrrp.GroupStatus{}}
	for _, n := range instOrder {
		if s, ok := insts[n]; ok {
			out.Instances = append(out.Instances, s)
		}
	}
	for _, n := range groupOrder {
		if g, ok := groups[n]; ok {
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

// nopTransport and nopActions let Check build a Router that never runs.
type nopTransport struct{}

func (nopTransport) Open(*config.VRRPInstance) (vrrp.Conn, error) {
	return nil, errors.New("failover: check only")
}

type nopActions struct{}

func (nopActions) AddVIPs(string, []config.VIP) error       { return nil }
func (nopActions) RemoveVIPs(string, []config.VIP) error    { return nil }
func (nopActions) Announce(string, []config.VIP, int) error { return nil }
func (nopActions) Notify(vrrp.Notification)                 {}
