package vrrp

import "time"

// start is vrrp_init_state: an address owner that wants MASTER becomes master at once
// (a 1 µs master down timer); every other instance enters BACKUP with the full master
// down interval, whatever its initial state (keepalived 2.2.7 sends nothing sooner for
// "state MASTER" below priority 255, as a capture confirms); an instance with a fault,
// or waiting for the first result of a weight-0 script, enters FAULT.
func (in *instance) start(now time.Time) {
	newState := in.wantState
	if in.group != nil {
		newState = in.group.state
	}
	groupInit := in.group != nil && in.group.inits > 0
	up := in.faults == 0
	if up && newState == Master && in.scriptInit == 0 && !groupInit &&
		in.basePrio == PriorityOwner && in.wantState == Master {
		in.state = Backup
		in.msDown = time.Microsecond
	} else {
		in.msDown = in.downTimer()
		if up && newState != Fault && in.scriptInit == 0 && !groupInit {
			in.log.Info("Entering BACKUP STATE (init)")
			in.state = Backup
		} else {
			if in.faults > 0 {
				in.log.Info("Entering FAULT STATE (init)")
			}
			in.state = Fault
		}
		// keepalived notifies FAULT at start only for a real fault, not for scripts
		// that have not reported yet.
		if in.state != Fault || in.faults > 0 {
			in.notify()
		}
		in.lastTransition = now
	}
	in.initSands(now)
}

// timeout is vrrp_dispatcher_read_timeout for one instance whose timer is due: a backup
// takes over (vrrp_goto_master), a master advertises (vrrp_state_master_tx). It also
// sends the delayed gratuitous ARP bursts.
func (in *instance) timeout(now time.Time) {
	if !in.garpAt.IsZero() && !now.Before(in.garpAt) {
		in.garpAt = time.Time{}
		in.announce(garpRep)
	}
	if !in.lowerAt.IsZero() && !now.Before(in.lowerAt) {
		in.lowerAt = time.Time{}
		in.announce(garpLowerPrioRep)
	}
	if in.sands.IsZero() || now.Before(in.sands) {
		return
	}
	prev := in.state
	switch in.state {
	case Backup:
		in.log.Debug("Receive advertisement timeout")
		in.wantState = Master
		in.goToMaster(now)
	case Master:
		in.masterTx(now)
	}
	in.tsm(prev, now)
	in.initSands(now)
}

// nextDeadline is the earliest time timeout has something to do; zero for none.
func (in *instance) nextDeadline() time.Time {
	var t time.Time
	for _, c := range []time.Time{in.sands, in.garpAt, in.lowerAt} {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	return t
}

// tsm runs keepalived's transition state matrix (VRRP_TSM_HANDLE) for sync groups:
// BACKUP, MASTER or FAULT to MASTER pulls the group to MASTER, MASTER to BACKUP pushes it
// to BACKUP.
func (in *instance) tsm(prev State, now time.Time) {
	if in.group == nil {
		return
	}
	switch {
	case in.state == Master && prev != Init:
		in.group.syncMaster(in, now)
	case prev == Master && in.state == Backup:
		in.group.syncBackup(in, now)
	}
}

// goToMaster is vrrp_state_goto_master: unless the sync group holds it back (all its
// members must want MASTER), the instance becomes master and advertises at once.
func (in *instance) goToMaster(now time.Time) {
	if in.group != nil && !in.group.canGoToMaster(in, now) {
		in.wantState = Master
		return
	}
	in.state = Master
	in.initSands(now)
	in.masterTx(now)
}

// masterTx is vrrp_state_master_tx: advertise first, so that the old master drops the
// addresses before our gratuitous ARPs, then take the addresses if we have not yet, and
// schedule the second burst of gratuitous ARPs garp_master_delay later.
func (in *instance) masterTx(now time.Time) {
	in.sendAdvert(in.effPrio)
	if !in.vipSet {
		in.log.Info("Entering MASTER STATE")
		in.becomeMaster(now)
		if in.garpDelay > 0 {
			in.garpAt = now.Add(in.garpDelay)
		}
	}
}

// becomeMaster is vrrp_state_become_master.
func (in *instance) becomeMaster(now time.Time) {
	in.counters.BecomeMaster++
	in.masterAdverInt = in.adverInt
	if err := in.r.actions.AddVIPs(in.cfg.Name, in.vips); err != nil {
		in.log.Error("cannot add virtual addresses", "err", err)
	}
	in.vipSet = true
	in.announce(garpRep)
	in.masterAddr, in.masterPrio = in.localAddr(), in.effPrio
	in.notify()
	in.lastTransition = now
}

// announce sends gratuitous ARP / unsolicited NA rounds while the addresses are set
// (vrrp_send_link_update).
func (in *instance) announce(rounds int) {
	if !in.vipSet || rounds == 0 {
		return
	}
	if err := in.r.actions.Announce(in.cfg.Name, in.vips, rounds); err != nil {
		in.log.Warn("cannot announce virtual addresses", "err", err)
	}
}

// restoreInterface is vrrp_restore_interface: optionally a priority 0 advert, then the
// addresses go.
func (in *instance) restoreInterface(stopAdvert bool) {
	if stopAdvert {
		in.sendAdvert(PriorityStop)
	}
	in.garpAt, in.lowerAt = time.Time{}, time.Time{}
	if in.vipSet {
		if err := in.r.actions.RemoveVIPs(in.cfg.Name, in.vips); err != nil {
			in.log.Error("cannot remove virtual addresses", "err", err)
		}
		in.vipSet = false
	}
}

// leaveMaster is vrrp_state_leave_master: to BACKUP, or to FAULT with a priority 0
// advert (and a second one when stopAdvert, as down_instance asks).
func (in *instance) leaveMaster(now time.Time, stopAdvert bool) {
	switch in.wantState {
	case Backup:
		in.log.Info("Entering BACKUP STATE")
		in.preemptTime = time.Time{}
	case Fault:
		in.log.Info("Entering FAULT STATE")
		in.sendAdvert(PriorityStop)
	default:
		in.log.Error("leaveMaster called with invalid wantstate", "wantstate", in.wantState)
		return
	}
	in.restoreInterface(stopAdvert)
	in.state = in.wantState
	in.notify()
	in.msDown = in.downTimer()
	in.initSands(now)
	in.counters.ReleaseMaster++
	in.lastTransition = now
}

// leaveFault is vrrp_state_leave_fault: to the state wanted, resetting the master
// interval learned from the last master.
func (in *instance) leaveFault(now time.Time) {
	if in.wantState == Master {
		in.goToMaster(now)
	} else {
		if in.state != in.wantState {
			in.log.Info("Entering " + in.wantState.String() + " STATE")
		}
		if in.wantState == Fault && in.state == Master {
			in.sendAdvert(PriorityStop)
			in.restoreInterface(false)
		}
		in.state = in.wantState
		in.notify()
		if in.state == Backup {
			in.preemptTime = time.Time{}
		}
	}
	in.masterAdverInt = in.adverInt
	in.msDown = in.downTimer()
	in.initSands(now)
	in.lastTransition = now
}

// down is down_instance: a tracked interface went down or a weight-0 script failed.
// The first fault takes the instance (and its sync group) to FAULT.
func (in *instance) down(now time.Time) {
	in.faults++
	if in.faults > 1 && in.state != Init {
		return
	}
	in.wantState = Fault
	if in.state == Master {
		in.leaveMaster(now, true)
	} else {
		in.leaveFault(now)
	}
	if in.group != nil {
		in.group.faults++
		if in.group.faults == 1 {
			in.group.syncFault(in, now)
		}
	}
}

// tryUp is try_up_instance: a fault cleared (or, with leavingInit, the last weight-0
// script reported for the first time). When none is left, in the instance and its sync
// group, the instance enters BACKUP (an address owner that wants MASTER: MASTER).
func (in *instance) tryUp(now time.Time, leavingInit bool) {
	if leavingInit {
		if in.faults > 0 {
			return
		}
	} else {
		in.faults--
		if in.faults > 0 || in.scriptInit > 0 {
			if in.faults == 0 {
				if in.group != nil {
					in.group.faults--
					in.group.state = Init
				}
				in.wantState = Backup
			}
			return
		}
	}
	owner := in.wantState == Master && in.basePrio == PriorityOwner
	if !owner {
		in.wantState = Backup
	}
	in.masterAdverInt = in.adverInt
	in.msDown = in.downTimer()
	if owner {
		in.msDown = in.masterAdverInt + in.skew()
	}
	if g := in.group; g != nil {
		if leavingInit {
			if g.faults > 0 {
				return
			}
		} else {
			g.faults--
			if g.faults > 0 || g.inits > 0 {
				return
			}
		}
	}
	want := in.wantState
	if in.group != nil && in.wantState == Master && !in.group.canGoToMaster(in, now) {
		in.wantState = Backup
	}
	in.leaveFault(now)
	in.initSands(now)
	in.wantState = want
	if in.group != nil {
		if in.state == Master {
			in.group.syncMaster(in, now)
		} else {
			in.group.syncBackup(in, now)
		}
	}
}

// setEffectivePriority is vrrp_set_effective_priority: the total of base priority and
// track script weights, clamped to 1..254; an address owner keeps 255. A backup's
// master down timer moves by the change of its skew.
func (in *instance) setEffectivePriority() {
	if in.basePrio == PriorityOwner {
		return
	}
	p := min(max(in.totalPrio, 1), PriorityOwner-1)
	if p == in.effPrio {
		return
	}
	in.log.Info("Changing effective priority", "from", in.effPrio, "to", p)
	in.effPrio = p
	old := in.msDown
	in.msDown = in.downTimer()
	if in.state == Backup && !in.sands.IsZero() {
		in.sands = in.sands.Add(in.msDown - old)
	}
}

// shutdown is restore_vrrp_interfaces at exit: a master sends priority 0 and drops its
// addresses; every instance reports STOP.
func (in *instance) shutdown(now time.Time) {
	if in.state == Master {
		in.restoreInterface(true)
		in.log.Info("sent 0 priority")
	}
	in.state, in.sands = Stop, time.Time{}
	in.notify()
	in.lastTransition = now
}
