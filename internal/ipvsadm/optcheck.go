package ipvsadm

import "fmt"

// optBit is one of the options ipvsadm counts (its OPTC_* numbers); each may be given once.
type optBit uint

const (
	cNumeric optBit = iota
	cConnection
	cService
	cScheduler
	cPersistent
	cNetmask
	cServer
	cForward
	cWeight
	cUThreshold
	cLThreshold
	cMCast
	cTimeout
	cDaemon
	cStats
	cRate
	cThresholds
	cPersistentConn
	cNoSort
	cSyncID
	cExact
	cOnePacket
	cPE
	cSchedFlags
	cMCastGroup
	cMCastPort
	cMCastTTL
	cSyncMaxLen
	cTunInfo
	cTunType
	cTunPort
	cTunNoCsum
	cTunCsum
	cTunRemCsum
	numOptBits
)

// name is the option's name in ipvsadm's messages (optnames[]).
func (b optBit) name() string {
	return [...]string{
		"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
		"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
		"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds",
		"persistent-conn", "nosort", "syncid", "exact", "ops", "pe", "sched-flags",
		"mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
		"tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
	}[b]
}

// optSet is a set of optBits.
type optSet uint64

func (s optSet) has(b optBit) bool { return s&(1<<b) != 0 }

// commandOptions is ipvsadm 1.31's commands_v_options table: for each command (in Kind
// order, AddService first), one character per optBit: '+' required, 'x' illegal, '1' at most
// one of the '1' options, ' ' optional.
func commandOptions(k Kind) string {
	//                  -n -c svc -s -p -M -r fwd -w -x -y mc to dm st rt th pc ns sid ex ops pe -b grp prt ttl len tinf ttyp tprt nocs csum remc
	switch k {
	case AddService, EditService:
		return "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"
	case DeleteService:
		return "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	case Flush, SetTimeout, Restore:
		return "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	case List:
		return " 11xxxxxxxxx11       xxxxxxx xxxxx"
	case AddServer, EditServer:
		return "xx+xxx+    xxxxxxxxxxxxxxxxxx     "
	case DeleteServer:
		return "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"
	case StartDaemon:
		return "xxxxxxxxxxx xxxxxxx xxxx    xxxxxx"
	case StopDaemon:
		return "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx"
	case Save:
		return " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	case Zero:
		return "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	}
	return ""
}

// checkOptions is generic_opt_check: the first offending option in optBit order decides the
// message.
func checkOptions(k Kind, given optSet) *Error {
	row := commandOptions(k)
	count, last := 0, optBit(0)
	for b := optBit(0); b < numOptBits; b++ {
		rule := row[b]
		if !given.has(b) {
			if rule == '+' {
				return fail(fmt.Sprintf("You need to supply the '%s' option for the '%s' command", b.name(), k.cmdName()))
			}
			continue
		}
		switch rule {
		case 'x':
			return fail(fmt.Sprintf("Illegal '%s' option with the '%s' command", b.name(), k.cmdName()))
		case '1':
			count++
			if count == 1 {
				last = b
				continue
			}
			return fail(fmt.Sprintf("The option '%s' conflicts with the '%s' option in the '%s' command", b.name(), last.name(), k.cmdName()))
		}
	}
	return nil
}

// tunnelOptions is ipvsadm's tunnel_types_v_options for tun-port, tun-nocsum, tun-csum,
// tun-remcsum, per tunnel type (ipip, gue, gre).
func tunnelOptions(t uint8) string {
	switch t {
	case 1: // gue
		return "+111"
	case 2: // gre
		return "x11x"
	}
	return "xxxx" // ipip
}

// checkTunnelOptions is tunnel_opt_check.
func checkTunnelOptions(tunType uint8, given optSet) *Error {
	names := [...]string{"ipip", "gue", "gre"}
	bits := [...]optBit{cTunPort, cTunNoCsum, cTunCsum, cTunRemCsum}
	row := tunnelOptions(tunType)
	count, last := 0, optBit(0)
	for j, b := range bits {
		rule := row[j]
		if !given.has(b) {
			if rule == '+' {
				return fail(fmt.Sprintf("You need to supply the '%s' option for the '%s' tunnel type", b.name(), names[tunType]))
			}
			continue
		}
		switch rule {
		case 'x':
			return fail(fmt.Sprintf("Illegal '%s' option with the '%s' tunnel type", b.name(), names[tunType]))
		case '1':
			count++
			if count == 1 {
				last = b
				continue
			}
			return fail(fmt.Sprintf("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", b.name(), last.name(), names[tunType]))
		}
	}
	return nil
}
