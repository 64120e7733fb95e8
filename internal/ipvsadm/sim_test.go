package ipvsadm

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/golvs/golvs/internal/lb"
)

// sim is a stand-in for ipvsadm + the kernel in the tests: it parses with this package,
// applies commands to a Table (validated through lb.State, whose errors wrap lb's sentinels),
// words refusals with KernelError and prints with Printer. The kernel's own behaviour that
// the recordings show (reals newest first, daemon defaults) is modelled here, in test code.
type sim struct {
	t       Table
	parser  Parser
	printer Printer
	catalog lb.Catalog
}

func newSim(res Resolver) *sim {
	scheds := []string{"rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "lblc", "lblcr", "fo", "ovf", "mh"} // no twos in the VM's kernel
	return &sim{
		t:       Table{Timeouts: lb.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}},
		parser:  Parser{Resolver: res},
		printer: Printer{Resolver: res},
		catalog: lb.Catalog{
			Scheduler: func(n string) bool { return slices.Contains(scheds, n) },
			PE:        func(n string) bool { return n == "sip" },
		},
	}
}

// run runs one ipvsadm command line (split on blanks) and returns stdout, stderr, status.
func (s *sim) run(line string, stdin string) (string, string, int) {
	args := strings.Fields(line)
	if len(args) > 0 && args[0] == "ipvsadm" {
		args = args[1:]
	}
	return s.runArgs(args, stdin)
}

func (s *sim) runArgs(args []string, stdin string) (string, string, int) {
	var out, errw bytes.Buffer
	cmd, err := s.parser.Parse(args)
	if err != nil {
		errw.WriteString(err.Error() + "\n")
		return out.String(), errw.String(), err.(*Error).Status
	}
	if cmd.Kind == Restore {
		st := s.restore(stdin, &out, &errw)
		return out.String(), errw.String(), st
	}
	st, _ := s.exec(cmd, &out, &errw)
	return out.String(), errw.String(), st
}

// exec runs a parsed command; fatal reports that ipvsadm would exit at once.
func (s *sim) exec(cmd *Command, out, errw *bytes.Buffer) (status int, fatal bool) {
	switch cmd.Kind {
	case Help, Version, List, Save:
		if err := s.printer.Print(out, cmd, &s.t); err != nil {
			errw.WriteString(err.Error() + "\n")
			return err.(*Error).Status, true
		}
		return 0, cmd.Kind == Help || cmd.Kind == Version
	}
	if err := s.apply(cmd); err != nil {
		e := KernelError(cmd, err)
		errw.WriteString(e.Msg + "\n")
		return e.Status, e.Fatal
	}
	return 0, false
}

func (s *sim) restore(stdin string, out, errw *bytes.Buffer) int {
	lines, err := s.parser.ParseRestore(strings.NewReader(stdin))
	if err != nil {
		panic(err)
	}
	status := 0
	for _, l := range lines {
		if l.Err != nil {
			errw.WriteString(l.Err.Msg + "\n")
			if l.Err.Fatal {
				return l.Err.Status
			}
			status = l.Err.Status
			continue
		}
		st, fatal := s.exec(l.Cmd, out, errw)
		if fatal {
			return st
		}
		status = st
	}
	return status
}

// state returns the table's configuration as an lb.State.
func (s *sim) state() *lb.State {
	st := &lb.State{Timeouts: s.t.Timeouts}
	for i := range s.t.Services {
		st.Services = append(st.Services, s.t.Services[i].Service())
	}
	return st
}

// apply changes the table as the kernel would, or returns an error wrapping lb's sentinels.
func (s *sim) apply(cmd *Command) error {
	st := s.state()
	key := cmd.Service.ServiceKey
	switch cmd.Kind {
	case Flush:
		s.t.Services = nil
	case AddService:
		if err := st.AddService(&cmd.Service, s.catalog); err != nil {
			return err
		}
		s.t.Services = append(s.t.Services, ViewOfService(st.Find(key)))
	case EditService:
		if err := st.EditService(&cmd.Service, s.catalog); err != nil {
			return err
		}
		v := s.t.Find(key)
		n := st.Find(key)
		v.Scheduler, v.Flags, v.Timeout, v.Netmask, v.PE = n.Scheduler, n.Flags, n.Timeout, n.Netmask, n.PE
	case DeleteService:
		if err := st.DeleteService(key); err != nil {
			return err
		}
		i := slices.IndexFunc(s.t.Services, func(v ServiceView) bool { return sameKey(v.ServiceKey, key) })
		s.t.Services = slices.Delete(s.t.Services, i, i+1)
	case AddServer:
		if err := st.AddReal(key, cmd.Real); err != nil {
			return err
		}
		v := s.t.Find(key)
		n := st.Find(key)
		v.Reals = slices.Insert(v.Reals, 0, RealView{Real: n.Reals[len(n.Reals)-1]})
	case EditServer:
		if err := st.EditReal(key, cmd.Real); err != nil {
			return err
		}
		v := s.t.Find(key)
		r := cmd.Real
		for i := range v.Reals {
			if v.Reals[i].Addr == r.Addr && v.Reals[i].Port == r.Port {
				v.Reals[i].Real = r
			}
		}
	case DeleteServer:
		if err := st.DeleteReal(key, cmd.Real.Addr, cmd.Real.Port); err != nil {
			return err
		}
		v := s.t.Find(key)
		v.Reals = slices.DeleteFunc(v.Reals, func(r RealView) bool { return r.Addr == cmd.Real.Addr && r.Port == cmd.Real.Port })
	case Zero:
		for i := range s.t.Services {
			v := &s.t.Services[i]
			if cmd.HasService && !sameKey(v.ServiceKey, key) {
				continue
			}
			v.Stats, v.Rates = lb.Stats{}, lb.Rates{}
			for j := range v.Reals {
				v.Reals[j].Stats, v.Reals[j].Rates = lb.Stats{}, lb.Rates{}
			}
		}
		if cmd.HasService && s.t.Find(key) == nil {
			return fmt.Errorf("zero %s: %w", key, lb.ErrNoService)
		}
	case SetTimeout:
		for _, p := range []struct{ dst, src *uint32 }{
			{&s.t.Timeouts.TCP, &cmd.Timeouts.TCP}, {&s.t.Timeouts.TCPFin, &cmd.Timeouts.TCPFin}, {&s.t.Timeouts.UDP, &cmd.Timeouts.UDP},
		} {
			if *p.src != 0 {
				*p.dst = *p.src
			}
		}
	case StartDaemon:
		return s.startDaemon(cmd.Daemon)
	case StopDaemon:
		i := slices.IndexFunc(s.t.Daemons, func(d DaemonView) bool { return d.State == cmd.Daemon.State })
		if i < 0 {
			return fmt.Errorf("stop daemon: %w", lb.ErrNoService) // ESRCH
		}
		s.t.Daemons = slices.Delete(s.t.Daemons, i, i+1)
	default:
		return fmt.Errorf("sim: %s: %w", cmd.Kind, errors.ErrUnsupported)
	}
	return nil
}

func sameKey(a, b lb.ServiceKey) bool {
	if a.IsFWMark() || b.IsFWMark() {
		return a.FWMark == b.FWMark && is6(a.Addr) == is6(b.Addr)
	}
	return a == b
}

// startDaemon models the kernel: EEXIST for a second daemon in the same role, EINVAL while a
// service has a real of the other family, and the defaults it fills in (recorded: an MTU of
// 1500 gives maxlen 1472; a backup asked for 1000 reports 1024).
func (s *sim) startDaemon(c DaemonConfig) error {
	for _, d := range s.t.Daemons {
		if d.State == c.State {
			return fmt.Errorf("start daemon: %w", lb.ErrServiceExists) // EEXIST
		}
	}
	for _, v := range s.t.Services {
		for _, r := range v.Reals {
			if is6(r.Addr) != is6(v.Addr) {
				return fmt.Errorf("start daemon: mixed family services: %w", lb.ErrInvalid)
			}
		}
	}
	d := DaemonView{State: c.State, MCastIfn: c.MCastIfn, SyncID: c.SyncID, SyncMaxLen: c.SyncMaxLen,
		MCastGroup: c.MCastGroup, MCastPort: c.MCastPort, MCastTTL: c.MCastTTL}
	switch {
	case d.SyncMaxLen == 0:
		d.SyncMaxLen = 1472
	case c.State == DaemonBackup:
		d.SyncMaxLen = (d.SyncMaxLen + 63) &^ 63
	}
	if !d.MCastGroup.IsValid() {
		d.MCastGroup = netip.MustParseAddr("224.0.0.81")
	}
	if d.MCastPort == 0 {
		d.MCastPort = 8848
	}
	if d.MCastTTL == 0 {
		d.MCastTTL = 1
	}
	s.t.Daemons = append(s.t.Daemons, d)
	slices.SortFunc(s.t.Daemons, func(a, b DaemonView) int { return int(a.State) - int(b.State) })
	return nil
}
