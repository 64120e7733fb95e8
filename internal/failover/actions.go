package failover

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vip"
	"github.com/golvs/golvs/internal/vrrp"
)

// AddrManager puts virtual addresses on devices and takes them off (*vip.Manager).
type AddrManager interface {
	Add(v config.VIP) error
	Remove(v config.VIP) error
}

// Announcer sends rounds of gratuitous ARP / unsolicited neighbour advertisements
// (*vip.Announcer).
type Announcer interface {
	Burst(ctx context.Context, vips []config.VIP, rounds int) error
}

// announceTimeout bounds one Announce call, which runs on the Router's goroutine.
const announceTimeout = 2 * time.Second

// actions are the vrrp.Actions of one unit: addresses through an AddrManager,
// announcements through an Announcer, notify scripts through the Manager's notifier.
type actions struct {
	addrs    AddrManager
	announce Announcer
	notifier *notifier
	scripts  map[notifyKey]notifyScripts
	// syncds are the instances that drive the IPVS sync daemon (lvs_sync_daemon).
	syncds map[string]*syncd
	log    *slog.Logger
}

// notifyKey names an instance or a group (their names may coincide).
type notifyKey struct {
	group bool
	name  string
}

func (k notifyKey) String() string {
	if k.group {
		return "GROUP " + k.name
	}
	return "INSTANCE " + k.name
}

// AddVIPs adds every address (an address already there is no error); it tries them all
// and returns their errors joined.
func (a *actions) AddVIPs(instance string, vips []config.VIP) error {
	var errs []error
	for _, v := range vips {
		if err := a.addrs.Add(v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveVIPs removes every address (an absent one is no error), returning the errors
// joined.
func (a *actions) RemoveVIPs(instance string, vips []config.VIP) error {
	var errs []error
	for _, v := range vips {
		if err := a.addrs.Remove(v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Announce sends rounds rounds back to back (keepalived's default vrrp_garp_interval
// 0), within announceTimeout.
func (a *actions) Announce(instance string, vips []config.VIP, rounds int) error {
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	return a.announce.Burst(ctx, vips, rounds)
}

// Notify queues the notify scripts of the instance or group; it never blocks on them.
func (a *actions) Notify(n vrrp.Notification) {
	k := notifyKey{group: n.Group, name: n.Name}
	a.log.Info("state change", "for", k.String(), "state", n.State.String(), "priority", n.Priority)
	if sd := a.syncds[n.Name]; sd != nil && !n.Group {
		sd.follow(n.State)
	}
	s, ok := a.scripts[k]
	if !ok {
		return
	}
	a.notifier.notify(k.String(), s, n)
}

// Interface guards.
var (
	_ vrrp.Actions = (*actions)(nil)
	_ AddrManager  = (*vip.Manager)(nil)
	_ Announcer    = (*vip.Announcer)(nil)
)
