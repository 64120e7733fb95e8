package vrrp

import (
	"log/slog"
	"time"
)

// syncGroup is a vrrp_sync_group: its members change state together (keepalived
// vrrp_sync.c). It lives on the Router's goroutine like its members.
type syncGroup struct {
	r       *Router
	name    string
	members []*instance
	state   State
	faults  int // num_member_fault: members with a fault of their own
	inits   int // num_member_init: members waiting for a weight-0 script
	log     *slog.Logger
}

// initState is vrrp_sync_set_group and initialise_tracking_priorities: MASTER when every
// member is an address owner that wants MASTER, FAULT when a member starts with a fault,
// INIT while a member waits for its scripts, BACKUP otherwise.
func (g *syncGroup) initState() {
	g.state = Master
	for _, m := range g.members {
		if m.wantState != Master || m.basePrio != PriorityOwner {
			g.state = Backup
		}
	}
	for _, m := range g.members {
		if m.faults > 0 {
			g.faults++
		}
		if m.scriptInit > 0 {
			g.inits++
		}
	}
	switch {
	case g.faults > 0:
		g.state = Fault
	case g.inits > 0:
		g.state = Init
	}
}

// notify reports the group's state (send_group_notifies). Its callers call it only when
// the group's state changed; INIT is never reported. Like keepalived it does not
// remember what it last reported: a group that goes from FAULT through INIT (a member's
// fault cleared while a weight-0 script has not reported yet) back to FAULT notifies
// FAULT again.
func (g *syncGroup) notify() {
	if g.state == Init {
		return
	}
	g.r.actions.Notify(Notification{Group: true, Name: g.name, State: g.state})
}

// canGoToMaster is vrrp_sync_can_goto_master: only when every other member wants MASTER
// too (keepalived prefers BACKUP to thrashing); otherwise the instance re-arms its master
// down timer and waits.
func (g *syncGroup) canGoToMaster(in *instance, now time.Time) bool {
	if g.state == Master {
		return true
	}
	for _, m := range g.members {
		if m != in && m.wantState != Master {
			in.msDown = in.downTimer()
			in.initSands(now)
			return false
		}
	}
	return true
}

// syncMaster is vrrp_sync_master: a member became master, the others follow.
func (g *syncGroup) syncMaster(in *instance, now time.Time) {
	if g.state == Master || !g.canGoToMaster(in, now) {
		return
	}
	g.log.Info("Syncing instances to MASTER state")
	for _, m := range g.members {
		if m != in && m.state != Master {
			m.wantState = Master
			m.goToMaster(now)
		}
	}
	g.state = Master
	g.notify()
}

// syncBackup is vrrp_sync_backup: a member left MASTER (or came out of FAULT), the
// others go to BACKUP.
func (g *syncGroup) syncBackup(in *instance, now time.Time) {
	if g.state == Backup {
		return
	}
	g.log.Info("Syncing instances to BACKUP state")
	for _, m := range g.members {
		if m == in || m.state == Backup {
			continue
		}
		m.wantState = Backup
		if m.state == Fault || m.state == Init {
			m.leaveFault(now)
		} else {
			m.leaveMaster(now, false)
		}
	}
	g.state = Backup
	g.notify()
}

// syncFault is vrrp_sync_fault: a member has a fault, the others go to FAULT (a master
// with a priority 0 advert).
func (g *syncGroup) syncFault(in *instance, now time.Time) {
	if g.state == Fault {
		return
	}
	g.log.Info("Syncing instances to FAULT state")
	for _, m := range g.members {
		if m == in || m.state == Fault {
			continue
		}
		m.wantState = Fault
		switch m.state {
		case Master:
			m.leaveMaster(now, false)
		case Backup, Init:
			m.state = Fault
			m.leaveFault(now)
		}
	}
	g.state = Fault
	g.notify()
}

func (g *syncGroup) status() GroupStatus {
	s := GroupStatus{Name: g.name, State: g.state}
	for _, m := range g.members {
		s.Members = append(s.Members, m.cfg.Name)
	}
	return s
}
