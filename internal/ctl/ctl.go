// Package ctl joins the ipvsadm command language to lvsd's control plane: it turns parsed
// ipvsadm commands into director operations, rules files (ipvsadm -S output) into tables, and
// API snapshots into the table views ipvsadm's listings print. lvsadm and lvsd both use it.
package ctl

import (
	"fmt"
	"io"
	"math"
	"net/netip"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/lb"
)

// Op turns a table-changing command into the director operation that performs it. List,
// Save, Restore, Help and Version are not table changes and give an error.
func Op(cmd *ipvsadm.Command) (director.Op, error) {
	key := cmd.Service.ServiceKey
	real := cmd.Real
	svc := cmd.Service
	switch cmd.Kind {
	case ipvsadm.AddService:
		return director.Op{Kind: director.AddService, Service: &svc}, nil
	case ipvsadm.EditService:
		return director.Op{Kind: director.EditService, Service: &svc}, nil
	case ipvsadm.DeleteService:
		return director.Op{Kind: director.DeleteService, Key: &key}, nil
	case ipvsadm.Flush:
		return director.Op{Kind: director.Flush}, nil
	case ipvsadm.AddServer:
		return director.Op{Kind: director.AddReal, Key: &key, Real: &real}, nil
	case ipvsadm.EditServer:
		return director.Op{Kind: director.EditReal, Key: &key, Real: &real}, nil
	case ipvsadm.DeleteServer:
		return director.Op{Kind: director.DeleteReal, Key: &key, Real: &real}, nil
	case ipvsadm.SetTimeout:
		t := cmd.Timeouts
		return director.Op{Kind: director.SetTimeouts, Timeouts: &t}, nil
	case ipvsadm.Zero:
		if !cmd.HasService {
			return director.Op{Kind: director.Zero}, nil
		}
		return director.Op{Kind: director.Zero, Key: &key}, nil
	case ipvsadm.StartDaemon, ipvsadm.StopDaemon:
		d := cmd.Daemon
		sd := &engine.SyncDaemon{
			Backup: d.State == ipvsadm.DaemonBackup, MCastIfn: d.MCastIfn, SyncID: d.SyncID,
			SyncMaxLen: d.SyncMaxLen, MCastGroup: d.MCastGroup, MCastPort: d.MCastPort, MCastTTL: d.MCastTTL,
		}
		kind := director.StartDaemon
		if cmd.Kind == ipvsadm.StopDaemon {
			kind = director.StopDaemon
		}
		return director.Op{Kind: kind, Daemon: sd}, nil
	}
	return director.Op{}, fmt.Errorf("%s cannot be part of a table change", cmd.Kind)
}

// Table builds ipvsadm's view of a director's snapshot: services in the order they were
// added (lvsd's "kernel order"), reals newest first with the engine's counters.
func Table(snap *api.Snapshot) *ipvsadm.Table {
	t := &ipvsadm.Table{Timeouts: snap.State.Timeouts}
	counters := make(map[lb.ServiceKey]*engine.ServiceCounters, len(snap.Counters))
	for i := range snap.Counters {
		counters[snap.Counters[i].Key] = &snap.Counters[i]
	}
	for _, s := range snap.State.Services {
		v := ipvsadm.ViewOfService(s)
		if sc := counters[s.ServiceKey]; sc != nil {
			v.Stats, v.Rates = sc.Stats, sc.Rates
			byAddr := make(map[netip.AddrPort]*engine.RealCounters, len(sc.Reals))
			for i := range sc.Reals {
				r := &sc.Reals[i]
				byAddr[netip.AddrPortFrom(r.Addr, r.Port)] = r
			}
			for i := range v.Reals {
				if rc := byAddr[v.Reals[i].AddrPort()]; rc != nil {
					rv := &v.Reals[i]
					rv.ActiveConn, rv.InActConn, rv.PersistConn = count(rc.Active), count(rc.Inactive), count(rc.Persist)
					rv.Stats, rv.Rates = rc.Stats, rc.Rates
				}
			}
		}
		t.Services = append(t.Services, v)
	}
	for _, c := range snap.Conns {
		t.Conns = append(t.Conns, ConnView(c))
	}
	for _, d := range snap.Daemons {
		t.Daemons = append(t.Daemons, DaemonView(d))
	}
	return t
}

// DaemonView is what ipvsadm -L --daemon shows of sync daemon d.
func DaemonView(d engine.SyncDaemon) ipvsadm.DaemonView {
	state := ipvsadm.DaemonMaster
	if d.Backup {
		state = ipvsadm.DaemonBackup
	}
	return ipvsadm.DaemonView{
		State: state, MCastIfn: d.MCastIfn, SyncID: d.SyncID, SyncMaxLen: d.SyncMaxLen,
		MCastGroup: d.MCastGroup, MCastPort: d.MCastPort, MCastTTL: d.MCastTTL,
	}
}

func count(n int32) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(n)
}

// ConnView is what ipvsadm -L -c shows of connection entry c: its time left in whole
// seconds (0 once expired).
func ConnView(c engine.Conn) ipvsadm.ConnView {
	secs := c.Expires.Seconds()
	if secs < 0 {
		secs = 0
	}
	return ipvsadm.ConnView{
		Protocol: c.Protocol, Client: c.Client, Virtual: c.Virtual, Dest: c.Real,
		State: c.State, Expires: uint32(math.Min(secs, math.MaxUint32)), PEName: c.PE, PEData: c.PEData,
	}
}

// RestoreState builds a table from rules in ipvsadm -S format (read with p): every line must
// parse and apply, or the whole input is refused with the number of the line that failed and
// ipvsadm's message for it.
func RestoreState(p ipvsadm.Parser, r io.Reader, cat lb.Catalog) (*lb.State, error) {
	lines, err := p.ParseRestore(r)
	if err != nil {
		return nil, err
	}
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	for _, l := range lines {
		if l.Err != nil {
			return nil, fmt.Errorf("line %d: %s", l.Line, l.Err.Msg)
		}
		op, err := Op(l.Cmd)
		if err == nil {
			err = director.Apply(st, op, cat)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %s", l.Line, ipvsadm.KernelError(l.Cmd, err).Msg)
		}
	}
	return st, nil
}
