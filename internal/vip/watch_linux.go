package vip

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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
	sub, err := subscribe(ns, feed[netlink.LinkUpdate, map[string]bool](w))
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
	w.out = out
	go func() {
		defer close(out)
		defer w.h.Close()
		follow(ctx, ns, feed[netlink.LinkUpdate, map[string]bool](w), sub)
	}()
	return out, nil
}

// watcher is owned by the goroutine running follow once Watch returns.
type watcher struct {
	ns    netns.NsHandle
	h     *netlink.Handle
	names map[string]bool // the watched names
	state map[string]bool // last state reported per name
	index map[int]string  // ifindex -> name, for links carrying a watched name
	out   chan<- LinkEvent
}

func (w *watcher) subscribe(updates chan netlink.LinkUpdate, done chan struct{}) error {
	return netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}})
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

// catchUp reports every watched name's state in now that differs from the last reported.
func (w *watcher) catchUp(ctx context.Context, now map[string]bool) bool {
	for n := range w.names {
		if !w.emit(ctx, n, now[n]) {
			return false
		}
	}
	return true
}

// apply turns one RTM_NEWLINK / RTM_DELLINK into events; false when ctx ended.
func (w *watcher) apply(ctx context.Context, u netlink.LinkUpdate) bool {
	a := u.Link.Attrs()
	idx := int(u.Index)
	// A link that carried a watched name and now carries another (rename) or is gone.
	if old, ok := w.index[idx]; ok && (old != a.Name || u.Header.Type == unix.RTM_DELLINK) {
		delete(w.index, idx)
		if !w.emit(ctx, old, false) {
			return false
		}
	}
	if !w.names[a.Name] || u.Header.Type == unix.RTM_DELLINK {
		return true
	}
	w.index[idx] = a.Name
	return w.emit(ctx, a.Name, linkUp(u.Flags))
}

// emit reports name's state if it changed; false when ctx ended first.
func (w *watcher) emit(ctx context.Context, name string, up bool) bool {
	if last, ok := w.state[name]; ok && last == up {
		return true
	}
	w.state[name] = up
	select {
	case w.out <- LinkEvent{Name: name, Up: up}:
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
