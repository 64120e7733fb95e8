package ipvsadm

import (
	"fmt"
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// Limits and defaults of ipvsadm 1.31 (ipvsadm.c, libipvs/libipvs.h).
const (
	maxTimeout     = 86400 * 31 // MAX_TIMEOUT
	maxWeight      = 1<<31 - 1  // Debian's patch: INT_MAX (upstream 1.31: 65535)
	maxThreshold   = 1<<31 - 1  // INT_MAX (the man page says 65535)
	defMCastIfn    = "eth0"     // DEF_MCAST_IFN
	schedNameMax   = 15         // IP_VS_SCHEDNAME_MAXLEN - 1
	peNameMax      = 15         // the kernel takes at most IP_VS_PENAME_MAXLEN - 1
	ifNameMax      = 15         // IP_VS_IFNAME_MAXLEN - 1
	schedFlagsMax  = 127        // sched_flags_arg[128]
	defaultNetmask = 0xffffffff
)

// Parser parses ipvsadm command lines. Its zero value resolves no names (only numeric
// addresses and ports parse); Parse uses the system's resolver.
type Parser struct {
	// Prog is the program name in "Try `PROG -h'..." (ipvsadm uses its argv[0]); default
	// "ipvsadm".
	Prog string
	// Resolver resolves host and port names in -t, -u, --sctp-service, -r and -M; nil
	// resolves none.
	Resolver Resolver
}

// Parse parses args (without the program name) with the system resolver, as ipvsadm
// does. See Parser.Parse.
func Parse(args []string) (*Command, error) {
	return Parser{Resolver: &SystemResolver{}}.Parse(args)
}

// Parse parses args (without the program name) as ipvsadm 1.31 does (parse_options and the
// checks of process_options). It returns the Command, or an *Error with ipvsadm's exact
// message and exit status; it never returns both, and never another error type. No
// arguments at all is List, as ipvsadm lists the table then.
func (p Parser) Parse(args []string) (*Command, error) {
	cmd, err := p.parse(args)
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

func (p Parser) prog() string {
	if p.Prog == "" {
		return "ipvsadm"
	}
	return p.Prog
}

// TryHelp is ipvsadm's tryhelp_exit message for program prog (exit status 255).
func TryHelp(prog string) string {
	return fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", prog, prog)
}

// state is the command entry being built (ipvsadm's struct ipvs_command_entry).
type state struct {
	p          Parser
	cmd        Command
	given      optSet
	svcProto   lb.Protocol // the protocol ipvsadm sets: TCP also for -f
	svcIs6     bool
	svcPort    uint16
	realIs6    bool
	schedFlags string
}

func (p Parser) parse(args []string) (*Command, *Error) {
	if len(args) == 0 {
		return &Command{Kind: List}, nil
	}
	if p.Resolver == nil {
		p.Resolver = StaticResolver{}
	}
	st := &state{p: p}
	st.cmd.Real = lb.Real{Forward: lb.Route, Weight: lb.DefaultWeight}
	st.cmd.Service.Netmask = defaultNetmask

	argv := append([]string{p.prog()}, args...)
	po := newPopt(argv)
	tryhelp := &Error{Msg: TryHelp(p.prog()), Status: 255, Fatal: true}

	// The first option must be a command.
	o, code := po.getNext()
	if code < 0 {
		return nil, tryhelp
	}
	if e := st.command(o); e != nil {
		return nil, e
	}
	if st.cmd.Kind == Help || st.cmd.Kind == Version {
		return &st.cmd, nil
	}
	if st.cmd.Kind == 0 {
		return nil, tryhelp
	}

	for {
		o, code = po.getNext()
		if code < 0 {
			break
		}
		if e := st.option(o, po); e != nil {
			return nil, e
		}
	}
	if code < poptDone {
		return nil, &Error{Msg: po.badOption() + ": " + poptStrerror(code), Status: 255}
	}

	if st.cmd.Kind == SetTimeout {
		a, ok1 := po.getArg()
		b, ok2 := po.getArg()
		c, ok3 := po.getArg()
		if !ok1 || !ok2 || !ok3 {
			return nil, fail("--set option requires 3 timeout values")
		}
		var vals [3]uint32
		for i, s := range []string{a, b, c} {
			v, e := parseTimeout(s, true, 0, maxTimeout)
			if e != nil {
				return nil, e
			}
			vals[i] = v
		}
		st.cmd.Timeouts = lb.Timeouts{TCP: vals[0], TCPFin: vals[1], UDP: vals[2]}
	}
	if a, ok := po.getArg(); ok {
		return nil, fail("unexpected argument " + a)
	}
	if st.schedFlags != "" {
		flags, e := parseSchedFlags(st.cmd.Service.Scheduler, st.schedFlags)
		if e != nil {
			return nil, e
		}
		st.cmd.Service.Flags = st.cmd.Service.Flags&^lb.SchedFlagsMask | flags
	}
	if e := checkOptions(st.cmd.Kind, st.given); e != nil {
		return nil, e
	}
	if e := st.finish(); e != nil {
		return nil, e
	}
	return &st.cmd, nil
}

// command handles the first option, which must name a command.
func (st *state) command(o option) *Error {
	kinds := map[optID]Kind{
		oAddService: AddService, oEditService: EditService, oDeleteService: DeleteService,
		oAddServer: AddServer, oEditServer: EditServer, oDeleteServer: DeleteServer,
		oClear: Flush, oList: List, oZero: Zero, oSet: SetTimeout, oRestore: Restore,
		oSave: Save, oStartDaemon: StartDaemon, oStopDaemon: StopDaemon, oHelp: Help,
		oVersion: Version,
	}
	st.cmd.Kind = kinds[o.id]
	switch o.id {
	case oStartDaemon, oStopDaemon:
		switch o.arg {
		case "master":
			st.cmd.Daemon.State = DaemonMaster
		case "backup":
			st.cmd.Daemon.State = DaemonBackup
		default:
			if o.id == oStartDaemon {
				return fail("illegal start-daemon parameter specified")
			}
			return fail("illegal start_daemon specified")
		}
	}
	return nil
}

// set records option b, refusing a second one ("multiple '%s' options specified").
func (st *state) set(b optBit) *Error {
	if st.given.has(b) {
		return fail(fmt.Sprintf("multiple '%s' options specified", b.name()))
	}
	st.given |= 1 << b
	return nil
}

// option handles one option after the command, in argv order, as parse_options does.
func (st *state) option(o option, po *popt) *Error {
	if b, ok := optionBit(o.id); ok {
		if e := st.set(b); e != nil {
			return e
		}
	}
	svc, rl, ls, dm := &st.cmd.Service, &st.cmd.Real, &st.cmd.List, &st.cmd.Daemon
	switch o.id {
	case oTCP, oUDP, oSCTP:
		st.svcProto = map[optID]lb.Protocol{oTCP: lb.TCP, oUDP: lb.UDP, oSCTP: lb.SCTP}[o.id]
		hp, ok := parseService(o.arg, st.svcProto, st.p.Resolver)
		if !ok {
			return fail("illegal virtual server address[:port] specified")
		}
		st.cmd.HasService = true
		svc.Protocol, svc.Addr = st.svcProto, hp.addr
		if hp.hasPort {
			st.svcPort = hp.port
		}
		svc.Port = st.svcPort
		if hp.addr.Is6() {
			st.svcIs6, svc.Netmask = true, 128
		} else {
			st.svcIs6 = false
		}
	case oFWMark:
		mark, ok := parseFWMark(o.arg)
		if !ok {
			return fail(fmt.Sprintf("invalid fwmark value `%s' specified", o.arg))
		}
		st.cmd.HasService = true
		st.svcProto, st.svcIs6 = lb.TCP, false
		svc.ServiceKey = lb.FWMarkKey(mark, false)
	case oScheduler:
		svc.Scheduler = truncate(o.arg, schedNameMax)
	case oPersistent:
		svc.Flags |= lb.Persistent
		v, e := parseTimeout(o.arg, o.hasArg, 1, maxTimeout)
		if e != nil {
			return e
		}
		svc.Timeout = v
	case oNetmask:
		if !st.svcIs6 {
			m, ok := parseNetmask(o.arg, st.p.Resolver)
			if !ok {
				return fail("illegal virtual server persistent mask specified")
			}
			svc.Netmask = m
		} else {
			svc.Netmask = uint32(atoi(o.arg))
			if svc.Netmask < 1 || svc.Netmask > 128 {
				return fail("illegal ipv6 netmask specified")
			}
		}
	case oRealServer:
		hp, ok := parseService(o.arg, st.svcProto, st.p.Resolver)
		if !ok {
			return fail("illegal real server address[:port] specified")
		}
		rl.Addr, st.realIs6 = hp.addr, hp.addr.Is6()
		rl.Port = st.svcPort
		if hp.hasPort {
			rl.Port = hp.port
		}
	case oIPIP:
		rl.Forward = lb.Tunnel
	case oGatewaying:
		rl.Forward = lb.Route
	case oMasq:
		rl.Forward = lb.Masq
	case oWeight:
		n, ok := stringToNumber(o.arg, 0, maxWeight)
		if !ok {
			return fail("illegal weight specified")
		}
		rl.Weight = int32(n)
	case oUThreshold:
		n, ok := stringToNumber(o.arg, 0, maxThreshold)
		if !ok {
			return fail("illegal u_threshold specified")
		}
		rl.UThreshold = uint32(n)
	case oLThreshold:
		n, ok := stringToNumber(o.arg, 0, maxThreshold)
		if !ok {
			return fail("illegal l_threshold specified")
		}
		rl.LThreshold = uint32(n)
	case oConnection:
		ls.Connections = true
	case oNumeric:
		ls.Numeric = true
	case oMCastInterface:
		dm.MCastIfn = truncate(o.arg, ifNameMax)
	case oSyncID:
		n, ok := stringToNumber(o.arg, 0, 255)
		if !ok {
			return fail("illegal syncid specified")
		}
		dm.SyncID = uint8(n)
	case oTimeout:
		ls.Timeout = true
	case oDaemon:
		ls.Daemon = true
	case oStats:
		ls.Stats = true
	case oRate:
		ls.Rate = true
	case oThresholds:
		ls.Thresholds = true
	case oPersistentConn:
		ls.PersistentConn = true
	case oNoSort:
		ls.NoSort = true
	case oSort:
		// the default; accepted for compatibility
	case oExact:
		ls.Exact = true
	case oIPv6:
		if !svc.IsFWMark() {
			return fail("-6 used before -f\n")
		}
		st.svcIs6 = true
		svc.Addr, svc.Netmask = netip.IPv6Unspecified(), 128
	case oOps:
		svc.Flags |= lb.OnePacket
	case oPE:
		svc.PE = truncate(o.arg, peNameMax)
	case oSchedFlags:
		st.schedFlags = truncate(o.arg, schedFlagsMax)
	case oMCastGroup:
		return st.mcastGroup(o.arg)
	case oMCastPort:
		n, ok := stringToNumber(o.arg, 1, 65535)
		if !ok {
			return fail("illegal mcast-port specified")
		}
		dm.MCastPort = uint16(n)
	case oMCastTTL:
		n, ok := stringToNumber(o.arg, 1, 255)
		if !ok {
			return fail("illegal mcast-ttl specified")
		}
		dm.MCastTTL = uint8(n)
	case oSyncMaxLen:
		n, ok := stringToNumber(o.arg, 1, 65535-20-8)
		if !ok {
			return fail("illegal sync-maxlen specified")
		}
		dm.SyncMaxLen = uint16(n)
	case oTunInfo:
		ls.TunInfo = true
	case oTunType:
		t, ok := map[string]lb.TunType{"ipip": lb.TunIPIP, "gue": lb.TunGUE, "gre": lb.TunGRE}[o.arg]
		if !ok {
			return fail("illegal tunnel type specified")
		}
		rl.TunType = t
	case oTunPort:
		n, ok := stringToNumber(o.arg, 1, 65535)
		if !ok {
			return fail("illegal tunnel port specified")
		}
		rl.TunPort = uint16(n)
	case oTunNoCsum:
		rl.TunFlags |= lb.TunNoCsum
	case oTunCsum:
		rl.TunFlags |= lb.TunCsum
	case oTunRemCsum:
		rl.TunFlags |= lb.TunRemCsum
	default:
		// A second command, -h, -v: ipvsadm names the last word popt read.
		return fail(fmt.Sprintf("invalid option `%s'", po.badOption()))
	}
	return nil
}

// optionBit maps an option to the optBit ipvsadm's set_option records for it.
func optionBit(id optID) (optBit, bool) {
	b, ok := map[optID]optBit{
		oTCP: cService, oUDP: cService, oSCTP: cService, oFWMark: cService,
		oScheduler: cScheduler, oPersistent: cPersistent, oNetmask: cNetmask,
		oRealServer: cServer, oIPIP: cForward, oGatewaying: cForward, oMasq: cForward,
		oWeight: cWeight, oUThreshold: cUThreshold, oLThreshold: cLThreshold,
		oConnection: cConnection, oNumeric: cNumeric, oMCastInterface: cMCast,
		oSyncID: cSyncID, oTimeout: cTimeout, oDaemon: cDaemon, oStats: cStats,
		oRate: cRate, oThresholds: cThresholds, oPersistentConn: cPersistentConn,
		oNoSort: cNoSort, oExact: cExact, oOps: cOnePacket, oPE: cPE,
		oSchedFlags: cSchedFlags, oMCastGroup: cMCastGroup, oMCastPort: cMCastPort,
		oMCastTTL: cMCastTTL, oSyncMaxLen: cSyncMaxLen, oTunInfo: cTunInfo,
		oTunType: cTunType, oTunPort: cTunPort, oTunNoCsum: cTunNoCsum,
		oTunCsum: cTunCsum, oTunRemCsum: cTunRemCsum,
	}[id]
	return b, ok
}

// finish applies process_options' checks and defaults after the option table check.
func (st *state) finish() *Error {
	svc, rl := &st.cmd.Service, &st.cmd.Real
	switch st.cmd.Kind {
	case AddService, EditService:
		if !svc.IsFWMark() && svc.Port == 0 && svc.Flags&lb.Persistent == 0 {
			return fail("Zero port specified for non-persistent service")
		}
		if svc.Flags&lb.OnePacket != 0 && !svc.IsFWMark() && svc.Protocol != lb.UDP {
			return fail("One-Packet Scheduling is only for UDP virtual services")
		}
		if svc.Scheduler == "" {
			svc.Scheduler = lb.DefaultScheduler
		}
	case StartDaemon:
		if st.cmd.Daemon.MCastIfn == "" {
			st.cmd.Daemon.MCastIfn = defMCastIfn
		}
	case AddServer, EditServer:
		if !svc.IsFWMark() && (rl.Forward == lb.Tunnel || rl.Forward == lb.Route) {
			rl.Port = svc.Port
		}
		if st.realIs6 != st.svcIs6 && rl.Forward != lb.Tunnel {
			return fail("Different address family is allowed only for tunneling servers")
		}
		tun := st.given & (1<<cTunType | 1<<cTunPort | 1<<cTunNoCsum | 1<<cTunCsum | 1<<cTunRemCsum)
		if tun != 0 && rl.Forward != lb.Tunnel {
			return fail("Tunnel options conflict with forward method")
		}
		if e := checkTunnelOptions(uint8(rl.TunType), st.given); e != nil {
			return e
		}
	case List:
		g := st.given
		if (g&(1<<cConnection|1<<cTimeout|1<<cDaemon) != 0 && g&(1<<cStats|1<<cRate|1<<cThresholds) != 0) ||
			(g&(1<<cTimeout|1<<cDaemon) != 0 && g.has(cPersistentConn)) {
			return fail("options conflicts in the list command")
		}
	}
	if !st.cmd.HasService {
		// No service named: the key stays zero (ipvsadm's zeroed struct).
		svc.ServiceKey = lb.ServiceKey{}
	}
	return nil
}
