package kernelctl

import (
	"fmt"
	"os"

	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/engine/ipvs"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// ConnFileError is the error Table returns when the connection table cannot be read; ipvsadm
// then prints "cannot open file /proc/net/ip_vs_conn" and exits 1.
type ConnFileError struct {
	Path string
	Err  error
}

func (e *ConnFileError) Error() string {
	return fmt.Sprintf("kernel IPVS: connection table %s: %v", e.Path, e.Err)
}

func (e *ConnFileError) Unwrap() error { return e.Err }

// Table reads the kernel's table as ipvsadm's listings show it: the IPVS version and
// connection table size read at Open, every virtual service in the kernel's order (its
// hash table: by protocol, address and port, then fwmark services) with its counters and
// rates (64-bit), its real servers in the kernel's order (newest first) with their
// connection counts and counters, the protocol timeouts, the running sync daemons (master
// first) and, when conns is true, the connection entries and persistence templates. A
// kernel refusal is returned wrapping its errno; a connection table that cannot be read as
// a *ConnFileError.
func (k *Kernel) Table(conns bool) (*ipvsadm.Table, error) {
	t := &ipvsadm.Table{IPVSVersion: k.info.VersionString(), ConnTabSize: int(k.info.ConnTabSize)}
	svcs, err := k.c.Services()
	if err != nil {
		return nil, err
	}
	for i := range svcs {
		// A service removed meanwhile dumps no destinations: it is listed without reals,
		// as ipvsadm would list it.
		dests, err := k.c.Dests(svcs[i].ServiceKey)
		if err != nil {
			return nil, err
		}
		t.Services = append(t.Services, serviceView(&svcs[i], dests))
	}
	to, err := k.c.Timeouts()
	if err != nil {
		return nil, err
	}
	t.Timeouts = lb.Timeouts{TCP: to.TCP, TCPFin: to.TCPFin, UDP: to.UDP}
	ds, err := k.c.Daemons()
	if err != nil {
		return nil, err
	}
	for i := range ds {
		t.Daemons = append(t.Daemons, ctl.DaemonView(ipvs.ModelDaemon(&ds[i])))
	}
	if conns {
		if t.Conns, err = k.conns(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// serviceView is ipvsadm's view of kernel service s and its destinations. The kernel's
// IP_VS_SVC_F_HASHED bit is its own bookkeeping and is dropped.
func serviceView(s *ipvsnl.Service, dests []ipvsnl.Dest) ipvsadm.ServiceView {
	v := ipvsadm.ServiceView{
		ServiceKey: ipvs.ModelKey(s.ServiceKey),
		Scheduler:  s.SchedName,
		Flags:      lb.SvcFlags(s.Flags &^ ipvsnl.FlagHashed),
		Timeout:    s.Timeout,
		Netmask:    s.Netmask,
		PE:         s.PEName,
	}
	v.Stats, v.Rates = ipvs.ModelStats(s.Stats)
	for i := range dests {
		d := &dests[i]
		rv := ipvsadm.RealView{Real: ipvs.ModelReal(d), ActiveConn: d.ActiveConns, InActConn: d.InactConns, PersistConn: d.PersistConns}
		rv.Stats, rv.Rates = ipvs.ModelStats(d.Stats)
		v.Reals = append(v.Reals, rv)
	}
	return v
}

// conns reads the connection table in the kernel's namespace.
func (k *Kernel) conns() ([]ipvsadm.ConnView, error) {
	var data []byte
	err := k.c.InNetNS(func() (err error) {
		data, err = os.ReadFile(k.connFile)
		return err
	})
	if err != nil {
		return nil, &ConnFileError{Path: k.connFile, Err: err}
	}
	cs, err := ipvs.ParseConns(data)
	if err != nil {
		return nil, &ConnFileError{Path: k.connFile, Err: err}
	}
	out := make([]ipvsadm.ConnView, 0, len(cs))
	for _, c := range cs {
		out = append(out, ctl.ConnView(c))
	}
	return out, nil
}
