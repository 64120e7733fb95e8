package conntrack

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

func svcTCP(addr string, port uint16, netmask uint32, timeout uint32) *lb.Service {
	return &lb.Service{
		ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr(addr), Port: port},
		Scheduler:  "rr", Flags: lb.Persistent, Timeout: timeout, Netmask: netmask,
	}
}

func TestTemplateKey(t *testing.T) {
	fwm := &lb.Service{ServiceKey: lb.FWMarkKey(1, false), Flags: lb.Persistent, Timeout: 600, Netmask: 0xffffff00}
	fwm6 := &lb.Service{ServiceKey: lb.FWMarkKey(0x10, true), Flags: lb.Persistent, Timeout: 600, Netmask: 64}
	cases := []struct {
		name   string
		svc    *lb.Service
		proto  lb.Protocol
		client string
		dst    string
		want   Key
	}{
		{"v4 /32 (ipvsadm's default)", svcTCP("10.9.0.5", 443, 0xffffffff, 300), lb.TCP, "10.0.0.2", "10.9.0.5:443",
			Key{lb.TCP, ap("10.0.0.2:0"), ap("10.9.0.5:443")}},
		{"v4 /24", svcTCP("10.9.0.5", 443, 0xffffff00, 300), lb.TCP, "10.0.0.77", "10.9.0.5:443",
			Key{lb.TCP, ap("10.0.0.0:0"), ap("10.9.0.5:443")}},
		{"v4 odd mask 255.0.255.0", svcTCP("10.9.0.5", 443, 0xff00ff00, 300), lb.TCP, "10.1.2.3", "10.9.0.5:443",
			Key{lb.TCP, ap("10.0.2.0:0"), ap("10.9.0.5:443")}},
		{"v4-mapped client", svcTCP("10.9.0.5", 443, 0xffffff00, 300), lb.TCP, "::ffff:10.0.0.77", "10.9.0.5:443",
			Key{lb.TCP, ap("10.0.0.0:0"), ap("10.9.0.5:443")}},
		{"v6 /64", svcTCP("2001:db8::80", 80, 64, 300), lb.TCP, "2001:db8:1:2:3:4:5:6", "[2001:db8::80]:80",
			Key{lb.TCP, ap("[2001:db8:1:2::]:0"), ap("[2001:db8::80]:80")}},
		{"v6 /128", svcTCP("2001:db8::80", 80, 128, 300), lb.TCP, "2001:db8:1:2:3:4:5:6", "[2001:db8::80]:80",
			Key{lb.TCP, ap("[2001:db8:1:2:3:4:5:6]:0"), ap("[2001:db8::80]:80")}},
		{"port-0 service: port 0, packet's protocol", svcTCP("10.9.0.6", 0, 0xffffffff, 360), lb.TCP, "10.0.0.2", "10.9.0.6:8080",
			Key{lb.TCP, ap("10.0.0.2:0"), ap("10.9.0.6:0")}},
		{"FTP: port 0 so data connections follow", svcTCP("10.9.0.7", 21, 0xffffffff, 360), lb.TCP, "10.0.0.2", "10.9.0.7:21",
			Key{lb.TCP, ap("10.0.0.2:0"), ap("10.9.0.7:0")}},
		{"fwmark: protocol IP, the mark as address", fwm, lb.TCP, "10.0.0.2", "10.9.0.21:80",
			Key{0, ap("10.0.0.0:0"), ap("0.0.0.1:0")}},
		{"fwmark UDP packet: same template", fwm, lb.UDP, "10.0.0.9", "10.9.0.22:53",
			Key{0, ap("10.0.0.0:0"), ap("0.0.0.1:0")}},
		{"fwmark v6", fwm6, lb.TCP, "2001:db8:1:2:3:4:5:6", "[2001:db8::21]:80",
			Key{0, ap("[2001:db8:1:2::]:0"), ap("[0:10::]:0")}},
	}
	for _, c := range cases {
		got := TemplateKey(c.svc, c.proto, netip.MustParseAddr(c.client), ap(c.dst))
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestTemplateLifecycle(t *testing.T) {
	tb, clk, l := newTable(t, Config{})
	svc := svcTCP("10.9.0.5", 443, 0xffffff00, 300)
	tk := TemplateKey(svc, lb.TCP, netip.MustParseAddr("10.0.0.2"), ap("10.9.0.5:443"))
	if _, ok := tb.LookupTemplate(tk); ok {
		t.Fatal("template before insert")
	}
	d := dest(5, "10.1.0.12:80", lb.Masq)
	tc, err := tb.InsertTemplate(tk, d, 300*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !tc.Template || tc.Class != lb.ClassPersist || tc.StateName() != "NONE" || tc.Dest.Addr != ap("10.1.0.12:80") {
		t.Errorf("new template %+v", tc)
	}
	// A second insert (a racing goroutine) returns the first.
	if again, err := tb.InsertTemplate(tk, dest(6, "10.1.0.11:80", lb.Masq), time.Second); err != nil || again.Ref != tc.Ref || again.Dest.ID != 5 {
		t.Errorf("second insert: %+v %v", again, err)
	}
	if got := l.take(); !slices.Equal(got, []string{"5:none>persist"}) {
		t.Errorf("accountant %q", got)
	}

	// t=10: a connection from 10.0.0.77 (same /24) finds the template and links to it.
	clk.Set(10 * time.Second)
	found, ok := tb.LookupTemplate(TemplateKey(svc, lb.TCP, netip.MustParseAddr("10.0.0.77"), ap("10.9.0.5:443")))
	if !ok || found.Ref != tc.Ref {
		t.Fatal("lookup from the same /24 missed")
	}
	c1, err := tb.Insert(tcpKey("10.0.0.77:40000", "10.9.0.5:443"), found.Dest, found.Ref)
	if err != nil {
		t.Fatal(err)
	}
	tpl := mustGet(t, tb, tc.Ref)
	if tpl.Children != 1 || tpl.Expires != 300*time.Second {
		t.Errorf("after link: children %d expires %v (the link restarts the timer)", tpl.Children, tpl.Expires)
	}
	if c := mustGet(t, tb, c1); c.Control != tc.Ref {
		t.Errorf("child control %#x", uint64(c.Control))
	}
	// The handshake makes the template ASSURED.
	for _, p := range []struct {
		d Direction
		f TCPFlags
	}{{Input, SYN}, {Output, SYN | ACK}, {Input, ACK}} {
		tb.Transition(c1, p.d, p.f)
	}
	if tpl := mustGet(t, tb, tc.Ref); tpl.StateName() != "ASSURED" {
		t.Errorf("template state %s after ESTABLISHED", tpl.StateName())
	}
	// t=310: the template's time comes while the connection lives: 60 s more (expire_later).
	clk.Set(310 * time.Second)
	if n := tb.Expire(clk.Now()); n != 0 {
		t.Fatalf("expired %d", n)
	}
	if tpl := mustGet(t, tb, tc.Ref); tpl.Timeout != 60*time.Second || tpl.Expires != 60*time.Second {
		t.Errorf("deferred template: timeout %v expires %v", tpl.Timeout, tpl.Expires)
	}
	// t=350: the connection closes (TIME_WAIT, 120 s, until t=470).
	clk.Set(350 * time.Second)
	tb.Transition(c1, Input, FIN|ACK)
	tb.Transition(c1, Output, FIN|ACK)
	for _, at := range []int{370, 430, 469} {
		clk.Set(time.Duration(at) * time.Second)
		if n := tb.Expire(clk.Now()); n != 0 {
			t.Fatalf("t=%d: expired %d", at, n)
		}
	}
	l.take()
	clk.Set(470 * time.Second)
	if n := tb.Expire(clk.Now()); n != 1 {
		t.Fatalf("t=470: expired %d, want the connection", n)
	}
	// The template, deferred again at t=430, goes at t=490, with no connection left.
	tpl = mustGet(t, tb, tc.Ref)
	if tpl.Children != 0 || tpl.Expires != 20*time.Second {
		t.Errorf("template after its connection: children %d expires %v", tpl.Children, tpl.Expires)
	}
	clk.Set(490 * time.Second)
	if n := tb.Expire(clk.Now()); n != 1 || tb.Len() != 0 {
		t.Fatalf("t=490: expired %d, len %d", n, tb.Len())
	}
	if got := l.take(); !slices.Equal(got, []string{"5:inactive>none", "5:persist>none"}) {
		t.Errorf("accountant %q", got)
	}
	if _, err := tb.Insert(tcpKey("10.0.0.77:40001", "10.9.0.5:443"), d, tc.Ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("link to an expired template: %v", err)
	}
	l.check(t)
}

func TestTemplateInvalidation(t *testing.T) {
	tb, clk, l := newTable(t, Config{})
	svc := svcTCP("10.9.0.6", 0, 0xffffffff, 360)
	tk := TemplateKey(svc, lb.TCP, netip.MustParseAddr("10.0.0.2"), ap("10.9.0.6:80"))
	tpl, _ := tb.InsertTemplate(tk, dest(1, "10.1.0.13:0", lb.Route), 360*time.Second)
	child, _ := tb.Insert(tcpKey("10.0.0.2:43186", "10.9.0.6:80"), dest(1, "10.1.0.13:80", lb.Route), tpl.Ref)
	if tpl.Dest.Addr != ap("10.1.0.13:0") {
		t.Errorf("port-0 template dest %v", tpl.Dest.Addr)
	}

	// Quiesced: valid unless expire_quiescent_template.
	tb.SetDestWeight(1, 0)
	if _, ok := tb.LookupTemplate(tk); !ok {
		t.Fatal("quiesced real's template invalid without expire_quiescent_template")
	}
	tb.SetExpireQuiescentTemplate(true)
	if _, ok := tb.LookupTemplate(tk); ok {
		t.Fatal("quiesced real's template valid with expire_quiescent_template")
	}
	old := mustGet(t, tb, tpl.Ref)
	if !old.Invalid || old.Virtual.Port() != 0xffff || old.Dest.Addr.Port() != 0xffff || old.Client.Port() != 0 || old.Children != 1 {
		t.Errorf("invalidated template %+v", old)
	}
	// A new schedule makes a new template; the old one keeps counting until it expires.
	tpl2, err := tb.InsertTemplate(tk, dest(2, "10.1.0.11:0", lb.Route), 360*time.Second)
	if err != nil || tpl2.Ref == tpl.Ref {
		t.Fatalf("new template: %v", err)
	}
	if got := tb.Counts(); got[1] != (Counts{Inactive: 1, Persist: 1}) || got[2] != (Counts{Persist: 1}) {
		t.Errorf("counts %v", got)
	}
	// Removed real (-d): invalid whatever the sysctl says.
	tb.SetExpireQuiescentTemplate(false)
	tb.RemoveDests(false, 2)
	if _, ok := tb.LookupTemplate(tk); ok {
		t.Error("template of a removed real still valid")
	}
	if _, ok := tb.Get(tpl2.Ref); !ok {
		t.Error("invalidated template removed before its time")
	}
	// Re-adding the real revives it for new templates.
	tb.SetDestWeight(2, 1)
	tpl3, _ := tb.InsertTemplate(tk, dest(2, "10.1.0.11:0", lb.Route), 360*time.Second)
	if got, ok := tb.LookupTemplate(tk); !ok || got.Ref != tpl3.Ref {
		t.Error("template of a re-added real invalid")
	}
	// All expire in time, in one Expire call three minutes late: the child (3 s, NONE) goes
	// first, so its template goes too instead of being deferred, as timers firing in order.
	clk.Set(361 * time.Second)
	if n := tb.Expire(clk.Now()); n != 4 || tb.Len() != 0 {
		t.Errorf("expired %d, len %d; want 4, 0", n, tb.Len())
	}
	if _, ok := tb.Get(child); ok {
		t.Error("child outlived its timeout")
	}
	for _, id := range []DestID{1, 2} {
		if c := l.get(id); c != (Counts{}) {
			t.Errorf("dest %d counters %+v", id, c)
		}
	}
	l.check(t)
}

func TestRemoveDestsExpireNodest(t *testing.T) {
	tb, _, l := newTable(t, Config{Shards: 8})
	svc := svcTCP("10.9.0.5", 443, 0xffffffff, 300)
	mk := func(client string, id DestID, real string) Conn {
		tk := TemplateKey(svc, lb.TCP, ap(client).Addr(), ap("10.9.0.5:443"))
		tpl, err := tb.InsertTemplate(tk, dest(id, real, lb.Masq), 300*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	t1 := mk("10.0.0.1:1", 1, "10.1.0.11:80")
	for _, port := range []string{"1001", "1002"} {
		r, _ := tb.Insert(tcpKey("10.0.0.1:"+port, "10.9.0.5:443"), t1.Dest, t1.Ref)
		tb.SetState(r, TCPEstablished)
	}
	mk("10.0.0.2:1", 1, "10.1.0.11:80") // a template without connections
	tb.Insert(tcpKey("10.0.0.3:1", "10.9.0.1:80"), dest(1, "10.1.0.11:80", lb.Masq), 0)
	t4 := mk("10.0.0.4:1", 2, "10.1.0.12:80")
	keep, _ := tb.Insert(tcpKey("10.0.0.4:7", "10.9.0.5:443"), t4.Dest, t4.Ref)

	if got := l.get(1); got != (Counts{Active: 2, Inactive: 1, Persist: 2}) {
		t.Fatalf("dest 1 before: %+v", got)
	}
	if n := tb.RemoveDests(true, 1); n != 5 {
		t.Errorf("removed %d, want 5 (3 connections, 2 templates)", n)
	}
	if got := l.get(1); got != (Counts{}) {
		t.Errorf("dest 1 after: %+v", got)
	}
	if got := tb.Counts(); len(got) != 1 || got[2] != (Counts{Inactive: 1, Persist: 1}) {
		t.Errorf("counts after: %v", got)
	}
	if _, ok := tb.Get(keep); !ok {
		t.Error("another real's connection went")
	}
	l.check(t)
}

func TestDeleteLinked(t *testing.T) {
	tb, _, _ := newTable(t, Config{})
	svc := svcTCP("10.9.0.5", 443, 0xffffffff, 300)
	setup := func(client string, assured bool) (Conn, Ref) {
		tk := TemplateKey(svc, lb.TCP, ap(client).Addr(), ap("10.9.0.5:443"))
		tpl, _ := tb.InsertTemplate(tk, dest(1, "10.1.0.11:80", lb.Masq), 300*time.Second)
		r, err := tb.Insert(Key{lb.TCP, ap(client), ap("10.9.0.5:443")}, tpl.Dest, tpl.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if assured {
			tb.SetState(r, TCPEstablished)
		}
		return tpl, r
	}
	tpl, r := setup("10.0.0.1:1", false)
	if err := tb.Delete(tpl.Ref); !errors.Is(err, ErrBusy) {
		t.Errorf("delete of a template in use: %v", err)
	}
	if err := tb.Delete(r); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.Get(tpl.Ref); ok {
		t.Error("non-assured template kept after its only connection was deleted")
	}
	tpl, r = setup("10.0.0.2:1", true)
	tb.Delete(r)
	if c, ok := tb.Get(tpl.Ref); !ok || c.Children != 0 {
		t.Error("assured template dropped with its connection")
	}
	if err := tb.Delete(tpl.Ref); err != nil || tb.Len() != 0 {
		t.Errorf("delete of an idle template: %v, len %d", err, tb.Len())
	}
}

func TestUDPReplyAssures(t *testing.T) {
	tb, _, _ := newTable(t, Config{})
	svc := &lb.Service{ServiceKey: lb.ServiceKey{Protocol: lb.UDP, Addr: netip.MustParseAddr("10.9.0.4"), Port: 53},
		Flags: lb.Persistent, Timeout: 60, Netmask: 0xffffffff}
	tk := TemplateKey(svc, lb.UDP, netip.MustParseAddr("10.0.0.2"), ap("10.9.0.4:53"))
	tpl, _ := tb.InsertTemplate(tk, dest(1, "10.1.0.11:53", lb.Masq), time.Minute)
	r, _ := tb.Insert(Key{lb.UDP, ap("10.0.0.2:999"), ap("10.9.0.4:53")}, tpl.Dest, tpl.Ref)
	tb.Transition(r, Input, 0)
	if c := mustGet(t, tb, tpl.Ref); c.State != TemplateNone {
		t.Error("a request assured the template")
	}
	tb.Transition(r, Output, 0)
	if c := mustGet(t, tb, tpl.Ref); c.State != TemplateAssured {
		t.Error("a reply did not assure the template")
	}
}
