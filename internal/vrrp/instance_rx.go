package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// ignore counts and logs an advert the instance drops. Another VRID is routine on a
// shared link and logs at debug level (keepalived logs it only with log_unknown_vrids).
func (in *instance) ignore(reason string, p *Packet, err error) {
	in.counters.Ignored[reason]++
	if reason == ReasonVRID {
		in.log.Debug("ignoring advert", "reason", reason, "from", p.Src, "ifindex", p.IfIndex, "err", err)
		return
	}
	in.log.Info("ignoring advert", "reason", reason, "from", p.Src, "ifindex", p.IfIndex, "err", err)
}

// parse decodes p, with keepalived's fallback for VRRPv3 over IPv4 unicast: a checksum
// that verifies only with the group in the pseudo-header comes from keepalived 1.3.6 or
// older, and from then on we send that checksum too (vrrp_check_packet,
// CHKSUM_COMPATIBILITY_AUTO; "Setting unicast VRRPv3 checksum to old version").
func (in *instance) parse(p *Packet) (*Advert, error) {
	a, err := Parse(p.Payload, p.Src, p.Dst)
	if err == nil || !errors.Is(err, ErrBadChecksum) || in.version != 3 || in.is6 ||
		len(in.peers) == 0 || p.Dst.Unmap() == GroupIPv4 {
		return a, err
	}
	if old, oerr := Parse(p.Payload, p.Src, GroupIPv4); oerr == nil {
		if !in.oldCsum {
			in.log.Info("Setting unicast VRRPv3 checksum to old version")
			in.oldCsum = true
		}
		return old, nil
	}
	return nil, err
}

// check is vrrp_check_packet after the VRID dispatch, in keepalived 2.2.7's order. It
// returns the advert, or the reason to drop it and why.
func (in *instance) check(p *Packet) (*Advert, string, error) {
	a, err := in.parse(p)
	switch {
	case errors.Is(err, ErrBadChecksum):
		return nil, ReasonChecksum, err
	case err != nil:
		return nil, ReasonMalformed, err
	}
	multicast := len(in.peers) == 0
	if multicast && p.TTL >= 0 && p.TTL != TTL {
		return nil, ReasonTTL, fmt.Errorf("invalid TTL/HL. Received %d and expect %d", p.TTL, TTL)
	}
	if a.Version != in.version {
		return nil, ReasonVersion, fmt.Errorf("wrong version. Received %d and expect %d", a.Version, in.version)
	}
	if in.version == 2 {
		if a.AuthType != in.authType {
			return nil, ReasonAuthType, fmt.Errorf("received a %d auth, expecting %d", a.AuthType, in.authType)
		}
		if in.authType == AuthPass && a.AuthData != in.authData {
			return nil, ReasonAuthFailure, errors.New("received an invalid passwd")
		}
		if a.Interval != in.adverInt {
			return nil, ReasonInterval, fmt.Errorf("advertisement interval mismatch mine=%d sec rcv'd=%d sec",
				in.adverInt/time.Second, a.Interval/time.Second)
		}
	}
	if len(a.Addrs) != len(in.advAddrs) {
		return nil, ReasonAddrCount, fmt.Errorf("received an unexpected ip number count %d, expected %d", len(a.Addrs), len(in.advAddrs))
	}
	if p.Dst.IsMulticast() != multicast {
		want, got := "mult", "un"
		if !multicast {
			want, got = got, want
		}
		return nil, ReasonCast, fmt.Errorf("Expected %sicast packet but received %sicast packet", want, got)
	}
	in.counters.Received++
	for _, v := range in.advAddrs {
		if !slices.Contains(a.Addrs, v) {
			return nil, ReasonAddrList, fmt.Errorf("ip address associated with VRID %d not present in MASTER advert: %v", in.vrid, v)
		}
	}
	// keepalived checks this only with check_unicast_src; lvsd always does.
	if !multicast && !slices.Contains(in.peers, p.Src.Unmap()) {
		return nil, ReasonNotPeer, fmt.Errorf("unicast source address %v not a unicast peer", p.Src)
	}
	if a.Priority == PriorityStop {
		in.counters.PriZeroRcvd++
	}
	return a, "", nil
}

// receive handles one packet (vrrp_dispatcher_read for this instance): packets of other
// VRIDs and packets in INIT or FAULT are ignored; then BACKUP or MASTER processing, the
// sync group's transition matrix and the timer.
func (in *instance) receive(now time.Time, p *Packet) {
	if len(p.Payload) >= headerLen && p.Payload[1] != in.vrid {
		in.ignore(ReasonVRID, p, fmt.Errorf("VRID %d, ours %d", p.Payload[1], in.vrid))
		return
	}
	if in.state == Fault || in.state == Init {
		in.counters.Ignored[ReasonNotRunning]++
		return
	}
	a, reason, err := in.check(p)
	if err != nil {
		in.ignore(reason, p, err)
		return
	}
	prev := in.state
	sent := false
	switch in.state {
	case Backup:
		in.backupRx(now, a, p.Src.Unmap())
	case Master:
		var leave bool
		leave, sent = in.masterRx(now, a, p.Src.Unmap())
		if leave {
			in.leaveMaster(now, false)
		}
	}
	in.tsm(prev, now)
	// keepalived re-arms a master's advert timer after any packet; lvsd only after an
	// advert it sent, so that bad packets cannot hold a master's adverts back.
	if in.state == Master && sent {
		in.initSands(now)
	}
}

// backupRx is vrrp_state_backup for an advert that passed the checks.
func (in *instance) backupRx(now time.Time, a *Advert, src netip.Addr) {
	prio := int(a.Priority)
	switch {
	case prio == PriorityStop:
		in.log.Debug("Backup received priority 0 advertisement")
		in.msDown = in.skew()
		in.initSands(now)
	case in.nopreempt || prio >= in.effPrio ||
		(in.delay > 0 && (in.preemptTime.IsZero() || in.preemptTime.After(now))):
		if in.version == 3 && a.Interval != in.masterAdverInt {
			in.log.Debug("advertisement interval updated by master", "from", in.masterAdverInt, "to", a.Interval)
			in.masterAdverInt = a.Interval
		}
		in.msDown = in.downTimer()
		in.masterAddr, in.masterPrio = src, prio
		if in.delay > 0 {
			if prio >= in.effPrio {
				in.preemptTime = time.Time{}
			} else if in.preemptTime.IsZero() {
				in.log.Debug("start preempt delay", "delay", in.delay)
				in.preemptTime = now.Add(in.delay)
			}
		}
		in.wantState = Backup
		in.initSands(now)
	default:
		// Preemptable: let the master down timer run out.
		in.counters.Ignored[ReasonLowerPrio]++
		in.log.Info(fmt.Sprintf("received lower priority (%d) advert from %v - discarding", prio, src))
		in.masterAddr = src
	}
}

// masterRx is vrrp_state_master_rx for an advert that passed the checks. It reports
// whether the instance must leave MASTER and whether it sent an advert.
func (in *instance) masterRx(now time.Time, a *Advert, src netip.Addr) (leave, sent bool) {
	prio := int(a.Priority)
	cmp := src.Compare(in.localAddr())
	if prio == PriorityStop {
		in.log.Debug("Master received priority 0 message")
		in.sendAdvert(in.effPrio)
		return false, true
	}
	if prio == in.effPrio {
		if cmp == 0 {
			in.log.Warn("WARNING - equal priority advert received from remote host with our IP address.")
		} else if in.effPrio == PriorityOwner {
			in.log.Error("CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority")
			in.effPrio, in.basePrio, in.totalPrio = PriorityOwner-1, PriorityOwner-1, PriorityOwner-1
		}
	}
	if prio < in.effPrio || (prio == in.effPrio && cmp < 0) {
		in.log.Info(fmt.Sprintf("Received advert from %v with lower priority %d, ours %d, forcing new election", src, prio, in.effPrio))
		in.sendAdvert(in.effPrio)
		in.announce(garpLowerPrioRep)
		if in.garpDelay > 0 {
			in.lowerAt = now.Add(in.garpDelay)
		}
		if in.group != nil {
			for _, m := range in.group.members {
				if m != in {
					m.announce(garpLowerPrioRep)
					if m.garpDelay > 0 && m.vipSet {
						m.lowerAt = now.Add(m.garpDelay)
					}
				}
			}
		}
		return false, true
	}
	if prio > in.effPrio || cmp > 0 {
		if prio > in.effPrio {
			in.log.Info(fmt.Sprintf("Master received advert from %v with higher priority %d, ours %d", src, prio, in.effPrio))
		} else {
			in.log.Info(fmt.Sprintf("Master received advert from %v with same priority %d but higher IP address than ours", src, prio))
		}
		if in.version == 3 {
			in.masterAdverInt = a.Interval
		}
		in.msDown = in.downTimer()
		in.masterAddr, in.masterPrio = src, prio
		in.wantState, in.state = Backup, Backup
		return true, false
	}
	return false, false
}
