package vip

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestWatch(t *testing.T) {
	h := twoHosts(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := Watch(ctx, h.a.Handle, "a0", "ghost")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	next := func(want LinkEvent) {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("channel closed, want %+v", want)
			}
			if ev != want {
				t.Fatalf("event %+v, want %+v", ev, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event after 5 s, want %+v", want)
		}
	}
	// The current state first, in the order asked.
	next(LinkEvent{Name: "a0", Up: true})
	next(LinkEvent{Name: "ghost", Up: false})

	// The peer going down takes a0's carrier (IFF_RUNNING) away.
	h.b.IP("link", "set", "b0", "down")
	next(LinkEvent{Name: "a0", Up: false})
	h.b.IP("link", "set", "b0", "up")
	next(LinkEvent{Name: "a0", Up: true})
	// Administratively down.
	h.a.IP("link", "set", "a0", "down")
	next(LinkEvent{Name: "a0", Up: false})
	h.a.IP("link", "set", "a0", "up")
	next(LinkEvent{Name: "a0", Up: true})

	// An interface appearing, going up, being renamed away and back, and deleted.
	h.a.IP("link", "add", "ghost", "type", "veth", "peer", "name", "ghost1")
	h.a.IP("link", "set", "ghost1", "up")
	h.a.IP("link", "set", "ghost", "up")
	next(LinkEvent{Name: "ghost", Up: true})
	h.a.IP("link", "set", "ghost", "down")
	next(LinkEvent{Name: "ghost", Up: false})
	// Renamed away, the name is gone (already down: no event); "spirit" going up is no
	// event either; renamed back and up, the name is up again.
	h.a.IP("link", "set", "ghost", "name", "spirit")
	h.a.IP("link", "set", "spirit", "up")
	h.a.IP("link", "set", "spirit", "down")
	h.a.IP("link", "set", "spirit", "name", "ghost")
	h.a.IP("link", "set", "ghost", "up")
	next(LinkEvent{Name: "ghost", Up: true})
	// Renamed away while up (kernels since 6.2 allow it): the name goes down.
	if _, err := h.a.Exec("ip", "link", "set", "ghost", "name", "spirit"); err == nil {
		next(LinkEvent{Name: "ghost", Up: false})
		h.a.IP("link", "set", "spirit", "name", "ghost")
		next(LinkEvent{Name: "ghost", Up: true})
	}
	h.a.IP("link", "del", "ghost")
	next(LinkEvent{Name: "ghost", Up: false})

	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				waitGoroutines(t, before)
				return
			}
		case <-deadline:
			t.Fatal("channel not closed 5 s after cancel")
		}
	}
}

// waitGoroutines waits (at most 5 s) for the goroutine count to fall back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatchStopsWithoutReader: changes pile up while nobody reads; cancelling still
// closes the channel and ends every goroutine (none stays blocked on a send).
func TestWatchStopsWithoutReader(t *testing.T) {
	h := twoHosts(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	events, err := Watch(ctx, h.a.Handle, "a0")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for i := 0; i < 5; i++ { // changes nobody reads
		h.a.IP("link", "set", "a0", "down")
		h.a.IP("link", "set", "a0", "up")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				waitGoroutines(t, before)
				return
			}
		case <-deadline:
			t.Fatal("channel not closed 5 s after cancel")
		}
	}
}
