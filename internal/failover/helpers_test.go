package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vip"
	"github.com/golvs/golvs/internal/vrrp"
)

// bus is a shared link: every conn opened on it hears what the others send to the
// VRRP group (multicast) or to its own address (unicast), as a switch would deliver.
type bus struct {
	mu    sync.Mutex
	conns []*busConn
	// cut, when set, drops packets between the two hosts (a split).
	cut map[[2]string]bool
}

type busConn struct {
	b      *bus
	host   string
	local  netip.Addr
	in     chan vrrp.Packet
	closed bool
	sent   int
}

func (b *bus) open(host string, local netip.Addr) *busConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &busConn{b: b, host: host, local: local, in: make(chan vrrp.Packet, 64)}
	b.conns = append(b.conns, c)
	return c
}

func (b *bus) setCut(x, y string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut == nil {
		b.cut = map[[2]string]bool{}
	}
	b.cut[[2]string{x, y}], b.cut[[2]string{y, x}] = on, on
}

func (c *busConn) LocalAddr() netip.Addr { return c.local }

func (c *busConn) Send(msg []byte, dst netip.Addr) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.closed {
		return errors.New("closed")
	}
	c.sent++
	for _, o := range c.b.conns {
		if o == c || o.closed || o.host == c.host || c.b.cut[[2]string{c.host, o.host}] {
			continue
		}
		if !dst.IsMulticast() && dst != o.local {
			continue
		}
		select {
		case o.in <- vrrp.Packet{Payload: slices.Clone(msg), Src: c.local, Dst: dst, TTL: 255}:
		default: // a full queue drops, as a socket buffer would
		}
	}
	return nil
}

func (c *busConn) Packets() <-chan vrrp.Packet { return c.in }

func (c *busConn) Close() error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	return nil
}

// host is one director: a Manager with fake OS pieces on a bus.
type host struct {
	t     *testing.T
	name  string
	local netip.Addr
	m     *Manager

	mu       sync.Mutex
	vips     map[string]bool // "prefix@dev" present
	events   []string        // "add X", "remove X", "announce N"
	opens    int
	failOpen int // Open fails while > 0
	links    map[string]chan vip.LinkEvent
	linkUp   map[string]bool
	scriptOK map[string]bool
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("host", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func newHost(t *testing.T, b *bus, name, local string) *host {
	t.Helper()
	h := &host{t: t, name: name, local: netip.MustParseAddr(local), vips: map[string]bool{},
		links: map[string]chan vip.LinkEvent{}, linkUp: map[string]bool{}, scriptOK: map[string]bool{}}
	m, err := New(Options{
		Logger: testLogger(t).With("host", name),
		Transport: transportFunc(func(in *config.VRRPInstance) (vrrp.Conn, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.opens++
			if h.failOpen > 0 {
				h.failOpen--
				return nil, errors.New("no address yet")
			}
			return b.open(name, h.local), nil
		}),
		Addrs:      h,
		Announcer:  h,
		WatchLinks: h.watch,
		ScriptExec: h.exec,
		RetryMin:   20 * time.Millisecond,
		RetryMax:   40 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	t.Cleanup(m.Close)
	return h
}

type transportFunc func(in *config.VRRPInstance) (vrrp.Conn, error)

func (f transportFunc) Open(in *config.VRRPInstance) (vrrp.Conn, error) { return f(in) }

func vipKey(v config.VIP) string { return v.Prefix.String() + "@" + v.Dev }

func (h *host) Add(v config.VIP) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.vips[vipKey(v)] = true
	h.events = append(h.events, "add "+vipKey(v))
	return nil
}

func (h *host) Remove(v config.VIP) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.vips, vipKey(v))
	h.events = append(h.events, "remove "+vipKey(v))
	return nil
}

func (h *host) Burst(_ context.Context, vips []config.VIP, n int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fmt.Sprintf("announce %d", n))
	return nil
}

// watch is a LinkWatcher whose links the test sets with setLink (all up by default).
func (h *host) watch(ctx context.Context, names ...string) (<-chan vip.LinkEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(chan vip.LinkEvent, 16)
	ch := make(chan vip.LinkEvent, 16)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		up, set := h.linkUp[n]
		out <- vip.LinkEvent{Name: n, Up: up || !set}
		h.links[n] = ch
	}
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-ch:
				if seen[ev.Name] {
					out <- ev
				}
			}
		}
	}()
	return out, nil
}

func (h *host) setLink(name string, up bool) {
	h.mu.Lock()
	h.linkUp[name] = up
	ch := h.links[name]
	h.mu.Unlock()
	if ch != nil {
		ch <- vip.LinkEvent{Name: name, Up: up}
	}
}

// exec is a ScriptExec: a script succeeds unless the test said it fails.
func (h *host) exec(ctx context.Context, script string) error {
	h.mu.Lock()
	ok, set := h.scriptOK[script]
	h.mu.Unlock()
	if set && !ok {
		return errors.New("fails")
	}
	return nil
}

func (h *host) setScript(script string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.scriptOK[script] = ok
}

func (h *host) hasVIPs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k := range h.vips {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (h *host) state(name string) vrrp.State {
	for _, s := range h.m.Status().Instances {
		if s.Name == name {
			return s.State
		}
	}
	return -1
}

// waitState waits (at most 5 s) until the instance is in state want.
func (h *host) waitState(name string, want vrrp.State) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.state(name) != want {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %s is %v, want %v (status %+v)", h.name, name, h.state(name), want, h.m.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// instance is a VRRPv3 instance with a 20 ms advert interval on eth0.
func instance(name string, vrid, prio int, vips ...string) *config.VRRPInstance {
	in := &config.VRRPInstance{Name: name, Version: 3, Interface: "eth0", VRID: vrid, Priority: prio,
		AdvertInt: 20 * time.Millisecond, GarpMasterDelay: 0}
	for _, v := range vips {
		in.Addresses = append(in.Addresses, config.VIP{Prefix: netip.MustParsePrefix(v)})
	}
	return in
}

func joined(s []string) string { return strings.Join(s, " ") }
