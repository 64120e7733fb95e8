package vip

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/nsutil"
)

// WatchAddrs reports which addresses are configured in ns (the zero value or
// netns.None() for the current namespace), from an RTNLGRP_IPV4_IFADDR and
// RTNLGRP_IPV6_IFADDR netlink subscription, for keepalived's ha_suspend.
//
// The channel first carries one event with Present set per address on the host, then an
// event whenever an address appears on its first interface or leaves its last one (an
// address on two interfaces counts until both lose it, as keepalived's
// update_checker_activity counts ha_suspend_addr_count). Notifications that change
// nothing (IPv6 lifetime updates) are not forwarded. If the subscription breaks, Watch
// subscribes again, lists the addresses and reports what changed meanwhile.
//
// The channel is closed after ctx is done; the caller should keep reading until then.
// WatchAddrs returns an error, naming the namespace, only if the first subscription or
// listing fails.
func WatchAddrs(ctx context.Context, ns netns.NsHandle) (<-chan AddrEvent, error) {
	w := &addrWatcher{ns: ns, on: map[addrOn]bool{}, count: map[netip.Addr]int{}}
	var err error
	if w.h, err = newHandle(ns); err != nil {
		return nil, fmt.Errorf("vip: watch addresses in namespace %s: %w", ns, err)
	}
	sub, err := w.subscribe()
	if err != nil {
		w.h.Close()
		return nil, fmt.Errorf("vip: watch addresses in namespace %s: %w", ns, err)
	}
	now, err := w.list()
	if err != nil {
		sub.stop()
		w.h.Close()
		return nil, fmt.Errorf("vip: watch addresses in namespace %s: %w", ns, err)
	}
	var initial []AddrEvent
	for k := range now {
		if w.set(k, true) {
			initial = append(initial, AddrEvent{Addr: k.addr, Present: true})
		}
	}
	out := make(chan AddrEvent, len(initial)+16)
	for _, ev := range initial {
		out <- ev
	}
	go w.run(ctx, sub, out)
	return out, nil
}

// addrOn is an address on one interface.
type addrOn struct {
	addr    netip.Addr
	ifindex int
}

// addrWatcher is owned by the goroutine running run once WatchAddrs returns.
type addrWatcher struct {
	ns    netns.NsHandle
	h     *netlink.Handle
	on    map[addrOn]bool
	count map[netip.Addr]int // interfaces carrying each address
}

type addrSubscription struct {
	updates chan netlink.AddrUpdate
	done    chan struct{}
}

func (s addrSubscription) stop() {
	close(s.done)
	for range s.updates { // netlink's reader closes updates once its socket is closed
	}
}

func (w *addrWatcher) subscribe() (addrSubscription, error) {
	s := addrSubscription{updates: make(chan netlink.AddrUpdate, 64), done: make(chan struct{})}
	err := nsutil.Run(w.ns, func() error {
		return netlink.AddrSubscribeWithOptions(s.updates, s.done,
			netlink.AddrSubscribeOptions{ErrorCallback: func(error) {}})
	})
	if err != nil {
		return addrSubscription{}, err
	}
	return s, nil
}

// list returns every address of the namespace now.
func (w *addrWatcher) list() (map[addrOn]bool, error) {
	addrs, err := w.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	now := map[addrOn]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			now[addrOn{ip.Unmap(), a.LinkIndex}] = true
		}
	}
	return now, nil
}

// set records k as present or not and reports whether its address's presence on the
// host changed.
func (w *addrWatcher) set(k addrOn, present bool) bool {
	if w.on[k] == present {
		return false
	}
	if present {
		w.on[k] = true
		w.count[k.addr]++
		return w.count[k.addr] == 1
	}
	delete(w.on, k)
	w.count[k.addr]--
	if w.count[k.addr] > 0 {
		return false
	}
	delete(w.count, k.addr)
	return true
}

func (w *addrWatcher) run(ctx context.Context, sub addrSubscription, out chan<- AddrEvent) {
	defer close(out)
	defer w.h.Close()
	backoff := 100 * time.Millisecond
	for {
		more := w.follow(ctx, sub, out)
		sub.stop()
		if !more {
			return
		}
		for {
			if sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			s, err := w.subscribe()
			if err != nil {
				continue
			}
			now, err := w.list()
			if err != nil {
				s.stop()
				continue
			}
			sub = s
			if !w.catchUp(ctx, out, now) {
				sub.stop()
				return
			}
			backoff = 100 * time.Millisecond
			break
		}
	}
}

// catchUp reports the differences between the recorded addresses and now.
func (w *addrWatcher) catchUp(ctx context.Context, out chan<- AddrEvent, now map[addrOn]bool) bool {
	for k := range w.on {
		if !now[k] && !w.emit(ctx, out, k, false) {
			return false
		}
	}
	for k := range now {
		if !w.emit(ctx, out, k, true) {
			return false
		}
	}
	return true
}

// follow forwards the subscription's changes until ctx is done (false) or the
// subscription ends (true).
func (w *addrWatcher) follow(ctx context.Context, sub addrSubscription, out chan<- AddrEvent) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case u, ok := <-sub.updates:
			if !ok {
				return true
			}
			ip, valid := netip.AddrFromSlice(u.LinkAddress.IP)
			if !valid {
				continue
			}
			if !w.emit(ctx, out, addrOn{ip.Unmap(), u.LinkIndex}, u.NewAddr) {
				return false
			}
		}
	}
}

// emit records k and reports a change of its address's presence; false when ctx ended.
func (w *addrWatcher) emit(ctx context.Context, out chan<- AddrEvent, k addrOn, present bool) bool {
	if !w.set(k, present) {
		return true
	}
	select {
	case out <- AddrEvent{Addr: k.addr, Present: present}:
		return true
	case <-ctx.Done():
		return false
	}
}
