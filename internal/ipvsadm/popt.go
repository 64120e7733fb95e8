package ipvsadm

import "strings"

// This file emulates the part of popt 1.19 (popt.c: poptGetNextOpt, findOption,
// expandNextArg, findNextArg, poptBadOption, poptStrerror) that ipvsadm's option table
// exercises. What popt accepts, checked against its source:
//   - long options only by their full name, "--name" or "--name=value"; no abbreviations, and
//     no single-dash long options (none of ipvsadm's options has POPT_ARGFLAG_ONEDASH);
//   - short options clustered ("-Ln"); a short option that takes an argument takes the rest
//     of the word ("-p600", with one leading '=' dropped: "-p=600") or else the next word,
//     whatever it looks like ("-w -1" gives -w the argument "-1");
//   - an optional argument (-p) is taken from the next word only when that word does not
//     start with '-' ("-p -5" leaves "-5" to be parsed as an option);
//   - words not starting with '-', and "-" itself, are left over for poptGetArg; "--" makes
//     every later word a leftover;
//   - "!#:+" inside an argument is replaced by the next leftover word, which is then skipped.

// argKind is how an option takes an argument.
type argKind uint8

const (
	argNone     argKind = iota // POPT_ARG_NONE
	argRequired                // POPT_ARG_STRING
	argOptional                // POPT_ARG_STRING|POPT_ARGFLAG_OPTIONAL
)

// optID identifies an option of ipvsadm's table.
type optID int

const (
	oAddService optID = iota + 1
	oEditService
	oDeleteService
	oClear
	oList
	oZero
	oAddServer
	oEditServer
	oDeleteServer
	oSet
	oHelp
	oVersion
	oRestore
	oSave
	oStartDaemon
	oStopDaemon
	oTCP
	oUDP
	oSCTP
	oFWMark
	oScheduler
	oPersistent
	oNetmask
	oRealServer
	oMasq
	oIPIP
	oGatewaying
	oWeight
	oUThreshold
	oLThreshold
	oNumeric
	oConnection
	oMCastInterface
	oSyncID
	oTimeout
	oDaemon
	oStats
	oRate
	oThresholds
	oPersistentConn
	oNoSort
	oSort
	oExact
	oIPv6
	oOps
	oPE
	oSchedFlags
	oMCastGroup
	oMCastPort
	oMCastTTL
	oSyncMaxLen
	oTunInfo
	oTunType
	oTunPort
	oTunNoCsum
	oTunCsum
	oTunRemCsum
)

type optSpec struct {
	long  string
	short byte
	arg   argKind
	id    optID
}

// optionTable is ipvsadm 1.31's popt table (parse_options), in its order: popt takes the
// first entry that matches, so "--list" is -L, not -l.
func optionTable() []optSpec {
	return []optSpec{
		{"add-service", 'A', argNone, oAddService},
		{"edit-service", 'E', argNone, oEditService},
		{"delete-service", 'D', argNone, oDeleteService},
		{"clear", 'C', argNone, oClear},
		{"list", 'L', argNone, oList},
		{"list", 'l', argNone, oList},
		{"zero", 'Z', argNone, oZero},
		{"add-server", 'a', argNone, oAddServer},
		{"edit-server", 'e', argNone, oEditServer},
		{"delete-server", 'd', argNone, oDeleteServer},
		{"set", 0, argNone, oSet},
		{"help", 'h', argNone, oHelp},
		{"version", 'v', argNone, oVersion},
		{"restore", 'R', argNone, oRestore},
		{"save", 'S', argNone, oSave},
		{"start-daemon", 0, argRequired, oStartDaemon},
		{"stop-daemon", 0, argRequired, oStopDaemon},
		{"tcp-service", 't', argRequired, oTCP},
		{"udp-service", 'u', argRequired, oUDP},
		{"sctp-service", 0, argRequired, oSCTP},
		{"fwmark-service", 'f', argRequired, oFWMark},
		{"scheduler", 's', argRequired, oScheduler},
		{"persistent", 'p', argOptional, oPersistent},
		{"netmask", 'M', argRequired, oNetmask},
		{"real-server", 'r', argRequired, oRealServer},
		{"masquerading", 'm', argNone, oMasq},
		{"ipip", 'i', argNone, oIPIP},
		{"gatewaying", 'g', argNone, oGatewaying},
		{"weight", 'w', argRequired, oWeight},
		{"u-threshold", 'x', argRequired, oUThreshold},
		{"l-threshold", 'y', argRequired, oLThreshold},
		{"numeric", 'n', argNone, oNumeric},
		{"connection", 'c', argNone, oConnection},
		{"mcast-interface", 0, argRequired, oMCastInterface},
		{"syncid", 0, argRequired, oSyncID},
		{"timeout", 0, argNone, oTimeout},
		{"daemon", 0, argNone, oDaemon},
		{"stats", 0, argNone, oStats},
		{"rate", 0, argNone, oRate},
		{"thresholds", 0, argNone, oThresholds},
		{"persistent-conn", 0, argNone, oPersistentConn},
		{"nosort", 0, argNone, oNoSort},
		{"sort", 0, argNone, oSort},
		// ipvsadm gives --exact the short name 'X' (its tag), which -h does not mention.
		{"exact", 'X', argNone, oExact},
		{"ipv6", '6', argNone, oIPv6},
		{"ops", 'o', argNone, oOps},
		{"pe", 0, argRequired, oPE},
		{"sched-flags", 'b', argRequired, oSchedFlags},
		{"mcast-group", 0, argRequired, oMCastGroup},
		{"mcast-port", 0, argRequired, oMCastPort},
		{"mcast-ttl", 0, argRequired, oMCastTTL},
		{"sync-maxlen", 0, argRequired, oSyncMaxLen},
		{"tun-info", 0, argNone, oTunInfo},
		{"tun-type", 0, argRequired, oTunType},
		{"tun-port", 0, argRequired, oTunPort},
		{"tun-nocsum", 0, argNone, oTunNoCsum},
		{"tun-csum", 0, argNone, oTunCsum},
		{"tun-remcsum", 0, argNone, oTunRemCsum},
	}
}

// popt error codes (popt.h) that ipvsadm's table can produce.
const (
	poptDone        = -1
	poptNoArg       = -10
	poptBadOpt      = -11
	poptUnwantedArg = -12
)

func poptStrerror(code int) string {
	switch code {
	case poptNoArg:
		return "missing argument"
	case poptBadOpt:
		return "unknown option"
	case poptUnwantedArg:
		return "option does not take an argument"
	}
	return "unknown error"
}

// popt is the state of one popt context over argv (argv[0] is the program name).
type popt struct {
	table     []optSpec
	argv      []string
	next      int
	charArg   string // the rest of a short-option cluster
	inCluster bool
	rest      bool         // after "--": everything is a leftover
	skipped   map[int]bool // words consumed by "!#:+"
	leftovers []string
	nextLeft  int
}

func newPopt(argv []string) *popt {
	return &popt{table: optionTable(), argv: argv, next: 1}
}

// option is one option found by getNext, with its argument (hasArg false: none, or an
// optional argument that was absent).
type option struct {
	id     optID
	arg    string
	hasArg bool
}

// getNext returns the next option, or poptDone, or a popt error code (poptGetNextOpt).
func (p *popt) getNext() (option, int) {
	for {
		if !p.inCluster && p.next == len(p.argv) {
			return option{}, poptDone
		}
		var spec *optSpec
		longArg, hasLongArg := "", false
		if !p.inCluster {
			if p.skipped[p.next] {
				p.next++
				continue
			}
			word := p.argv[p.next]
			p.next++
			if p.rest || !strings.HasPrefix(word, "-") || word == "-" {
				p.leftovers = append(p.leftovers, word)
				continue
			}
			if word == "--" {
				p.rest = true
				continue
			}
			if strings.HasPrefix(word, "--") {
				name := word[2:]
				if i := strings.IndexByte(name, '='); i >= 0 {
					name, longArg, hasLongArg = name[:i], name[i+1:], true
				}
				spec = p.findLong(name)
				if spec == nil {
					return option{}, poptBadOpt
				}
			} else {
				// A single dash: popt tries a long option first, but only those flagged
				// ONEDASH, which ipvsadm has none of; so it is a short-option cluster.
				p.charArg, p.inCluster = word[1:], true
			}
		}
		if p.inCluster {
			c := p.charArg[0]
			p.charArg = p.charArg[1:]
			p.inCluster = p.charArg != ""
			spec = p.findShort(c)
			if spec == nil {
				return option{}, poptBadOpt
			}
		}
		if spec.arg == argNone {
			if hasLongArg || (p.inCluster && p.charArg[0] == '=') {
				return option{}, poptUnwantedArg
			}
			return option{id: spec.id}, 0
		}
		opt := option{id: spec.id}
		switch {
		case hasLongArg:
			opt.arg, opt.hasArg = longArg, true
		case p.inCluster:
			opt.arg, opt.hasArg = strings.TrimPrefix(p.charArg, "="), true
			p.charArg, p.inCluster = "", false
		case p.next == len(p.argv):
			if spec.arg != argOptional {
				return option{}, poptNoArg
			}
		case spec.arg == argOptional && strings.HasPrefix(p.argv[p.next], "-"):
			// no argument
		default:
			opt.arg, opt.hasArg = p.argv[p.next], true
			p.next++
		}
		if opt.hasArg {
			opt.arg = p.expand(opt.arg)
		}
		return opt, 0
	}
}

func (p *popt) findLong(name string) *optSpec {
	for i := range p.table {
		if p.table[i].long == name {
			return &p.table[i]
		}
	}
	return nil
}

func (p *popt) findShort(c byte) *optSpec {
	for i := range p.table {
		if p.table[i].short != 0 && p.table[i].short == c {
			return &p.table[i]
		}
	}
	return nil
}

// expand replaces "!#:+" in an argument by the next word that is not an option, which popt
// then skips (expandNextArg, findNextArg). When there is none, the text stays as it is: real
// popt does that at the end of argv, and loops forever when only options follow.
func (p *popt) expand(s string) string {
	const marker = "!#:+"
	if !strings.Contains(s, marker) {
		return s
	}
	next, found := "", false
	for i := p.next; i < len(p.argv); i++ {
		if p.skipped[i] || strings.HasPrefix(p.argv[i], "-") {
			continue
		}
		if p.skipped == nil {
			p.skipped = map[int]bool{}
		}
		p.skipped[i] = true
		next, found = p.argv[i], true
		break
	}
	if !found {
		return s
	}
	return strings.ReplaceAll(s, marker, next)
}

// badOption is poptBadOption(POPT_BADOPTION_NOALIAS): the last word popt consumed.
func (p *popt) badOption() string { return p.argv[p.next-1] }

// getArg returns the next leftover word (poptGetArg).
func (p *popt) getArg() (string, bool) {
	if p.nextLeft < len(p.leftovers) {
		p.nextLeft++
		return p.leftovers[p.nextLeft-1], true
	}
	return "", false
}
