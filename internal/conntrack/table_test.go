package conntrack

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// step is one event applied to a connection, with what must follow.
type step struct {
	dir   Direction
	flags TCPFlags
	set   State // with flags 0 and set != 0xff: SetState(set)
	state State
	class lb.ConnClass
	secs  int      // timeout in seconds after the step
	log   []string // Accountant calls the step makes
}

const noSet State = 0xff

func runSteps(t *testing.T, tb *Table, l *ledger, r Ref, steps []step) {
	t.Helper()
	for n, s := range steps {
		var err error
		if s.set != noSet {
			err = tb.SetState(r, s.set)
		} else {
			_, err = tb.Transition(r, s.dir, s.flags)
		}
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		c := mustGet(t, tb, r)
		if c.State != s.state || c.Class != s.class || c.Timeout != time.Duration(s.secs)*time.Second || c.Expires != c.Timeout {
			t.Errorf("step %d: state %s class %s timeout %v expires %v; want %s %s %ds", n, c.StateName(),
				className(c.Class), c.Timeout, c.Expires, StateName(lb.TCP, s.state, false), className(s.class), s.secs)
		}
		if got := l.take(); !slices.Equal(got, s.log) {
			t.Errorf("step %d: accountant got %q, want %q", n, got, s.log)
		}
	}
}

func TestTCPAccountingSequences(t *testing.T) {
	act, ina := lb.ClassActive, lb.ClassInactive
	tests := []struct {
		name  string
		fwd   lb.Forward
		steps []step
		// after the last step, the entry expires after this many seconds
		expire int
	}{{
		name: "NAT handshake, client closes first, TIME_WAIT",
		fwd:  lb.Masq,
		steps: []step{
			{Input, SYN, noSet, sSR, act, 60, []string{"1:inactive>active"}},
			{Output, SYN | ACK, noSet, sSR, act, 60, nil},
			{Input, ACK, noSet, sES, act, 900, nil},
			{Input, ACK, noSet, sES, act, 900, nil},
			{Input, FIN | ACK, noSet, sCW, ina, 60, []string{"1:active>inactive"}},
			{Output, FIN | ACK, noSet, sTW, ina, 120, nil},
			{Input, ACK, noSet, sTW, ina, 120, nil},
		},
		expire: 120,
	}, {
		name: "NAT, server closes first",
		fwd:  lb.Masq,
		steps: []step{
			{Input, SYN, noSet, sSR, act, 60, []string{"1:inactive>active"}},
			{Output, SYN | ACK, noSet, sSR, act, 60, nil},
			{Input, ACK, noSet, sES, act, 900, nil},
			{Output, FIN | ACK, noSet, sFW, ina, 120, []string{"1:active>inactive"}},
			{Input, FIN | ACK, noSet, sTW, ina, 120, nil},
		},
		expire: 120,
	}, {
		name: "client reset",
		fwd:  lb.Masq,
		steps: []step{
			{Input, SYN, noSet, sSR, act, 60, []string{"1:inactive>active"}},
			{Output, SYN | ACK, noSet, sSR, act, 60, nil},
			{Input, ACK, noSet, sES, act, 900, nil},
			{Input, RST, noSet, sCL, ina, 10, []string{"1:active>inactive"}},
		},
		expire: 10,
	}, {
		name: "server refuses: RST in SYN_RECV from the real",
		fwd:  lb.Masq,
		steps: []step{
			{Input, SYN, noSet, sSR, act, 60, []string{"1:inactive>active"}},
			{Output, RST | ACK, noSet, sCL, ina, 10, []string{"1:active>inactive"}},
		},
		expire: 10,
	}, {
		name: "direct routing: input-only table until a reply",
		fwd:  lb.Route,
		steps: []step{
			{Input, SYN, noSet, sSR, act, 60, []string{"1:inactive>active"}},
			{Input, ACK, noSet, sES, act, 900, nil},
			{Input, FIN | ACK, noSet, sFW, ina, 120, []string{"1:active>inactive"}}, // INPUT would give CLOSE_WAIT
			{Input, ACK, noSet, sFW, ina, 120, nil},
		},
		expire: 120,
	}, {
		name: "proxy sockets: accept, then both FINs",
		fwd:  lb.FullNAT,
		steps: []step{
			{0, 0, sES, sES, act, 900, []string{"1:inactive>active"}},
			{Input, FIN, noSet, sCW, ina, 60, []string{"1:active>inactive"}},
			{Output, FIN, noSet, sTW, ina, 120, nil},
		},
		expire: 120,
	}, {
		name: "proxy sockets: accept, then reset",
		fwd:  lb.FullNAT,
		steps: []step{
			{0, 0, sES, sES, act, 900, []string{"1:inactive>active"}},
			{0, 0, sCL, sCL, ina, 10, []string{"1:active>inactive"}},
		},
		expire: 10,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, clk, l := newTable(t, Config{})
			r, err := tb.Insert(tcpKey("10.0.0.2:40000", "10.9.0.1:80"), dest(1, "10.1.0.11:80", tc.fwd), 0)
			if err != nil {
				t.Fatal(err)
			}
			c := mustGet(t, tb, r)
			if c.State != TCPNone || c.Class != lb.ClassInactive || c.Timeout != 3*time.Second {
				t.Errorf("new: %s %s %v, want NONE inactive 3s", c.StateName(), className(c.Class), c.Timeout)
			}
			if got := l.take(); !slices.Equal(got, []string{"1:none>inactive"}) {
				t.Errorf("insert: accountant got %q", got)
			}
			runSteps(t, tb, l, r, tc.steps)
			clk.Step(time.Duration(tc.expire)*time.Second - time.Millisecond)
			if n := tb.Expire(clk.Now()); n != 0 {
				t.Errorf("expired %d entries early", n)
			}
			clk.Step(time.Millisecond)
			if n := tb.Expire(clk.Now()); n != 1 {
				t.Errorf("expired %d entries, want 1", n)
			}
			last := tc.steps[len(tc.steps)-1].class
			if got := l.take(); !slices.Equal(got, []string{"1:" + className(last) + ">none"}) {
				t.Errorf("expiry: accountant got %q", got)
			}
			if _, ok := tb.Get(r); ok || tb.Len() != 0 {
				t.Error("entry still there after expiry")
			}
			l.check(t)
		})
	}
}

func TestUDPStaysInactive(t *testing.T) {
	tb, clk, l := newTable(t, Config{})
	k := Key{Protocol: lb.UDP, Client: ap("[fd00::2]:5000"), Virtual: ap("[fd00::9]:53")}
	r, err := tb.Insert(k, dest(7, "[fd01::11]:53", lb.Masq), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []Direction{Input, Output, Input} {
		st, err := tb.Transition(r, dir, 0)
		if err != nil || st != UDPNormal {
			t.Fatalf("transition: %v %v", st, err)
		}
		clk.Step(10 * time.Second)
	}
	c := mustGet(t, tb, r)
	if c.StateName() != "UDP" || c.Class != lb.ClassInactive || c.Expires != 290*time.Second {
		t.Errorf("got %s %s expires %v", c.StateName(), className(c.Class), c.Expires)
	}
	if got := l.take(); !slices.Equal(got, []string{"7:none>inactive"}) {
		t.Errorf("accountant got %q", got)
	}
	if err := tb.SetState(r, 1); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("SetState(UDP, 1) = %v, want ErrInvalid", err)
	}
	clk.Step(290 * time.Second)
	if n := tb.Expire(clk.Now()); n != 1 || tb.Len() != 0 {
		t.Errorf("expired %d, len %d", n, tb.Len())
	}
}

func TestSetTimeouts(t *testing.T) {
	tb, clk, _ := newTable(t, Config{Timeouts: lb.Timeouts{UDP: 60}})
	if got := tb.Timeouts(); got != (lb.Timeouts{TCP: 900, TCPFin: 120, UDP: 60}) {
		t.Fatalf("initial timeouts %+v", got)
	}
	r, _ := tb.Insert(tcpKey("10.0.0.2:1", "10.9.0.1:80"), dest(1, "10.1.0.11:80", lb.Masq), 0)
	if err := tb.SetState(r, TCPEstablished); err != nil {
		t.Fatal(err)
	}
	// ipvsadm --set 1000 200 400, then --set 0 0 0 changes nothing.
	for _, set := range []lb.Timeouts{{TCP: 1000, TCPFin: 200, UDP: 400}, {}} {
		if err := tb.SetTimeouts(set); err != nil {
			t.Fatal(err)
		}
		if got := tb.Timeouts(); got != (lb.Timeouts{TCP: 1000, TCPFin: 200, UDP: 400}) {
			t.Errorf("after --set %+v: %+v", set, got)
		}
	}
	if err := tb.SetTimeouts(lb.Timeouts{TCP: 5, UDP: MaxTimeout + 1}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("too large: %v", err)
	}
	if tb.Timeouts().TCP != 1000 {
		t.Error("a refused --set changed a value")
	}
	// The running entry keeps 900 s until its next transition, as the kernel's cp->timeout.
	clk.Step(time.Second)
	if err := tb.Touch(r); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, tb, r); c.Timeout != 900*time.Second {
		t.Errorf("timeout before transition %v", c.Timeout)
	}
	tb.Transition(r, Input, ACK)
	if c := mustGet(t, tb, r); c.Timeout != 1000*time.Second {
		t.Errorf("ESTABLISHED after --set: %v", c.Timeout)
	}
	tb.Transition(r, Output, FIN)
	if c := mustGet(t, tb, r); c.State != TCPFinWait || c.Timeout != 200*time.Second {
		t.Errorf("FIN_WAIT after --set: %s %v", c.StateName(), c.Timeout)
	}
	tb.Transition(r, Input, FIN)
	if c := mustGet(t, tb, r); c.State != TCPTimeWait || c.Timeout != 120*time.Second {
		t.Errorf("TIME_WAIT is not changed by --set: %s %v", c.StateName(), c.Timeout)
	}
	if tb.Timeout(lb.UDP, UDPNormal) != 400*time.Second || tb.Timeout(lb.TCP, TCPSynRecv) != 60*time.Second {
		t.Error("Timeout()")
	}
}

func TestInsertLookupErrors(t *testing.T) {
	tb, clk, _ := newTable(t, Config{Shards: 4, MaxEntries: 3})
	k := tcpKey("10.0.0.2:1000", "10.9.0.1:80")
	d := dest(1, "10.1.0.11:80", lb.Masq)
	r, err := tb.Insert(k, d, 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := tb.Insert(k, d, 0)
	if !errors.Is(err, ErrExists) || r2 != r {
		t.Errorf("duplicate insert: %v, ref %#x want %#x", err, uint64(r2), uint64(r))
	}
	// The same addresses with another protocol, and v6 keys, are other entries.
	if _, err := tb.Insert(Key{Protocol: lb.UDP, Client: k.Client, Virtual: k.Virtual}, d, 0); err != nil {
		t.Error(err)
	}
	k6 := tcpKey("[2001:db8::2]:1000", "[2001:db8::80]:80")
	r6, err := tb.Insert(k6, dest(2, "[2001:db8:1::11]:80", lb.Masq), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Insert(tcpKey("10.0.0.3:1", "10.9.0.1:80"), d, 0); !errors.Is(err, ErrFull) {
		t.Errorf("beyond MaxEntries: %v", err)
	}
	bad := []struct {
		k    Key
		want error
	}{
		{Key{Protocol: lb.TCP, Client: ap("10.0.0.2:1"), Virtual: ap("[2001:db8::80]:80")}, ErrBadKey},
		{Key{Protocol: lb.TCP, Virtual: ap("10.9.0.1:80")}, ErrBadKey},
		{Key{Protocol: 50, Client: ap("10.0.0.2:1"), Virtual: ap("10.9.0.1:80")}, lb.ErrProtocol},
	}
	for _, b := range bad {
		if _, err := tb.Insert(b.k, d, 0); !errors.Is(err, b.want) {
			t.Errorf("insert %+v: %v, want %v", b.k, err, b.want)
		}
	}
	// An IPv4-mapped client is the IPv4 client.
	if c, ok := tb.Lookup(tcpKey("[::ffff:10.0.0.2]:1000", "10.9.0.1:80")); !ok || c.Ref != r {
		t.Error("lookup with mapped address")
	}
	if c, ok := tb.Lookup(k6); !ok || c.Dest.Addr != ap("[2001:db8:1::11]:80") || c.Client != k6.Client {
		t.Errorf("v6 lookup: %+v %v", c, ok)
	}
	if _, ok := tb.Lookup(tcpKey("10.0.0.2:1001", "10.9.0.1:80")); ok {
		t.Error("lookup of a missing key hit")
	}
	if _, ok := tb.LookupTemplate(k); ok {
		t.Error("a connection was found as a template")
	}
	// Refs die with their entries, also when the slot is reused.
	if err := tb.Delete(r6); err != nil {
		t.Fatal(err)
	}
	if err := tb.Touch(r6); !errors.Is(err, ErrNotFound) {
		t.Errorf("touch of deleted: %v", err)
	}
	clk.Step(3 * time.Second)
	tb.Expire(clk.Now())
	if tb.Len() != 0 {
		t.Fatalf("len %d after expiry", tb.Len())
	}
	for i := range 3 {
		if _, err := tb.Insert(tcpKey("10.0.0.4:1", "10.9.0.1:80"), d, 0); err != nil && i == 0 {
			t.Fatal(err)
		}
	}
	for _, old := range []Ref{r, r6} {
		if _, ok := tb.Get(old); ok {
			t.Errorf("stale ref %#x still resolves", uint64(old))
		}
		if _, err := tb.Transition(old, Input, ACK); !errors.Is(err, ErrNotFound) {
			t.Errorf("transition of stale ref: %v", err)
		}
	}
	if _, err := New(Config{Shards: 3}); !errors.Is(err, lb.ErrInvalid) {
		t.Errorf("3 shards: %v", err)
	}
}
