package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// keepalived defaults the configuration model does not carry (global_data.c
// set_vrrp_defaults, vrrp.h): vrrp_garp_master_repeat, and vrrp_garp_lower_prio_repeat
// which defaults to it.
const (
	garpRep          = 5
	garpLowerPrioRep = garpRep
)

// trackedScript is a track_script of an instance, with its effective weight.
type trackedScript struct {
	name   string
	weight int
}

// instance is one vrrp_instance. All its methods run on the Router's goroutine; the
// fields are owned by it.
type instance struct {
	r    *Router
	cfg  *config.VRRPInstance
	conn Conn
	log  *slog.Logger

	version   int
	vrid      uint8
	is6       bool
	vips      []config.VIP // advertised, then excluded; Dev filled in
	advAddrs  []netip.Addr // the addresses the adverts carry
	peers     []netip.Addr
	authType  AuthType
	authData  [authLen]byte
	tracked   []string // interfaces whose link state counts (own, track_interface, VIP devs)
	scripts   []trackedScript
	group     *syncGroup
	adverInt  time.Duration
	nopreempt bool
	delay     time.Duration // preempt_delay
	garpDelay time.Duration

	// State (keepalived's vrrp_t fields of the same meaning).
	state, wantState  State
	basePrio, effPrio int
	totalPrio         int
	masterAdverInt    time.Duration
	msDown            time.Duration // ms_down_timer
	sands             time.Time     // next timer; zero: none (FAULT, INIT)
	preemptTime       time.Time     // zero: not set
	vipSet            bool
	faults            int // num_script_if_fault
	scriptInit        int // num_script_init
	masterAddr        netip.Addr
	masterPrio        int
	garpAt, lowerAt   time.Time // delayed gratuitous ARP bursts
	oldCsum           bool      // keepalived <= 1.3.6 VRRPv3 unicast checksum seen
	lastNotified      State     // outside a sync group: the last state notified
	notified          bool      // in a sync group: notifies_sent
	lastTransition    time.Time
	counters          Counters
}

// newInstance checks an instance's configuration and applies keepalived's
// vrrp_complete_instance corrections, logging each as keepalived reports it.
func newInstance(r *Router, c *config.VRRPInstance) (*instance, error) {
	in := &instance{r: r, cfg: c, log: r.log.With("instance", c.Name),
		counters: Counters{Ignored: map[string]uint64{}}}
	if c.VRID < 1 || c.VRID > 255 {
		return nil, fmt.Errorf("vrrp_instance %s: virtual_router_id %d not in 1..255", c.Name, c.VRID)
	}
	in.vrid = uint8(c.VRID)
	if c.Priority < 1 || c.Priority > PriorityOwner {
		return nil, fmt.Errorf("vrrp_instance %s: priority %d not in 1..255", c.Name, c.Priority)
	}
	in.basePrio, in.effPrio, in.totalPrio = c.Priority, c.Priority, c.Priority
	for i, v := range append(slices.Clone(c.Addresses), c.Excluded...) {
		if v.Dev == "" {
			v.Dev = c.Interface
		}
		in.vips = append(in.vips, v)
		if i < len(c.Addresses) {
			in.advAddrs = append(in.advAddrs, v.Prefix.Addr())
		}
	}
	if len(in.advAddrs) > 0 {
		in.is6 = in.advAddrs[0].Is6()
	} else if c.UnicastSrc.IsValid() {
		in.is6 = c.UnicastSrc.Is6()
	}
	for _, a := range in.advAddrs {
		if a.Is6() != in.is6 {
			return nil, fmt.Errorf("vrrp_instance %s: virtual_ipaddress mixes IPv4 and IPv6", c.Name)
		}
	}
	if len(in.advAddrs) > MaxAddrs {
		return nil, fmt.Errorf("vrrp_instance %s: %d virtual addresses, an advert carries at most %d", c.Name, len(in.advAddrs), MaxAddrs)
	}
	in.version = c.Version
	if in.version == 0 {
		in.version = 2
	}
	if in.is6 {
		in.version = 3
	}
	if in.version != 2 && in.version != 3 {
		return nil, fmt.Errorf("vrrp_instance %s: version %d, want 2 or 3", c.Name, c.Version)
	}
	if len(in.advAddrs) == 0 && in.version == 3 {
		return nil, fmt.Errorf("vrrp_instance %s: no VIP specified; at least one is required", c.Name)
	}
	in.adverInt = c.AdvertInt
	if in.adverInt == 0 {
		in.adverInt = time.Second
	}
	if err := in.checkInterval(); err != nil {
		return nil, err
	}
	in.masterAdverInt = in.adverInt
	if err := in.setAuth(c); err != nil {
		return nil, err
	}
	for _, p := range c.UnicastPeers {
		if p.Is6() != in.is6 {
			return nil, fmt.Errorf("vrrp_instance %s: unicast_peer %v is not of the instance's family", c.Name, p)
		}
		in.peers = append(in.peers, p.Unmap())
	}
	in.wantState = Backup
	// keepalived: "If no initial state has been set, derive it from the priority".
	if c.InitialState == "MASTER" || c.InitialState == "" && in.basePrio == PriorityOwner {
		in.wantState = Master
	}
	in.nopreempt, in.delay = c.NoPreempt, c.PreemptDelay
	if in.basePrio == PriorityOwner && in.nopreempt {
		in.log.Warn("nopreempt is incompatible with priority 255. resetting nopreempt")
		in.nopreempt = false
	}
	if in.wantState == Master && in.nopreempt {
		in.log.Warn("Warning - nopreempt will not work with initial state MASTER - clearing")
		in.nopreempt = false
	}
	if in.wantState == Master && in.delay > 0 {
		in.log.Warn("Warning - preempt delay will not work with initial state MASTER - clearing")
		in.delay = 0
	}
	if in.delay > 0 && in.nopreempt {
		in.log.Warn("preempt_delay is incompatible with nopreempt mode - resetting")
		in.delay = 0
	}
	in.garpDelay = c.GarpMasterDelay
	in.tracked = trackedInterfaces(c, in.vips)
	return in, nil
}

// checkInterval applies vrrp_complete_instance's limits: VRRPv2 whole seconds below
// 256 s, VRRPv3 centiseconds below 40.96 s. The parser rounds; this refuses what is left.
func (in *instance) checkInterval() error {
	d := in.adverInt
	if in.version == 2 && (d%time.Second != 0 || d > 255*time.Second) {
		return fmt.Errorf("vrrp_instance %s: VRRPv2 advert_int %v must be whole seconds up to 255 s", in.cfg.Name, d)
	}
	if in.version == 3 && (d%(10*time.Millisecond) != 0 || d > 40950*time.Millisecond) {
		return fmt.Errorf("vrrp_instance %s: VRRPv3 advert_int %v must be whole centiseconds up to 40.95 s", in.cfg.Name, d)
	}
	return nil
}

// setAuth applies keepalived's authentication rules: VRRPv3 ignores it, PASS needs a
// password (at most 8 bytes are used), AH is not supported by this implementation.
func (in *instance) setAuth(c *config.VRRPInstance) error {
	switch {
	case c.AuthType == "":
	case in.version == 3:
		in.log.Warn("VRRP version 3 does not support authentication. Ignoring.")
	case c.AuthType == "PASS" && c.AuthPass == "":
		in.log.Warn("Authentication specified but no password given. Ignoring")
	case c.AuthType == "PASS":
		in.authType = AuthPass
		copy(in.authData[:], c.AuthPass)
	case c.AuthType == "AH":
		return fmt.Errorf("vrrp_instance %s: IPsec AH authentication is not supported", c.Name)
	default:
		return fmt.Errorf("vrrp_instance %s: unknown authentication type %q", c.Name, c.AuthType)
	}
	return nil
}

// trackedInterfaces are the interfaces whose link state puts the instance in FAULT:
// its own, its track_interface list and the devices of its addresses, each once
// (keepalived add_vrrp_to_interface: TRACK_VRRP, TRACK_IF, TRACK_ADDR with weight 0).
func trackedInterfaces(c *config.VRRPInstance, vips []config.VIP) []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	add(c.Interface)
	for _, n := range c.TrackInterfaces {
		add(n)
	}
	for _, v := range vips {
		add(v.Dev)
	}
	return out
}

// skewFor is keepalived's VRRP_TIMER_SKEW_CALC with integer microseconds: VRRPv2
// p/256 s, VRRPv3 p/256 of Master_Adver_Interval (RFC 5798 section 6.1 Skew_Time uses
// 256-Priority; keepalived uses the effective priority).
func (in *instance) skewFor(p int) time.Duration {
	if in.version == 3 {
		cs := int64(in.masterAdverInt / (10 * time.Millisecond))
		return time.Duration(int64(p)*cs*625/16) * time.Microsecond
	}
	return time.Duration(int64(p)*1000000/256) * time.Microsecond
}

func (in *instance) skew() time.Duration { return in.skewFor(256 - in.effPrio) }

// downTimer is Master_Down_Interval: 3 * Master_Adver_Interval + Skew_Time.
func (in *instance) downTimer() time.Duration { return 3*in.masterAdverInt + in.skew() }

// initSands is vrrp_init_instance_sands: a master's next advert, a backup's master down
// timer, no timer in FAULT and INIT.
func (in *instance) initSands(now time.Time) {
	switch in.state {
	case Master:
		in.sands = now.Add(in.adverInt)
	case Backup:
		in.sands = now.Add(in.msDown)
	default:
		in.sands = time.Time{}
	}
}

// localAddr is the source of our adverts.
func (in *instance) localAddr() netip.Addr {
	if in.cfg.UnicastSrc.IsValid() {
		return in.cfg.UnicastSrc.Unmap()
	}
	return in.conn.LocalAddr().Unmap()
}

var errNoSource = errors.New("no source address")

// sendAdvert is vrrp_send_adv: one advert with priority prio to the group, or to each
// unicast peer, counted once.
func (in *instance) sendAdvert(prio int) {
	a := &Advert{Version: in.version, VRID: in.vrid, Priority: uint8(prio), Interval: in.adverInt,
		AuthType: in.authType, AuthData: in.authData, Addrs: in.advAddrs}
	src := in.localAddr()
	dsts := in.peers
	if len(dsts) == 0 {
		dsts = []netip.Addr{GroupIPv4}
		if in.is6 {
			dsts = []netip.Addr{GroupIPv6}
		}
	}
	for _, dst := range dsts {
		err := errNoSource
		if src.IsValid() {
			var b []byte
			pseudo := dst
			if in.oldCsum {
				pseudo = GroupIPv4
			}
			if b, err = Marshal(a, src, pseudo); err == nil {
				err = in.conn.Send(b, dst)
			}
		}
		if err != nil {
			in.counters.SendErrors++
			in.log.Warn("cannot send advert", "to", dst, "priority", prio, "err", err)
		}
	}
	in.counters.Sent++
	if prio == PriorityStop {
		in.counters.PriZeroSent++
	}
}

// notify reports the instance's state to Actions.Notify (send_instance_notifies).
//
// A member of a sync group follows keepalived 2.2.7 exactly: once it has notified at
// all, it stays silent while its state equals its group's, and otherwise notifies on
// every call, even for the state it last reported (a member that re-enters FAULT after
// its group passed through INIT notifies FAULT again, as keepalived does). The sync
// functions change the group's state only after moving the members, so on each group
// transition every member that moves notifies first, in group order, and the group
// notifies last. No keepalived option changes this: notify_fifo, vrrp_notify_fifo and
// the notify scripts all sit behind the same test. An instance outside a group
// notifies once per change of state.
func (in *instance) notify() {
	if g := in.group; g != nil {
		if in.notified && in.state == g.state {
			return
		}
		in.notified = true
	} else {
		if in.state == in.lastNotified {
			return
		}
		in.lastNotified = in.state
	}
	in.r.actions.Notify(Notification{Name: in.cfg.Name, State: in.state, Priority: in.effPrio})
}

// status returns the snapshot of the instance.
func (in *instance) status() InstanceStatus {
	s := InstanceStatus{
		Name: in.cfg.Name, State: in.state, WantState: in.wantState,
		Priority: in.effPrio, BasePriority: in.basePrio, MasterPriority: in.masterPrio,
		AdvertInt: in.adverInt, MasterAdvertInt: in.masterAdverInt, Faults: in.faults,
		LastTransition: in.lastTransition, Counters: in.counters,
	}
	if in.masterAddr.IsValid() {
		s.MasterAddr = in.masterAddr.String()
	}
	if in.group != nil {
		s.Group = in.group.name
	}
	s.Counters.Ignored = maps.Clone(in.counters.Ignored)
	return s
}
