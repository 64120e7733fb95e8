package vip

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
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
	sub, err := subscribe(ns, feed[netlink.AddrUpdate, map[addrOn]bool](w))
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
	w.out = out
	go func() {
		defer close(out)
		defer w.h.Close()
		follow(ctx, ns, feed[netlink.AddrUpdate, map[addrOn]bool](w), sub)
	}()
	return out, nil
}

// addrOn is an address on one interface.
type addrOn struct {
	addr    netip.Addr
	ifindex int
}

// addrWatcher is owned by the goroutine running follow once WatchAddrs returns.
type addrWatcher struct {
	ns    netns.NsHandle
	h     *netlink.Handle
	on    map[addrOn]bool
	count map[netip.Addr]int // interfaces carrying each address
	out   chan<- AddrEvent
}

func (w *addrWatcher) subscribe(updates chan netlink.AddrUpdate, done chan struct{}) error {
	return netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{ErrorCallback: func(error) {}})
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

// catchUp reports the differences between the recorded addresses and now.
func (w *addrWatcher) catchUp(ctx context.Context, now map[addrOn]bool) bool {
	for k := range w.on {
		if !now[k] && !w.emit(ctx, k, false) {
			return false
		}
	}
	for k := range now {
		if !w.emit(ctx, k, true) {
			return false
		}
	}
	return true
}

// apply turns one RTM_NEWADDR / RTM_DELADDR into an event; false when ctx ended.
func (w *addrWatcher) apply(ctx context.Context, u netlink.AddrUpdate) bool {
	ip, valid := netip.AddrFromSlice(u.LinkAddress.IP)
	if !valid {
		return true
	}
	return w.emit(ctx, addrOn{ip.Unmap(), u.LinkIndex}, u.NewAddr)
}

// emit records k and reports a change of its address's presence; false when ctx ended.
func (w *addrWatcher) emit(ctx context.Context, k addrOn, present bool) bool {
	if !w.set(k, present) {
		return true
	}
	select {
	case w.out <- AddrEvent{Addr: k.addr, Present: present}:
		return true
	case <-ctx.Done():
		return false
	}
}
