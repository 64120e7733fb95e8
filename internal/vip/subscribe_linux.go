package vip

import (
	"context"
	"time"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/nsutil"
)

// feed is what a watcher follows through one kind of netlink subscription (links,
// addresses): U is an update, S a listing of the current state.
type feed[U, S any] interface {
	// subscribe starts the subscription (called in the watched namespace).
	subscribe(updates chan U, done chan struct{}) error
	// list returns the current state.
	list() (S, error)
	// apply turns one update into events; false when ctx ended.
	apply(ctx context.Context, u U) bool
	// catchUp reports what changed between the recorded state and now (after a broken
	// subscription); false when ctx ended.
	catchUp(ctx context.Context, now S) bool
}

// subscription is one netlink subscription of updates U.
type subscription[U any] struct {
	updates chan U
	done    chan struct{}
}

// subscribe opens a subscription of f in ns. The subscription socket is created
// synchronously, on nsutil.Run's thread in the namespace.
func subscribe[U, S any](ns netns.NsHandle, f feed[U, S]) (subscription[U], error) {
	s := subscription[U]{updates: make(chan U, 64), done: make(chan struct{})}
	if err := nsutil.Run(ns, func() error { return f.subscribe(s.updates, s.done) }); err != nil {
		return subscription[U]{}, err
	}
	return s, nil
}

func (s subscription[U]) stop() {
	close(s.done)
	for range s.updates { // netlink's reader closes updates once its socket is closed
	}
}

// follow applies sub's updates until ctx is done. When the subscription breaks (for
// example its socket buffer overflows) it subscribes again, with a backoff of 100 ms
// doubling to 5 s, lists the state and lets f catch up.
func follow[U, S any](ctx context.Context, ns netns.NsHandle, f feed[U, S], sub subscription[U]) {
	backoff := 100 * time.Millisecond
	for {
		more := drain(ctx, f, sub)
		sub.stop() // also when the subscription broke: its socket is still open
		if !more {
			return
		}
		for {
			if sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			s, err := subscribe(ns, f)
			if err != nil {
				continue
			}
			now, err := f.list()
			if err != nil {
				s.stop()
				continue
			}
			sub = s
			if !f.catchUp(ctx, now) {
				sub.stop()
				return
			}
			backoff = 100 * time.Millisecond
			break
		}
	}
}

// drain applies sub's updates until ctx is done (false) or the subscription ends (true).
func drain[U, S any](ctx context.Context, f feed[U, S], sub subscription[U]) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case u, ok := <-sub.updates:
			if !ok {
				return true
			}
			if !f.apply(ctx, u) {
				return false
			}
		}
	}
}
