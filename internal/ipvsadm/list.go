package ipvsadm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/golvs/golvs/internal/lb"
)

// Printer writes what ipvsadm 1.31 prints (ipvsadm.c: list_all, list_service,
// print_service_entry, print_title, print_largenum, list_conn, print_conn, list_timeout,
// list_daemon, usage_exit, version).
type Printer struct {
	// Prog is the program name in the help text; default "ipvsadm".
	Prog string
	// Resolver names addresses and ports when -n is absent. Nil prints numbers.
	Resolver Resolver
}

func (p Printer) prog() string {
	if p.Prog == "" {
		return "ipvsadm"
	}
	return p.Prog
}

// format is ipvsadm's FMT_* set for one listing.
type format struct {
	ListOptions
	rule bool // -S
}

// Print writes the output of cmd, a List, Save, Help or Version command, for table t (which
// may be nil for Help and Version). It returns an *Error for -L of a service t does not have
// ("No such service", status 1), and the writer's error if writing fails.
func (p Printer) Print(w io.Writer, cmd *Command, t *Table) error {
	bw := bufio.NewWriter(w)
	var err error
	switch cmd.Kind {
	case Help:
		p.help(bw)
	case Version:
		p.version(bw)
	case Save:
		p.listAll(bw, t, format{ListOptions: ListOptions{Numeric: cmd.List.Numeric}, rule: true})
	case List:
		err = p.list(bw, cmd, t)
	default:
		return fmt.Errorf("ipvsadm: nothing to print for %s", cmd.Kind)
	}
	if ferr := bw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

func (p Printer) list(w *bufio.Writer, cmd *Command, t *Table) error {
	f := format{ListOptions: cmd.List}
	switch {
	case f.Connections:
		p.conns(w, t.Conns, f)
	case cmd.HasService:
		s := t.Find(cmd.Service.ServiceKey)
		if s == nil {
			return &Error{Msg: "No such service", Status: 1, Fatal: true}
		}
		p.title(w, f)
		p.service(w, s, f)
	case f.Timeout:
		fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", t.Timeouts.TCP, t.Timeouts.TCPFin, t.Timeouts.UDP)
	case f.Daemon:
		p.daemons(w, t.Daemons)
	default:
		p.listAll(w, t, f)
	}
	return nil
}

func (p Printer) listAll(w *bufio.Writer, t *Table, f format) {
	if !f.rule {
		v, size := t.IPVSVersion, t.ConnTabSize
		if v == "" {
			v = DefaultIPVSVersion
		}
		if size == 0 {
			size = DefaultConnTabSize
		}
		fmt.Fprintf(w, "IP Virtual Server version %s (size=%d)\n", v, size)
	}
	svcs := make([]ServiceView, len(t.Services))
	copy(svcs, t.Services)
	if !f.NoSort {
		msort(svcs, cmpServices)
	}
	p.title(w, f)
	for i := range svcs {
		p.service(w, &svcs[i], f)
	}
}

// title is print_title.
func (p Printer) title(w *bufio.Writer, f format) {
	const head = "Prot LocalAddress:Port"
	switch {
	case f.Stats:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", head, "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case f.Rate:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", head, "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case f.Thresholds:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n", head, "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case f.PersistentConn:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n", head, "Weight", "PersistConn", "ActiveConn", "InActConn")
	case f.TunInfo:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	case !f.rule:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

// service is print_service_entry: the service line and its reals.
func (p Printer) service(w *bufio.Writer, s *ServiceView, f format) {
	proto := lb.Protocol(kernelProto(s))
	var name string
	switch {
	case s.IsFWMark() && f.rule:
		name = fmt.Sprintf("-f %d", int32(s.FWMark))
		if is6(s.Addr) {
			name += " -6"
		}
	case s.IsFWMark():
		name = fmt.Sprintf("FWM  %d", int32(s.FWMark))
		if is6(s.Addr) {
			name += " IPv6"
		}
	case f.rule:
		name = serviceOption(s.Protocol) + " " + p.addrPort(s.Addr, s.Port, proto, f)
	default:
		name = fmt.Sprintf("%-4s %s", protocolName(s.Protocol), p.addrPort(s.Addr, s.Port, proto, f))
		if !is6(s.Addr) {
			name = truncate(name, 33)
		}
	}

	switch {
	case f.rule:
		fmt.Fprintf(w, "-A %s -s %s", name, s.Scheduler)
		if s.Flags&lb.Persistent != 0 {
			fmt.Fprintf(w, " -p %d", s.Timeout)
			if m := maskText(s); m != "" {
				fmt.Fprintf(w, " -M %s", m)
			}
		}
		if s.PE != "" {
			fmt.Fprintf(w, " --pe %s", s.PE)
		}
		if s.Flags&lb.OnePacket != 0 {
			w.WriteString(" -o")
		}
		if s.Flags&lb.SchedFlagsMask != 0 {
			fmt.Fprintf(w, " -b %s", schedFlagNames(s))
		}
	case f.Stats:
		fmt.Fprintf(w, "%-33s", name)
		st := s.Stats
		largeNums(w, f.Exact, st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
	case f.Rate:
		fmt.Fprintf(w, "%-33s", name)
		r := s.Rates
		largeNums(w, f.Exact, r.CPS, r.InPPS, r.OutPPS, r.InBPS, r.OutBPS)
	default:
		fmt.Fprintf(w, "%s %s", name, s.Scheduler)
		if s.Flags&lb.SchedFlagsMask != 0 {
			fmt.Fprintf(w, " (%s)", schedFlagNames(s))
		}
		if s.Flags&lb.Persistent != 0 {
			fmt.Fprintf(w, " persistent %d", s.Timeout)
			if m := maskText(s); m != "" {
				fmt.Fprintf(w, " mask %s", m)
			}
			if s.PE != "" {
				fmt.Fprintf(w, " pe %s", s.PE)
			}
		}
		if s.Flags&lb.OnePacket != 0 {
			w.WriteString(" ops")
		}
	}
	w.WriteString("\n")

	reals := make([]RealView, len(s.Reals))
	copy(reals, s.Reals)
	if !f.NoSort {
		msort(reals, cmpReals)
	}
	for i := range reals {
		p.real(w, name, proto, &reals[i], f)
	}
}

// real prints one real server line of print_service_entry.
func (p Printer) real(w *bufio.Writer, svcName string, proto lb.Protocol, r *RealView, f format) {
	dname := p.addrPort(r.Addr, r.Port, proto, f)
	if !f.rule && !is6(r.Addr) {
		dname = truncate(dname, 28)
	}
	switch {
	case f.rule:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d", svcName, dname, forwardOption(r.Forward), r.Weight)
		if r.Forward == lb.Tunnel {
			switch r.TunType {
			case lb.TunGRE:
				fmt.Fprintf(w, " --tun-type gre %s", tunFlagOption(r.TunFlags))
			case lb.TunGUE:
				fmt.Fprintf(w, " --tun-type gue --tun-port %d %s", r.TunPort, tunFlagOption(r.TunFlags))
			case lb.TunIPIP:
				w.WriteString(" --tun-type ipip")
			}
		}
		w.WriteString("\n")
	case f.Stats:
		fmt.Fprintf(w, "  -> %-28s", dname)
		st := r.Stats
		largeNums(w, f.Exact, st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes)
		w.WriteString("\n")
	case f.Rate:
		fmt.Fprintf(w, "  -> %-28s %8d %8d %8d", dname, r.Rates.CPS, r.Rates.InPPS, r.Rates.OutPPS)
		largeNums(w, f.Exact, r.Rates.InBPS, r.Rates.OutBPS)
		w.WriteString("\n")
	case f.Thresholds:
		fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %-10d\n", dname, r.UThreshold, r.LThreshold, r.ActiveConn, r.InActConn)
	case f.PersistentConn:
		fmt.Fprintf(w, "  -> %-28s %-9d %-11d %-10d %-10d\n", dname, r.Weight, r.PersistConn, r.ActiveConn, r.InActConn)
	case f.TunInfo:
		fmt.Fprintf(w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", dname, forwardName(r.Forward), tunInfo(&r.Real), r.Weight, r.ActiveConn, r.InActConn)
	default:
		fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dname, forwardName(r.Forward), r.Weight, r.ActiveConn, r.InActConn)
	}
}

// largeNums is print_largenum for each value: with --exact the exact number right-aligned
// in 9 columns (or one more than its length); else scaled by K, M, G or T (powers of 1000)
// from 100 million on, in 8 columns plus the letter.
func largeNums(w *bufio.Writer, exact bool, vals ...uint64) {
	for _, v := range vals {
		if exact {
			s := strconv.FormatUint(v, 10)
			width := 9
			if len(s) > 8 {
				width = len(s) + 1
			}
			fmt.Fprintf(w, "%*s", width, s)
			continue
		}
		switch {
		case v < 100000000:
			fmt.Fprintf(w, "%9d", v)
		case v < 1000000000:
			fmt.Fprintf(w, "%8dK", v/1000)
		case v < 100000000000:
			fmt.Fprintf(w, "%8dM", v/1000000)
		case v < 100000000000000:
			fmt.Fprintf(w, "%8dG", v/1000000000)
		default:
			fmt.Fprintf(w, "%8dT", v/1000000000000)
		}
	}
}

// maskText is the persistence mask ipvsadm shows (" mask X", " -M X"), "" for the default
// (/32 for IPv4, 128 for IPv6).
func maskText(s *ServiceView) string {
	if is6(s.Addr) {
		if s.Netmask != 128 {
			return strconv.FormatInt(int64(int32(s.Netmask)), 10)
		}
		return ""
	}
	if s.Netmask == defaultNetmask {
		return ""
	}
	m := s.Netmask
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// schedFlagNames is print_sched_flags: sh and mh name their flags, other schedulers get
// flag-1..flag-3; an sh or mh service's third flag is not shown.
func schedFlagNames(s *ServiceView) string {
	var names []string
	switch s.Scheduler {
	case "sh", "mh":
		if s.Flags&lb.Sched1 != 0 {
			names = append(names, s.Scheduler+"-fallback")
		}
		if s.Flags&lb.Sched2 != 0 {
			names = append(names, s.Scheduler+"-port")
		}
	default:
		for i, fl := range []lb.SvcFlags{lb.Sched1, lb.Sched2, lb.Sched3} {
			if s.Flags&fl != 0 {
				names = append(names, fmt.Sprintf("flag-%d", i+1))
			}
		}
	}
	return strings.Join(names, ",")
}

// protocolName is ipvsadm's protocol_name.
func protocolName(p lb.Protocol) string {
	switch p {
	case lb.TCP:
		return "TCP"
	case lb.UDP:
		return "UDP"
	case lb.SCTP:
		return "SCTP"
	}
	return "?"
}

// serviceOption is option_from_protocol, for -S.
func serviceOption(p lb.Protocol) string {
	switch p {
	case lb.TCP:
		return "-t"
	case lb.UDP:
		return "-u"
	case lb.SCTP:
		return "--sctp-service"
	}
	return "--xxx-service"
}

// forwardName is fwd_name. A method ipvsadm does not know prints as lb names it (ipvsadm
// would print "(null)").
func forwardName(f lb.Forward) string { return f.String() }

// forwardOption is fwd_switch, for -S: Local saves as -g. A method ipvsadm does not know
// saves as "(null)", which is what its printf of a NULL string gives.
func forwardOption(f lb.Forward) string {
	switch f {
	case lb.Masq:
		return "-m"
	case lb.Tunnel:
		return "-i"
	case lb.Local, lb.Route:
		return "-g"
	}
	return "(null)"
}

// tunFlagOption is tun_flags_opts[flags].
func tunFlagOption(fl lb.TunFlags) string {
	switch fl {
	case lb.TunCsum:
		return "--tun-csum"
	case lb.TunRemCsum:
		return "--tun-remcsum"
	}
	return "--tun-nocsum"
}

// tunInfo is fwd_tun_info for --tun-info: "ipip", "gue:PORT:FLAGS", "gre:FLAGS", or "n/a"
// for a real that does not tunnel.
func tunInfo(r *lb.Real) string {
	if r.Forward != lb.Tunnel {
		return "n/a"
	}
	flags := map[lb.TunFlags]string{lb.TunNoCsum: "-c", lb.TunCsum: "+c", lb.TunRemCsum: "r+c"}[r.TunFlags]
	switch r.TunType {
	case lb.TunIPIP:
		return "ipip"
	case lb.TunGUE:
		return fmt.Sprintf("gue:%d:%s", r.TunPort, flags)
	case lb.TunGRE:
		return "gre:" + flags
	}
	return "n/a"
}
