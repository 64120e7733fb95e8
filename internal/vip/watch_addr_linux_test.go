package vip

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestWatchAddrs(t *testing.T) {
	h := twoHosts(t)
	h.a.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	ctx, cancel := context.WithCancel(context.Background())
	events, err := WatchAddrs(ctx, h.a.Handle)
	if err != nil {
		t.Fatalf("WatchAddrs: %v", err)
	}
	// The initial set: a0's addresses (and loopback's), in no particular order.
	initial := map[netip.Addr]bool{}
	timeout := time.After(5 * time.Second)
	for !initial[netip.MustParseAddr("192.0.2.1")] || !initial[netip.MustParseAddr("2001:db8::1")] || !initial[netip.MustParseAddr("127.0.0.1")] {
		select {
		case ev := <-events:
			if !ev.Present {
				t.Fatalf("initial event %+v", ev)
			}
			initial[ev.Addr] = true
		case <-timeout:
			t.Fatalf("initial addresses %v", initial)
		}
	}
	next := func(want AddrEvent) {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Addr.IsLinkLocalUnicast() {
					continue // x0's link-local address coming and going
				}
				if ev.Addr.IsLoopback() && ev.Present && ev != want {
					continue // lo's other address, an initial event the loop above did not wait for
				}
				if ev != want {
					t.Fatalf("event %+v, want %+v", ev, want)
				}
				return
			case <-time.After(5 * time.Second):
				t.Fatalf("no event after 5 s, want %+v", want)
			}
		}
	}
	v := netip.MustParseAddr("192.0.2.100")
	h.a.IP("addr", "add", "192.0.2.100/32", "dev", "a0")
	next(AddrEvent{Addr: v, Present: true})
	// On a second interface too: no event; gone from the first: still present.
	h.a.IP("addr", "add", "192.0.2.100/32", "dev", "x0")
	h.a.IP("addr", "del", "192.0.2.100/32", "dev", "a0")
	h.a.IP("addr", "add", "2001:db8::100/128", "dev", "a0", "nodad")
	next(AddrEvent{Addr: netip.MustParseAddr("2001:db8::100"), Present: true})
	// Gone from the last interface (deleted with it).
	h.a.IP("link", "del", "x0")
	next(AddrEvent{Addr: v, Present: false})
	h.a.IP("addr", "del", "2001:db8::100/128", "dev", "a0")
	next(AddrEvent{Addr: netip.MustParseAddr("2001:db8::100"), Present: false})
	cancel()
	for range events {
	}
}
