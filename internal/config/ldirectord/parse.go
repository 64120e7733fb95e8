package ldirectord

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// Options tune Parse. The zero value resolves no host names, knows the service names of a
// built-in table (the usual LVS ports of Debian's /etc/services), and takes the director's
// host name from os.Hostname.
type Options struct {
	// LookupHost resolves a host name to one address of the family asked (v6: IPv6), where
	// ldirectord calls getaddrinfo. nil: only numeric addresses are taken, and a name is
	// an error worded like ldirectord's ("could not resolve host").
	LookupHost func(name string, v6 bool) (netip.Addr, error)
	// LookupPort resolves a service name for proto ("tcp", "udp", or "" for any), where
	// ldirectord calls getservbyname. nil: the built-in table.
	LookupPort func(name, proto string) (uint16, error)
	// Hostname is this director's name where ldirectord uses $HOSTNAME: the default FTP
	// password and SIP login are "ldirectord@" + Hostname. "": os.Hostname().
	Hostname string
}

// Parse reads an ldirectord.cf with the zero Options; see Options.Parse.
func Parse(name string, data []byte) (*config.Config, error) {
	return Options{}.Parse(name, data)
}

// Parse reads data, the contents of the ldirectord.cf called name (used in positions), as
// ldirectord 4.12 reads it, and returns the canonical configuration: one Service per
// virtual section in file order, with its reals, their health checks and the fallback
// server; Global.Callback and Global.AutoReload; and Warnings, in file order, for every
// directive lvsd accepts but ignores or reads differently from what it says.
//
// When the file has errors Parse returns a nil Config and a config.Errors holding every
// error it found, each with its file and line, worded as ldirectord words it where
// ldirectord has words for it. The first error is, in most cases, the one ldirectord itself
// stops at; doc.go lists where they differ. Parse never touches the file system or the
// network, except through Options' lookups and os.Hostname.
func (o Options) Parse(name string, data []byte) (*config.Config, error) {
	p := &parser{opts: o, file: name, lines: splitLines(data), seen: map[string]int{},
		warned: map[config.Diag]bool{}}
	if p.opts.Hostname == "" {
		if h, err := os.Hostname(); err == nil {
			p.opts.Hostname = h
		}
	}
	p.g = globals{checkTimeout: -1, negotiateTimeout: -1, checkInterval: 10, checkCount: 1,
		failureCount: 1, quiescent: "no", fork: "no"}
	p.run()
	cfg := p.build()
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	// Warnings found while building services come after the others: put them in file order.
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].Line < p.warns[j].Line })
	cfg.Warnings = p.warns
	return cfg, nil
}

// splitLines splits data into lines as Perl's readline does ("\n" ends a line; a last line
// without one still counts) and drops the "\n".
func splitLines(data []byte) []string {
	s := string(data)
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// parser holds the state of one Parse.
type parser struct {
	opts   Options
	file   string
	lines  []string
	n      int // number of lines read; the current line's number
	errs   config.Errors
	warns  []config.Diag
	g      globals
	vs     []*virtual
	seen   map[string]int // virtual service (protocol, address, port, mark, family) -> line
	nreals int            // real servers so far
	// warned holds the warnings given, to give each once.
	warned map[config.Diag]bool
}

// globals are the global directives; ldirectord applies their final values to every
// virtual service wherever they are in the file (set_defaults, ld_setup).
type globals struct {
	checkTimeout, negotiateTimeout int // -1: not set
	checkInterval                  int
	checkCount, failureCount       int
	quiescent, fork                string
	autoReload                     bool
	callback                       string
	fallback                       [2]*globalFallback // fallback=, fallback6=
	fallbackCommand                *string
	checkIntervalLine              int
}

// globalFallback is a global fallback server, resolved for each protocol.
type globalFallback struct {
	tcp, udp *fallback
	line     int
}

func (p *parser) errorf(line int, format string, a ...any) {
	p.errs = append(p.errs, config.Diag{Pos: config.Pos{File: p.file, Line: line}, Msg: fmt.Sprintf(format, a...)})
}

// warnf adds a warning, once: a range of real servers would repeat it for every address.
func (p *parser) warnf(line int, format string, a ...any) {
	d := config.Diag{Pos: config.Pos{File: p.file, Line: line}, Msg: fmt.Sprintf(format, a...)}
	if p.warned[d] {
		return
	}
	p.warned[d] = true
	p.warns = append(p.warns, d)
}

// next returns the next line, or false at the end of the file.
func (p *parser) next() (string, bool) {
	if p.n >= len(p.lines) {
		return "", false
	}
	p.n++
	return p.lines[p.n-1], true
}

// perl compiles a pattern written with Perl's \s, which also matches a vertical tab.
func perl(pattern string) *regexp.Regexp {
	pattern = strings.ReplaceAll(pattern, `\s`, `[\t\n\v\f\r ]`)
	pattern = strings.ReplaceAll(pattern, `\S`, `[^\t\n\v\f\r ]`)
	return regexp.MustCompile(pattern)
}

// Line patterns of read_config (/usr/sbin/ldirectord lines 1334-1808).
var (
	reVirtual = perl(`^virtual(6)?\s*=\s*(.*)`)
	reBlank   = perl(`^\s*$`)
	reComment = perl(`^\s*#`)
	reIndent  = regexp.MustCompile(`^ {4,}(.+)`)
	reDigits  = regexp.MustCompile(`[0-9]+`)
)

// run reads the file: global lines, and virtual sections made of the indented lines that
// follow a virtual= line. A section ends at the first line that is neither indented by four
// spaces (a tab counts as four) nor a comment; a blank line ends it too.
func (p *parser) run() {
	line, ok := p.next()
	for ok {
		if m := reVirtual.FindStringSubmatch(line); m != nil {
			line, ok = p.virtualSection(m[1] == "6", m[2])
			continue
		}
		if !reBlank.MatchString(line) && !reComment.MatchString(line) {
			p.global(line)
		}
		line, ok = p.next()
	}
	if p.g.fork == "no" {
		for _, v := range p.vs {
			if v.checkInterval > 0 && v.key != "" {
				// ldirectord warns without a line (read_config, after the loop).
				p.warnf(v.checkIntervalLine, "checkinterval in virtual service %s ignored when fork=no", v.key)
			}
		}
	}
}

// number is how ldirectord reads most numbers: the first run of digits anywhere in the
// value (`$1 =~ /(\d+)/`). ok is false when there is none, when it is zero (ldirectord
// refuses 0 with the same message), or when it is above max.
func (p *parser) number(line int, name, val string, max uint64) (uint64, bool) {
	d := reDigits.FindString(val)
	if d == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(d, 10, 64)
	if err != nil || n == 0 || n > max {
		return 0, false
	}
	p.looseNumber(line, name, val, d)
	return n, true
}

// looseNumber warns when a value has more than the number ldirectord takes from it.
func (p *parser) looseNumber(line int, name, val, d string) {
	if strings.TrimSpace(val) != d {
		p.warnf(line, "%s: ldirectord reads %q as %s", name, val, d)
	}
}

// yesNo checks a yes/no directive as ldirectord does: the value must be exactly "yes" or
// "no", without trailing spaces.
func (p *parser) yesNo(line int, val, msg string) (string, bool) {
	if val != "yes" && val != "no" {
		p.errorf(line, "%s", msg)
		return "", false
	}
	return val, true
}

// maxSeconds bounds timeouts and intervals (a year); ldirectord takes any number.
const maxSeconds = 365 * 24 * 3600

// ignored warns about a directive lvsd accepts and does not act on.
func (p *parser) ignored(line int, name, why string) {
	p.warnf(line, "%s: ignored: %s", name, why)
}

// Global directives, in read_config's order.
var (
	reGCheckTimeout     = perl(`^checktimeout\s*=\s*(.*)`)
	reGConnectTimeout   = perl(`^connecttimeout\s*=\s*(.*)`)
	reGNegotiateTimeout = perl(`^negotiatetimeout\s*=\s*(.*)`)
	reGCheckInterval    = perl(`^checkinterval\s*=\s*(.*)`)
	reGCheckCount       = perl(`^checkcount\s*=\s*(.*)`)
	reGFailureCount     = perl(`^failurecount\s*=\s*(.*)`)
	reGFallback         = perl(`^fallback(6)?\s*=\s*(.*)`)
	reGFallbackCommand  = perl(`^fallbackcommand\s*=\s*(.*)`)
	reGAutoReload       = perl(`^autoreload\s*=\s*(.*)`)
	reGCallback         = perl(`^callback\s*=\s*"(.*)"`)
	reGLogfile          = perl(`^logfile\s*=\s*"(.*)"`)
	reGExecute          = perl(`^execute\s*=\s*(.*)`)
	reGFork             = perl(`^fork\s*=\s*(.*)`)
	reGSupervised       = perl(`^supervised`)
	reGSupervisedValue  = perl(`^supervised\s*=\s*(.*)`)
	reGSupervisedBare   = perl(`^supervised\s*$`)
	reGQuiescent        = perl(`^quiescent\s*=\s*(.*)`)
	reGReaddQuiescent   = perl(`^readdquiescent\s*=\s*(.*)`)
	reGEmailAlert       = perl(`^emailalert\s*=\s*(.*)`)
	reGEmailAlertFreq   = perl(`^emailalertfreq\s*=\s*([0-9]*)`)
	reGEmailAlertStatus = perl(`^emailalertstatus\s*=\s*(.*)`)
	reGEmailAlertFrom   = perl(`^emailalertfrom\s*=\s*(.*)`)
	reGCleanStop        = perl(`^cleanstop\s*=\s*(.*)`)
	reGSMTP             = perl(`^smtp\s*=\s*(.*)`)
	reGMaintenanceDir   = perl(`^maintenancedir\s*=\s*(.*)`)
	reGTimeout          = perl(`^timeout\s*=\s*(.*)`)
	reSMTPServer        = regexp.MustCompile(`^[0-9A-Za-z._+-]+`)
	reStatusSep         = perl(`\s*,\s*`)
)

// global handles one line outside a virtual section. Global lines are not stripped of
// comments, and must start in the first column.
func (p *parser) global(line string) {
	at := p.n
	sub := func(re *regexp.Regexp) (string, bool) {
		m := re.FindStringSubmatch(line)
		if m == nil {
			return "", false
		}
		return m[len(m)-1], true
	}
	if v, ok := sub(reGCheckTimeout); ok {
		if n, ok := p.number(at, "checktimeout", v, maxSeconds); ok {
			p.g.checkTimeout = int(n)
		} else {
			p.errorf(at, "invalid check timeout value")
		}
	} else if _, ok := sub(reGConnectTimeout); ok {
		p.errorf(at, "connecttimeout directive deprecated in favour of negotiatetimeout")
	} else if v, ok := sub(reGNegotiateTimeout); ok {
		if n, ok := p.number(at, "negotiatetimeout", v, maxSeconds); ok {
			p.g.negotiateTimeout = int(n)
		} else {
			p.errorf(at, "invalid negotiate timeout value")
		}
	} else if v, ok := sub(reGCheckInterval); ok {
		if n, ok := p.number(at, "checkinterval", v, maxSeconds); ok {
			p.g.checkInterval, p.g.checkIntervalLine = int(n), at
		} else {
			p.errorf(at, "invalid check interval value")
		}
	} else if v, ok := sub(reGCheckCount); ok {
		if n, ok := p.number(at, "checkcount", v, 1000); ok {
			p.g.checkCount = int(n)
			p.checkCountWarning(at)
		} else {
			p.errorf(at, "invalid check count value")
		}
	} else if v, ok := sub(reGFailureCount); ok {
		if n, ok := p.number(at, "failurecount", v, 1000000); ok {
			p.g.failureCount = int(n)
		} else {
			p.errorf(at, "invalid failure count value")
		}
	} else if m := reGFallback.FindStringSubmatch(line); m != nil {
		p.globalFallback(at, m[1] == "6", m[2])
	} else if v, ok := sub(reGFallbackCommand); ok {
		if v == "" {
			p.errorf(at, "invalid fallback command")
		} else {
			// Kept as written, quotes included: ldirectord passes the whole line to the
			// shell (do_fallback_command).
			p.g.fallbackCommand = &v
		}
	} else if v, ok := sub(reGAutoReload); ok {
		if v, ok := p.yesNo(at, v, "autoreload must be 'yes' or 'no'"); ok {
			p.g.autoReload = v == "yes"
		}
	} else if v, ok := sub(reGCallback); ok {
		p.g.callback = v
	} else if _, ok := sub(reGLogfile); ok {
		p.ignored(at, "logfile", "lvsd logs through its own logger")
	} else if _, ok := sub(reGExecute); ok {
		p.ignored(at, "execute", "lvsd does not start other ldirectord instances; run one lvsd per file")
	} else if v, ok := sub(reGFork); ok {
		if v, ok := p.yesNo(at, v, "fork must be 'yes' or 'no'"); ok {
			p.g.fork = v
			p.ignored(at, "fork", "lvsd runs every check on its own schedule; as in ldirectord, a virtual section's checkinterval counts only with fork=yes")
		}
	} else if reGSupervised.MatchString(line) {
		if m := reGSupervisedValue.FindStringSubmatch(line); m != nil && (m[1] == "yes" || m[1] == "no") {
			p.ignored(at, "supervised", "lvsd never daemonizes")
		} else if reGSupervisedBare.MatchString(line) {
			p.warnf(at, "please update your config not to use a bare supervised directive")
			p.ignored(at, "supervised", "lvsd never daemonizes")
		} else {
			p.errorf(at, "supervised must be 'yes' or 'no'")
		}
	} else if v, ok := sub(reGQuiescent); ok {
		if v, ok := p.yesNo(at, v, "quiescent must be 'yes' or 'no'"); ok {
			p.g.quiescent = v
		}
	} else if v, ok := sub(reGReaddQuiescent); ok {
		if _, ok := p.yesNo(at, v, "readdquiescent must be 'yes' or 'no'"); ok {
			p.ignored(at, "readdquiescent", "lvsd keeps quiescent real servers in the table itself")
		}
	} else if v, ok := sub(reGEmailAlert); ok {
		p.emailAlert(at, v)
	} else if v, ok := sub(reGEmailAlertFreq); ok {
		p.emailAlertFreq(at, v)
	} else if v, ok := sub(reGEmailAlertStatus); ok {
		p.emailAlertStatus(at, v)
	} else if v, ok := sub(reGEmailAlertFrom); ok {
		if v == "" {
			p.errorf(at, "no email from address specified")
		} else {
			p.ignored(at, "emailalertfrom", noEmail)
		}
	} else if v, ok := sub(reGCleanStop); ok {
		if _, ok := p.yesNo(at, v, "cleanstop must be 'yes' or 'no'"); ok {
			p.ignored(at, "cleanstop", noCleanStop)
		}
	} else if v, ok := sub(reGSMTP); ok {
		p.smtp(at, v)
	} else if v, ok := sub(reGMaintenanceDir); ok {
		if v == "" {
			p.errorf(at, "maintenance directory not specified")
		} else {
			p.ignored(at, "maintenancedir", "lvsd does not look for maintenance files")
		}
	} else if _, ok := sub(reGTimeout); ok {
		p.errorf(at, "timeout directive deprecated in favour of checktimeout and negotiatetimeout")
	} else {
		p.errorf(at, "Unknown command %q", line)
	}
}

// Reasons given for ignored directives.
const (
	noEmail     = "lvsd sends no e-mail alerts"
	noCleanStop = "the canonical configuration has no setting for what happens to the table when lvsd stops"
)

func (p *parser) checkCountWarning(at int) {
	// ldirectord's own warning, then what lvsd does.
	p.warnf(at, "checkcount option is deprecated and slated for removal.  please see 'failurecount'")
	p.warnf(at, "checkcount: lvsd does not repeat ping checks within one check; use failurecount")
}

// emailAlert is read_emailalert: the value, without enclosing quotes, must not be empty.
func (p *parser) emailAlert(at int, v string) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !strings.Contains(v[1:len(v)-1], `"`) {
		v = v[1 : len(v)-1]
	}
	if v == "" {
		p.errorf(at, "no email address specified")
		return
	}
	p.ignored(at, "emailalert", noEmail)
}

func (p *parser) emailAlertFreq(at int, v string) {
	if v == "" {
		p.errorf(at, "invalid email alert frequency")
		return
	}
	p.ignored(at, "emailalertfreq", noEmail)
}

// emailAlertStatus is parse_emailalertstatus: a comma-separated list of all, none, starting,
// running, stopping and reloading, where none excludes the others.
func (p *parser) emailAlertStatus(at int, v string) {
	items := reStatusSep.Split(v, -1)
	for len(items) > 0 && items[len(items)-1] == "" { // Perl's split drops trailing empty fields
		items = items[:len(items)-1]
	}
	none := false
	for _, s := range items {
		none = none || s == "none"
	}
	for _, s := range items {
		switch s {
		case "none":
			continue
		case "all", "starting", "stopping", "running", "reloading":
		default:
			p.errorf(at, "invalid email alert status at: %q", s)
			return
		}
		if none {
			p.errorf(at, "invalid email alert status: %q specified with \"none\"", s)
			return
		}
	}
	p.ignored(at, "emailalertstatus", noEmail)
}

func (p *parser) smtp(at int, v string) {
	if !reSMTPServer.MatchString(v) {
		p.errorf(at, "invalid SMTP server address")
		return
	}
	p.ignored(at, "smtp", noEmail)
}
