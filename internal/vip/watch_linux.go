package vip

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/internal/nsutil"
)

// Watch reports the state of the named interfaces in ns (the zero value or netns.None()
// for the current namespace) from an RTNLGRP_LINK netlink subscription, for
// track_interface.
//
// The channel first carries one event per name with its current state (a missing
// interface is down), then an event whenever a name's state changes: it goes up or down,
// appears, disappears or is renamed. Repeated notifications without a change are not
// forwarded. If the subscription breaks (for example its socket buffer overflows), Watch
// subscribes again, lists the links and reports what changed meanwhile.
//
// The channel is closed after ctx is done; the caller should keep reading until then.
// Watch returns an error, naming the namespace, only if the first subscription or
// listing fails.
func Watch(ctx context.Context, ns netns.NsHandle, ifnames ...string) (<-chan LinkEvent, error) {
	w := &watcher{ns: ns, names: map[string]bool{}, state: map[string]bool{}, index: map[int]string{}}
	for _, n := range ifnames {
		w.names[n] = true
	}
	var err error
	if w.h, err = newHandle(ns); err != nil {
		return nil, fmt.Errorf("vip: watch links in namespace %s: %w", ns, err)
	}
	sub, err := w.subscribe()
	if err != nil {
		w.h.Close()
		return nil, fmt.Errorf("vip: watch links in namespace %s: %w", ns, err)
	}
	initial, err := w.list()
	if err != nil {
		sub.stop()
		w.h.Close()
		return nil, fmt.Errorf("vip: watch links in namespace %s: %w", ns, err)
	}
	out := make(chan LinkEvent, len(ifnames))
	for _, n := range ifnames {
		if _, seen := w.state[n]; seen {
			continue // a name given twice
		}
		w.state[n] = initial[n]
		out <- LinkEvent{Name: n, Up: initial[n]}
	}
	go w.run(ctx, sub, out)
	return out, nil
}

// watcher is owned by the goroutine running run once Watch returns.
type watcher struct {
	ns    netns.NsHandle
	h     *netlink.Handle
	names map[string]bool // the watched names
	state map[string]bool // last state reported per name
	index map[int]string  // ifindex -> name, for links carrying a watched name
}

// subscription is one netlink link subscription.
type subscription struct {
	updates chan netlink.LinkUpdate
	done    chan struct{}
}

func (s subscription) stop() {
	close(s.done)
	for range s.updates { // netlink's reader closes updates once its socket is closed
	}
}

func (w *watcher) subscribe() (subscription, error) {
	s := subscription{updates: make(chan netlink.LinkUpdate, 64), done: make(chan struct{})}
	// The subscription socket is created synchronously, on Run's thread in the namespace.
	err := nsutil.Run(w.ns, func() error {
		return netlink.LinkSubscribeWithOptions(s.updates, s.done,
			netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}})
	})
	if err != nil {
		return subscription{}, err
	}
	return s, nil
}

// list returns the state of every watched name now, and refreshes the index map.
func (w *watcher) list() (map[string]bool, error) {
	links, err := w.h.LinkList()
	if err != nil {
		return nil, err
	}
	up := map[string]bool{}
	w.index = map[int]string{}
	for _, l := range links {
		a := l.Attrs()
		if w.names[a.Name] {
			up[a.Name] = linkUp(a.RawFlags)
			w.index[a.Index] = a.Name
		}
	}
	return up, nil
}

func (w *watcher) run(ctx context.Context, sub subscription, out chan<- LinkEvent) {
	defer close(out)
	defer w.h.Close()
	backoff := 100 * time.Millisecond
	for {
		more := w.follow(ctx, sub, out)
		sub.stop() // also when the subscription broke: its socket is still open
		if !more {
			return
		}
		// The subscription broke: subscribe again, then catch up from a listing.
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
			for n := range w.names {
				if !w.emit(ctx, out, n, now[n]) {
					sub.stop()
					return
				}
			}
			backoff = 100 * time.Millisecond
			break
		}
	}
}

// follow forwards the subscription's changes until ctx is done (false) or the
// subscription ends (true).
func (w *watcher) follow(ctx context.Context, sub subscription, out chan<- LinkEvent) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case u, ok := <-sub.updates:
			if !ok {
				return true
			}
			if !w.apply(ctx, out, u) {
				return false
			}
		}
	}
}

// apply turns one RTM_NEWLINK / RTM_DELLINK into events; false when ctx ended.
func (w *watcher) apply(ctx context.Context, out chan<- LinkEvent, u netlink.LinkUpdate) bool {
	a := u.Link.Attrs()
	idx := int(u.Index)
	// A link that carried a watched name and now carries another (rename) or is gone.
	if old, ok := w.index[idx]; ok && (old != a.Name || u.Header.Type == unix.RTM_DELLINK) {
		delete(w.index, idx)
		if !w.emit(ctx, out, old, false) {
			return false
		}
	}
	if !w.names[a.Name] || u.Header.Type == unix.RTM_DELLINK {
		return true
	}
	w.index[idx] = a.Name
	return w.emit(ctx, out, a.Name, linkUp(u.Flags))
}

// emit reports name's state if it changed; false when ctx ended first.
func (w *watcher) emit(ctx context.Context, out chan<- LinkEvent, name string, up bool) bool {
	if last, ok := w.state[name]; ok && last == up {
		return true
	}
	w.state[name] = up
	select {
	case out <- LinkEvent{Name: name, Up: up}:
		return true
	case <-ctx.Done():
		return false
	}
}

// linkUp is keepalived's FLAGS_UP: IFF_UP and IFF_RUNNING both set.
func linkUp(flags uint32) bool {
	const want = unix.IFF_UP | unix.IFF_RUNNING
	return flags&want == want
}
