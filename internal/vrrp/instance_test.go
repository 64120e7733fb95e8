package vrrp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// ms is a master down interval in keepalived's integer microseconds: 3 adverts plus the
// skew of priority p.
func downFor(adv time.Duration, p int) time.Duration {
	return 3*adv + time.Duration((256-p)*1000000/256)*time.Microsecond
}

func (l *lab) inject(n *node, name string, p Packet) {
	l.t.Helper()
	n.inst(name).receive(l.clock.Now(), &p)
	l.deliver()
}

func wantActions(t *testing.T, n *node, want ...string) {
	t.Helper()
	got := n.act.take()
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestBecomeMasterAfterDownInterval(t *testing.T) {
	l := newLab(t)
	t0 := l.clock.Now()
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	wantActions(t, n, "notify INSTANCE VI BACKUP 100")
	down := downFor(time.Second, 100) // 3.609375 s
	l.runUntil(t0.Add(down - time.Microsecond))
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v just before the master down interval, want BACKUP", s)
	}
	if as := sentAdverts(t, n, "VI"); len(as) != 0 {
		t.Fatalf("backup sent %d adverts", len(as))
	}
	l.runUntil(t0.Add(down))
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v at the master down interval, want MASTER", s)
	}
	wantActions(t, n, "add VI 10.0.0.100/24@eth0", "announce VI 5", "notify INSTANCE VI MASTER 100")
	as := sentAdverts(t, n, "VI")
	if len(as) != 1 || as[0].Priority != 100 || as[0].VRID != 51 || as[0].Interval != time.Second {
		t.Fatalf("sent %+v, want one advert of priority 100", as)
	}
	// An advert per second; the second burst of gratuitous ARPs garp_master_delay later.
	l.runUntil(t0.Add(down + 5*time.Second))
	if as := sentAdverts(t, n, "VI"); len(as) != 5 {
		t.Errorf("%d adverts in 5 s as master, want 5", len(as))
	}
	wantActions(t, n, "announce VI 5")
	st := n.r.inst("VI").status()
	if st.Counters.BecomeMaster != 1 || st.Counters.Sent != 6 || st.MasterAddr != "10.0.0.1" {
		t.Errorf("status %+v", st)
	}
}

func (r *Router) inst(name string) *instance {
	for _, in := range r.insts {
		if in.cfg.Name == name {
			return in
		}
	}
	panic(name)
}

func TestStayBackupWhileAdvertsArrive(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	n.act.take()
	for range 10 {
		l.run(time.Second)
		l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 150, nil))
	}
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v while a master advertises, want BACKUP", s)
	}
	last := l.clock.Now()
	st := n.r.inst("VI").status()
	if st.MasterAddr != "10.0.0.2" || st.MasterPriority != 150 || st.Counters.Received != 10 {
		t.Errorf("status %+v, want master 10.0.0.2 priority 150, 10 received", st)
	}
	l.runUntil(last.Add(downFor(time.Second, 100) - time.Microsecond))
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v before the down interval after the last advert", s)
	}
	l.run(time.Microsecond)
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v after the down interval after the last advert, want MASTER", s)
	}
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	l := newLab(t)
	c := instCfg("OWNER", 61, 255, "10.0.0.161/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(time.Microsecond)
	if s := n.state("OWNER"); s != Master {
		t.Fatalf("address owner in %v after 1 µs, want MASTER", s)
	}
	wantActions(t, n, "add OWNER 10.0.0.161/24@eth0", "announce OWNER 5", "notify INSTANCE OWNER MASTER 255")
}

// TestStateMasterWaits: keepalived 2.2.7 gives "state MASTER" below priority 255 no
// head start (captured: first advert 3*advert_int + skew after start).
func TestStateMasterWaits(t *testing.T) {
	l := newLab(t)
	t0 := l.clock.Now()
	c := instCfg("M", 63, 200, "10.0.0.163/24")
	c.InitialState = "MASTER"
	c.NoPreempt, c.PreemptDelay = true, time.Second // both cleared, as keepalived does
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	if in := n.inst("M"); in.nopreempt || in.delay != 0 || in.wantState != Master {
		t.Errorf("nopreempt %v, preempt_delay %v, wantstate %v; want cleared, cleared, MASTER", in.nopreempt, in.delay, in.wantState)
	}
	l.runUntil(t0.Add(downFor(time.Second, 200) - time.Microsecond))
	if s := n.state("M"); s != Backup {
		t.Fatalf("state %v before the master down interval", s)
	}
	l.run(time.Microsecond)
	if s := n.state("M"); s != Master {
		t.Fatalf("state %v at the master down interval", s)
	}
}

func TestPreemptedByHigherPriority(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(5 * time.Second)
	if n.state("VI") != Master {
		t.Fatal("not master")
	}
	n.act.take()
	sentAdverts(t, n, "VI")
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 150, nil))
	if s := n.state("VI"); s != Backup {
		t.Fatalf("master hearing priority 150 is %v, want BACKUP", s)
	}
	wantActions(t, n, "remove VI 10.0.0.100/24@eth0", "notify INSTANCE VI BACKUP 100")
	if as := sentAdverts(t, n, "VI"); len(as) != 0 {
		t.Errorf("sent %d adverts when stepping down (higher_prio_send_advert is off)", len(as))
	}
}

func TestEqualPriorityHigherAddressWins(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.5", nil)
	l.run(5 * time.Second)
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.4", 100, nil))
	if s := n.state("VI"); s != Master {
		t.Fatalf("master hearing equal priority from a lower address is %v", s)
	}
	if as := sentAdverts(t, n, "VI"); as[len(as)-1].Priority != 100 {
		t.Error("no advert sent back to the lower address")
	}
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.6", 100, nil))
	if s := n.state("VI"); s != Backup {
		t.Fatalf("master hearing equal priority from a higher address is %v", s)
	}
}

// TestMasterHearsLowerPriority: the master answers with an advert and gratuitous ARPs
// now and garp_master_delay later (vrrp_garp_lower_prio_repeat and _delay defaults).
func TestMasterHearsLowerPriority(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 150, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(5 * time.Second)
	n.act.take()
	sentAdverts(t, n, "VI")
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 100, nil))
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v", s)
	}
	if p := prios(sentAdverts(t, n, "VI")); !slices.Equal(p, []int{150}) {
		t.Errorf("sent priorities %v, want [150]", p)
	}
	wantActions(t, n, "announce VI 5")
	l.run(5 * time.Second)
	if got := n.act.take(); !slices.Contains(got, "announce VI 5") {
		t.Errorf("no delayed gratuitous ARPs: %v", got)
	}
}

func TestBackupPreemptsLowerPriorityMaster(t *testing.T) {
	l := newLab(t)
	t0 := l.clock.Now()
	c := instCfg("VI", 51, 150, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	// A lower priority master keeps advertising: the backup discards its adverts and
	// takes over when its own master down timer runs out.
	for i := range 4 {
		l.runUntil(t0.Add(time.Duration(i)*time.Second + time.Second/2))
		l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 100, nil))
	}
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v, want MASTER", s)
	}
	if got := n.inst("VI").lastTransition; got != t0.Add(downFor(time.Second, 150)) {
		t.Errorf("became master at %v, want %v", got.Sub(t0), downFor(time.Second, 150))
	}
	if n := n.inst("VI").counters.Ignored[ReasonLowerPrio]; n != 3 {
		t.Errorf("%d lower priority adverts discarded, want 3", n)
	}
}

func TestNoPreempt(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 150, "10.0.0.100/24")
	c.NoPreempt = true
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	for range 20 {
		l.run(time.Second)
		l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 100, nil))
	}
	if s := n.state("VI"); s != Backup {
		t.Fatalf("nopreempt backup of higher priority is %v, want BACKUP", s)
	}
}

func TestPreemptDelay(t *testing.T) {
	l := newLab(t)
	t0 := l.clock.Now()
	c := instCfg("VI", 51, 150, "10.0.0.100/24")
	c.PreemptDelay = 10 * time.Second
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	// Adverts of a lower master at 1, 2, ... s: the first starts the delay (until 11 s);
	// until then they are accepted, after it they are discarded.
	for i := 1; i <= 20; i++ {
		l.runUntil(t0.Add(time.Duration(i) * time.Second))
		if n.state("VI") != Backup {
			break
		}
		l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 100, nil))
	}
	want := 10*time.Second + downFor(time.Second, 150)
	if got := n.inst("VI").lastTransition.Sub(t0); n.state("VI") != Master || got != want {
		t.Fatalf("state %v since %v, want MASTER since %v", n.state("VI"), got, want)
	}
}

func TestPriorityZero(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 100, "10.0.0.100/24")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(time.Second)
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 200, nil))
	l.run(time.Second)
	// The master leaves: the backup takes over after its skew time alone.
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.2", 0, nil))
	skew := time.Duration(156*1000000/256) * time.Microsecond
	l.run(skew - time.Microsecond)
	if s := n.state("VI"); s != Backup {
		t.Fatalf("state %v before the skew time", s)
	}
	l.run(time.Microsecond)
	if s := n.state("VI"); s != Master {
		t.Fatalf("state %v after the skew time, want MASTER", s)
	}
	if got := n.inst("VI").counters.PriZeroRcvd; got != 1 {
		t.Errorf("PriZeroRcvd %d", got)
	}
	// A master hearing priority 0 answers with an advert and stays.
	sentAdverts(t, n, "VI")
	l.inject(n, "VI", advertFrom(t, c, "10.0.0.3", 0, nil))
	if p := prios(sentAdverts(t, n, "VI")); n.state("VI") != Master || !slices.Equal(p, []int{100}) {
		t.Errorf("master hearing priority 0: %v, sent %v", n.state("VI"), p)
	}
	// Shutting down, the master sends priority 0.
	n.act.take()
	n.r.shutdown()
	if p := prios(sentAdverts(t, n, "VI")); !slices.Equal(p, []int{0}) {
		t.Errorf("shutdown sent %v, want [0]", p)
	}
	wantActions(t, n, "remove VI 10.0.0.100/24@eth0", "notify INSTANCE VI STOP 100")
}

// TestVRRPv3LearnsInterval: a VRRPv3 backup times the master by the master's interval,
// and goes back to its own when it becomes master.
func TestVRRPv3LearnsInterval(t *testing.T) {
	l := newLab(t)
	c := instCfg("V3", 53, 100, "10.0.0.103/24")
	c.Version = 3
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(time.Second)
	l.inject(n, "V3", advertFrom(t, c, "10.0.0.2", 200, func(a *Advert) { a.Interval = 2 * time.Second }))
	in := n.inst("V3")
	if in.masterAdverInt != 2*time.Second {
		t.Fatalf("master interval %v, want 2s", in.masterAdverInt)
	}
	last := l.clock.Now()
	// VRRPv3 skew: (256-100)/256 of the master's interval.
	want := 6*time.Second + time.Duration(156*200*625/16)*time.Microsecond
	l.run(want - time.Microsecond)
	if n.state("V3") != Backup {
		t.Fatal("took over early")
	}
	l.run(time.Microsecond)
	if n.state("V3") != Master || in.lastTransition != last.Add(want) {
		t.Fatalf("state %v since %v, want MASTER since %v", n.state("V3"), in.lastTransition.Sub(last), want)
	}
	if as := sentAdverts(t, n, "V3"); in.masterAdverInt != time.Second || as[0].Interval != time.Second {
		t.Errorf("master uses %v, advertises %v; want its own 1s", in.masterAdverInt, as[0].Interval)
	}
}

// TestIgnored: adverts keepalived refuses are counted by reason, logged, and leave the
// backup's master down timer running.
func TestIgnored(t *testing.T) {
	c := instCfg("VI", 51, 100, "10.0.0.100/24", "10.0.0.101/24")
	c.AuthType, c.AuthPass = "PASS", "secret"
	bad := func(p Packet, mod func(*Packet)) Packet { mod(&p); return p }
	tests := []struct {
		name   string
		pkt    func(t *testing.T) Packet
		reason string
		log    string
	}{
		{"wrong password", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.AuthData = pass("other") })
		}, ReasonAuthFailure, "received an invalid passwd"},
		{"no authentication", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.AuthType, a.AuthData = AuthNone, [8]byte{} })
		}, ReasonAuthType, "received a 0 auth, expecting 1"},
		{"AH", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.AuthType = AuthAH })
		}, ReasonAuthType, "received a 2 auth, expecting 1"},
		{"other VRID", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.VRID = 52 })
		}, ReasonVRID, "VRID 52, ours 51"},
		{"version 3", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.Version, a.AuthType, a.AuthData = 3, 0, [8]byte{} })
		}, ReasonVersion, "wrong version. Received 3 and expect 2"},
		{"interval", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.Interval = 2 * time.Second })
		}, ReasonInterval, "advertisement interval mismatch mine=1 sec rcv'd=2 sec"},
		{"address count", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.Addrs = a.Addrs[:1] })
		}, ReasonAddrCount, "received an unexpected ip number count 1, expected 2"},
		{"address list", func(t *testing.T) Packet {
			return advertFrom(t, c, "10.0.0.2", 150, func(a *Advert) { a.Addrs = addrs("10.0.0.100", "10.0.0.102") })
		}, ReasonAddrList, "not present in MASTER advert: 10.0.0.101"},
		{"TTL", func(t *testing.T) Packet {
			return bad(advertFrom(t, c, "10.0.0.2", 150, nil), func(p *Packet) { p.TTL = 64 })
		}, ReasonTTL, "invalid TTL/HL. Received 64 and expect 255"},
		{"unicast", func(t *testing.T) Packet {
			return bad(advertFrom(t, c, "10.0.0.2", 150, nil), func(p *Packet) {
				a, _ := Parse(p.Payload, p.Src, p.Dst)
				p.Dst = kaSrc4
				p.Payload, _ = Marshal(a, p.Src, p.Dst)
			})
		}, ReasonCast, "Expected multicast packet but received unicast packet"},
		{"checksum", func(t *testing.T) Packet {
			return bad(advertFrom(t, c, "10.0.0.2", 150, nil), func(p *Packet) { p.Payload[7]++ })
		}, ReasonChecksum, "bad VRRPv2 checksum"},
		{"truncated", func(t *testing.T) Packet {
			return bad(advertFrom(t, c, "10.0.0.2", 150, nil), func(p *Packet) { p.Payload = p.Payload[:20] })
		}, ReasonMalformed, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			t0 := l.clock.Now()
			logs := &logBuf{}
			n := l.addLogged(vrrpCfg(c), "10.0.0.1", logs)
			for range 5 {
				l.run(time.Second)
				l.inject(n, "VI", tt.pkt(t))
			}
			in := n.inst("VI")
			if got := in.counters.Ignored[tt.reason]; got != 5 {
				t.Errorf("Ignored[%s] = %d, want 5 (%v)", tt.reason, got, in.counters.Ignored)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log has no %q:\n%s", tt.log, logs)
			}
			// The ignored adverts did not hold the backup: it took over on time.
			if n.state("VI") != Master || in.lastTransition != t0.Add(downFor(time.Second, 100)) {
				t.Errorf("state %v since %v, want MASTER since %v", n.state("VI"), in.lastTransition.Sub(t0), downFor(time.Second, 100))
			}
		})
	}
}

func TestUnicast(t *testing.T) {
	l := newLab(t)
	c := instCfg("U", 55, 100, "10.0.0.106/24")
	c.Version = 3
	c.UnicastSrc = kaSrc4
	c.UnicastPeers = addrs("10.0.0.2", "10.0.0.3")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	// From a peer: accepted; from elsewhere: refused.
	l.inject(n, "U", advertFrom(t, c, "10.0.0.2", 200, nil))
	l.inject(n, "U", advertFrom(t, c, "10.0.0.9", 200, nil))
	in := n.inst("U")
	if in.counters.Received != 2 || in.counters.Ignored[ReasonNotPeer] != 1 || in.masterAddr != kaPeer {
		t.Errorf("counters %+v, master %v", in.counters, in.masterAddr)
	}
	// As master it sends to each peer, the peer's address in the pseudo-header.
	l.run(10 * time.Second)
	c0 := n.tr.conns["U"]
	var dsts []string
	for _, s := range c0.hist[len(c0.hist)-2:] {
		dsts = append(dsts, s.dst.String())
		if _, err := Parse(s.msg, s.src, s.dst); err != nil {
			t.Errorf("advert to %v: %v", s.dst, err)
		}
	}
	if !slices.Equal(dsts, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Errorf("sent to %v", dsts)
	}
	if in.counters.Sent != uint64(len(c0.hist)/2) {
		t.Errorf("Sent %d for %d messages to 2 peers", in.counters.Sent, len(c0.hist))
	}
}

// TestUnicastOldChecksum: an advert from keepalived <= 1.3.6 (group in the VRRPv3
// pseudo-header) is accepted and switches our adverts to that checksum.
func TestUnicastOldChecksum(t *testing.T) {
	l := newLab(t)
	c := instCfg("U", 55, 100, "10.0.0.106/24")
	c.Version, c.UnicastSrc, c.UnicastPeers = 3, kaSrc4, addrs("10.0.0.2")
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(5 * time.Second) // master
	a := &Advert{Version: 3, VRID: 55, Priority: 50, Interval: time.Second, Addrs: addrs("10.0.0.106")}
	b, _ := Marshal(a, kaPeer, GroupIPv4)
	l.inject(n, "U", Packet{Payload: b, Src: kaPeer, Dst: kaSrc4, TTL: 255})
	in := n.inst("U")
	if !in.oldCsum || in.counters.Ignored[ReasonChecksum] != 0 {
		t.Fatalf("old checksum not adopted: %+v", in.counters)
	}
	last := n.tr.conns["U"].hist[len(n.tr.conns["U"].hist)-1]
	if _, err := Parse(last.msg, last.src, GroupIPv4); err != nil {
		t.Errorf("reply does not carry the old checksum: %v", err)
	}
}

func TestVIPDevAndExcluded(t *testing.T) {
	l := newLab(t)
	c := instCfg("VI", 51, 255, "10.0.0.100/24")
	c.Addresses[0].Dev = "eth1"
	c.Excluded = []config.VIP{{Prefix: netip4("192.168.9.9/32")}}
	n := l.add(vrrpCfg(c), "10.0.0.1", nil)
	l.run(time.Microsecond)
	wantActions(t, n, "add VI 10.0.0.100/24@eth1,192.168.9.9/32@eth0", "announce VI 5", "notify INSTANCE VI MASTER 255")
	if as := sentAdverts(t, n, "VI"); len(as[0].Addrs) != 1 {
		t.Errorf("advert carries %v, want the advertised address only", as[0].Addrs)
	}
	if got := n.inst("VI").tracked; !slices.Equal(got, []string{"eth0", "eth1"}) {
		t.Errorf("tracked interfaces %v", got)
	}
}
