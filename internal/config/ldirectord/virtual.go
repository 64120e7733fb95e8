package ldirectord

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// virtual is one virtual section as read_config keeps it (%vsrv), before it becomes a
// config.Service.
type virtual struct {
	line int
	v6   bool
	// bad: the header or a resolution failed; no service is built.
	bad bool
	// key is get_virtual_id_str ("tcp:10.0.0.1:80", "fwm:5", "fwm6:5"); "" until resolved.
	key string

	host, portRaw string // the header's host and port (ip_port)
	fwm           string // the header's firewall mark, as written
	mark          uint32
	protocol      string // tcp, udp or fwm
	addr          netip.Addr
	server        string // the resolved address: dotted quad or [IPv6]
	port          string // the resolved port as ldirectord keeps it; "0" for fwmark
	portNum       uint16

	service                   string
	serviceSet                bool
	checktype                 string // connect negotiate ping off on external external-perl combined
	numConnects               int
	checktypeLine             int
	scheduler                 string
	checkCommand              string
	request, receive          string
	receiveLine               int
	login, passwd             string
	checkTimeout              int // -1: not set
	negotiateTimeout          int
	checkCount, failureCount  int
	checkInterval             int // 0: not set
	checkIntervalLine         int
	checkPort                 uint16
	httpMethod                string
	httpMethodLine            int
	virtualHost               *string
	persistent                *string
	netmask, schedFlags       *string
	persistentLine, maskLine  int
	schedFlagsLine, opsLine   int
	ops                       string
	fallback                  *fallback
	fallbackLine              int
	fallbackCommand           *string
	quiescent                 string // "": the global value
	reals                     []*real
	realsTodo                 []realTodo
	protocolLine, serviceLine int
}

// realTodo is a real= line kept until the section ends, when the protocol is known.
type realTodo struct {
	text string
	line int
}

// Virtual section headers (read_config, lines 1345-1366).
var (
	reHeaderV4   = regexp.MustCompile(`^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+):([0-9A-Za-z_-]+)`)
	reHeaderHost = regexp.MustCompile(`^([0-9A-Za-z._+-]+):([0-9A-Za-z_-]+)`)
	reHeaderFWM  = regexp.MustCompile(`^([0-9]+)`)
	reHeaderV6   = regexp.MustCompile(`^\[([0-9A-Fa-f:]+)\]:([0-9A-Za-z_-]+)`)
)

// virtualSection reads a virtual section whose header line (the current line) holds attr
// after "virtual=" or "virtual6=". It returns the line that ended the section, or false at
// the end of the file.
func (p *parser) virtualSection(v6 bool, attr string) (string, bool) {
	v := &virtual{line: p.n, v6: v6, checktype: "negotiate", protocol: "tcp", scheduler: "wrr",
		checkCommand: "/bin/true", request: "/", checkTimeout: -1, negotiateTimeout: -1,
		checkCount: -1, failureCount: -1, httpMethod: "GET", ops: "no"}
	if m := reHeaderV4.FindStringSubmatch(attr); m != nil && !v6 {
		v.host, v.portRaw = m[1], m[2]
	} else if m := reHeaderHost.FindStringSubmatch(attr); m != nil {
		v.host, v.portRaw = m[1], m[2]
	} else if m := reHeaderFWM.FindStringSubmatch(attr); m != nil {
		v.fwm = m[1]
		if strings.TrimSpace(attr) != v.fwm {
			p.warnf(v.line, "virtual=%s is read as firewall mark %s (ldirectord takes the leading number)", attr, v.fwm)
		}
	} else if m := reHeaderV6.FindStringSubmatch(attr); m != nil {
		if !v6 {
			p.errorf(v.line, `cannot specify an IPv6 address here. please use "virtual6" instead.`)
			v.bad = true
		} else if a, err := netip.ParseAddr(m[1]); err != nil || !a.Is6() {
			p.errorf(v.line, "invalid ipv6 address for virtual server")
			v.bad = true
		} else {
			v.host, v.portRaw = "["+m[1]+"]", m[2]
		}
	} else {
		p.errorf(v.line, "invalid address for virtual server")
		v.bad = true
	}
	if v.fwm != "" {
		v.protocol, v.service, v.serviceSet, v.port = "fwm", "none", true, "0"
	} else {
		if v.portRaw == "53" || v.portRaw == "domain" {
			v.protocol = "udp"
		}
		v.port = v.portRaw
	}
	p.vs = append(p.vs, v)

	var ended string
	more := false
	for {
		line, ok := p.next()
		if !ok {
			break
		}
		if reComment.MatchString(line) {
			continue
		}
		l := line
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		l = strings.ReplaceAll(l, "\t", "    ")
		m := reIndent.FindStringSubmatch(l)
		if m == nil {
			ended, more = line, true
			break
		}
		p.directive(v, m[1], line)
	}
	p.endSection(v)
	return ended, more
}

// Directives of a virtual section, in read_config's order (lines 1412-1645).
var (
	reReal             = perl(`^(real(6)?)\s*=\s*(.*)`)
	reRequest          = perl(`^request\s*=\s*"(.*)"`)
	reReceive          = perl(`^receive\s*=\s*"(.*)"`)
	reChecktype        = perl(`^checktype\s*=\s*(.*)`)
	reChecktypeWord    = regexp.MustCompile(`[A-Za-z0-9_-]+`)
	reCheckCommandQ    = perl(`^checkcommand\s*=\s*"(.*)"`)
	reCheckCommand     = perl(`^checkcommand\s*=\s*(.*)`)
	reCheckTimeout     = perl(`^checktimeout\s*=\s*(.*)`)
	reConnectTimeout   = perl(`^connecttimeout\s*=\s*(.*)`)
	reNegotiateTimeout = perl(`^negotiatetimeout\s*=\s*(.*)`)
	reCheckCount       = perl(`^checkcount\s*=\s*(.*)`)
	reFailureCount     = perl(`^failurecount\s*=\s*(.*)`)
	reCheckInterval    = perl(`^checkinterval\s*=\s*(.*)`)
	reCheckPort        = perl(`^checkport\s*=\s*(.*)`)
	reLogin            = perl(`^login\s*=\s*"(.*)"`)
	rePasswd           = perl(`^passwd\s*=\s*"(.*)"`)
	reDatabase         = perl(`^database\s*=\s*"(.*)"`)
	reSecret           = perl(`^secret\s*=\s*"(.*)"`)
	reLoad             = perl(`^load\s*=\s*"(.*)"`)
	reScheduler        = perl(`^scheduler\s*=\s*(.*)`)
	reLower            = regexp.MustCompile(`[a-z]+`)
	rePersistent       = perl(`^persistent\s*=\s*(.*)`)
	reSchedFlags       = perl(`^schedflags\s*=\s*(.*)`)
	reNonSpace         = perl(`\S+`)
	reNetmask          = perl(`^netmask\s*=\s*(.*)`)
	reDottedQuad       = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	rePrefixLen        = regexp.MustCompile(`^[0-9]+$`)
	reProtocol         = perl(`^protocol\s*=\s*(.*)`)
	reWord             = regexp.MustCompile(`\w+`)
	reOps              = perl(`^ops\s*=\s*(.*)`)
	reService          = perl(`^service\s*=\s*(.*)`)
	reHTTPMethod       = perl(`^httpmethod\s*=\s*(.*)`)
	reVirtualHost      = perl(`^virtualhost\s*=\s*(.*)`)
	reVirtualHostValue = regexp.MustCompile(`"?([^"]*)"?`)
	reFallback         = perl(`^(fallback(6)?)\s*=\s*(.*)`)
	reFallbackCmdQ     = perl(`^fallbackcommand\s*=\s*"(.*)"`)
	reFallbackCmd      = perl(`^fallbackcommand\s*=\s*(.*)`)
	reQuiescent        = perl(`^quiescent\s*=\s*(.*)`)
	reEmailAlert       = perl(`^emailalert\s*=\s*(.*)`)
	reEmailAlertFreq   = perl(`^emailalertfreq\s*=\s*([0-9]*)`)
	reEmailAlertStatus = perl(`^emailalertstatus\s*=\s*(.*)`)
	reMonitorFileQ     = perl(`^monitorfile\s*=\s*"(.*)"`)
	reMonitorFile      = perl(`^monitorfile\s*=\s*(.*)`)
	reCleanStop        = perl(`^cleanstop\s*=\s*(.*)`)
	reSMTP             = perl(`^smtp\s*=\s*(.*)`)
	reServiceName      = perl(`^servicename\s*=\s*(.*)`)
	reComment2         = perl(`^comment\s*=\s*(.*)`)
)

// directive handles rcmd, one line of a virtual section without its indentation (raw is the
// whole line, for messages).
func (p *parser) directive(v *virtual, rcmd, raw string) {
	at := p.n
	sub := func(re *regexp.Regexp) (string, bool) {
		m := re.FindStringSubmatch(rcmd)
		if m == nil {
			return "", false
		}
		return m[len(m)-1], true
	}
	if m := reReal.FindStringSubmatch(rcmd); m != nil {
		if v.v6 != (m[2] == "6") {
			want := "real"
			if v.v6 {
				want = "real6"
			}
			p.errorf(at, `cannot specify "%s" here.  please use "%s" instead`, m[1], want)
			return
		}
		v.realsTodo = append(v.realsTodo, realTodo{m[3], at})
	} else if s, ok := sub(reRequest); ok {
		if s == "" {
			p.errorf(at, "no request string specified")
			return
		}
		if !strings.HasPrefix(s, "/") {
			s = "/" + s
		}
		v.request = s
	} else if s, ok := sub(reReceive); ok {
		if s == "" {
			p.errorf(at, "invalid receive string")
			return
		}
		v.receive, v.receiveLine = s, at
	} else if s, ok := sub(reChecktype); ok {
		p.checktype(v, at, s)
	} else if s, ok := sub(reCheckCommandQ); ok {
		p.checkCommand(v, at, s)
	} else if s, ok := sub(reCheckCommand); ok {
		p.checkCommand(v, at, s)
	} else if s, ok := sub(reCheckTimeout); ok {
		if n, ok := p.number(at, "checktimeout", s, maxSeconds); ok {
			v.checkTimeout = int(n)
		} else {
			p.errorf(at, "invalid check timeout")
		}
	} else if _, ok := sub(reConnectTimeout); ok {
		p.errorf(at, "connecttimeout directive deprecated in favour of negotiatetimeout")
	} else if s, ok := sub(reNegotiateTimeout); ok {
		if n, ok := p.number(at, "negotiatetimeout", s, maxSeconds); ok {
			v.negotiateTimeout = int(n)
		} else {
			p.errorf(at, "invalid negotiate timeout")
		}
	} else if s, ok := sub(reCheckCount); ok {
		if n, ok := p.number(at, "checkcount", s, 1000); ok {
			v.checkCount = int(n)
			p.checkCountWarning(at)
		} else {
			p.errorf(at, "invalid check count")
		}
	} else if s, ok := sub(reFailureCount); ok {
		if n, ok := p.number(at, "failurecount", s, 1000000); ok {
			v.failureCount = int(n)
		} else {
			p.errorf(at, "invalid failure count")
		}
	} else if s, ok := sub(reCheckInterval); ok {
		if n, ok := p.number(at, "checkinterval", s, maxSeconds); ok {
			v.checkInterval, v.checkIntervalLine = int(n), at
		} else {
			p.errorf(at, "invalid checkinterval")
		}
	} else if s, ok := sub(reCheckPort); ok {
		d := reDigits.FindString(s)
		if d == "" {
			p.errorf(at, "invalid port")
			return
		}
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil || n == 0 || n > 65535 {
			p.errorf(at, "checkport must be in range 1..65536")
			return
		}
		p.looseNumber(at, "checkport", s, d)
		v.checkPort = uint16(n)
	} else if s, ok := sub(reLogin); ok {
		if s == "" {
			p.errorf(at, "invalid login string")
			return
		}
		v.login = s
	} else if s, ok := sub(rePasswd); ok {
		if s == "" {
			p.errorf(at, "invalid password")
			return
		}
		v.passwd = s
	} else if s, ok := sub(reDatabase); ok {
		if s == "" {
			p.errorf(at, "invalid database")
			return
		}
		p.ignored(at, "database", "the canonical configuration has no field for it, so lvsd's SQL checks have no database name")
	} else if s, ok := sub(reSecret); ok {
		if s == "" {
			p.errorf(at, "invalid secret")
			return
		}
		p.ignored(at, "secret", "the canonical configuration has no field for it, so lvsd's RADIUS checks have no shared secret")
	} else if s, ok := sub(reLoad); ok {
		if !reWord.MatchString(s) {
			p.errorf(at, "invalid string for load testing")
			return
		}
		p.ignored(at, "load", "ldirectord reads it but never uses it")
	} else {
		p.directive2(v, rcmd, raw, at)
	}
}

// directive2 continues directive (scheduler= onwards).
func (p *parser) directive2(v *virtual, rcmd, raw string, at int) {
	sub := func(re *regexp.Regexp) (string, bool) {
		m := re.FindStringSubmatch(rcmd)
		if m == nil {
			return "", false
		}
		return m[len(m)-1], true
	}
	if s, ok := sub(reScheduler); ok {
		name := reLower.FindString(s)
		if name == "" {
			p.errorf(at, "invalid scheduler, should be only lowercase letters (a-z)")
			return
		}
		if strings.TrimSpace(s) != name {
			p.warnf(at, "scheduler: ldirectord reads %q as %s", s, name)
		}
		v.scheduler = name
	} else if s, ok := sub(rePersistent); ok {
		d := reDigits.FindString(s)
		if d == "" {
			p.errorf(at, "invalid persistent timeout")
			return
		}
		p.looseNumber(at, "persistent", s, d)
		v.persistent, v.persistentLine = &d, at
	} else if s, ok := sub(reSchedFlags); ok {
		f := reNonSpace.FindString(s)
		if f == "" {
			p.errorf(at, "invalid sched-flags")
			return
		}
		v.schedFlags, v.schedFlagsLine = &f, at
	} else if s, ok := sub(reNetmask); ok {
		if v.v6 {
			if n, err := strconv.Atoi(s); !rePrefixLen.MatchString(s) || err != nil || n < 1 || n > 128 {
				p.errorf(at, "invalid netmask: a prefix length between 1 and 128 is required")
				return
			}
		} else if !reDottedQuad.MatchString(s) {
			p.errorf(at, "invalid netmask: dotted quad notation is required")
			return
		}
		v.netmask, v.maskLine = &s, at
	} else if s, ok := sub(reProtocol); ok {
		w := reWord.FindString(s)
		switch {
		case w == "":
			p.errorf(at, "invalid protocol")
		case v.protocol == "fwm":
			if w != "fwm" {
				p.errorf(at, "protocol must be fwm if the virtual service is a fwmark (a number)")
			}
		case w == "tcp" || w == "udp":
			v.protocol, v.protocolLine = w, at
		default:
			p.errorf(at, "protocol must be tcp or udp if the virtual service is an address and port")
		}
	} else if s, ok := sub(reOps); ok {
		if s, ok := p.yesNo(at, s, "ops must be 'yes' or 'no'"); ok {
			v.ops, v.opsLine = s, at
		}
	} else if s, ok := sub(reService); ok {
		w := reWord.FindString(s)
		if !knownService(w) {
			p.errorf(at, "service must be dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, none, oracle, pop, pops, radius, pgsql, simpletcp, sip, smtp or submission")
			return
		}
		v.service, v.serviceSet, v.serviceLine = w, true, at
		// Defaults set when service= is read, not when the service comes from the port.
		if w == "ftp" && v.login == "" {
			v.login = "anonymous"
		} else if w == "sip" && v.login == "" {
			v.login = "ldirectord@" + p.opts.Hostname
		}
		if w == "ftp" && v.passwd == "" {
			v.passwd = "ldirectord@" + p.opts.Hostname
		}
	} else if s, ok := sub(reHTTPMethod); ok {
		w := strings.ToUpper(reWord.FindString(s))
		if w != "GET" && w != "HEAD" {
			p.errorf(at, "httpmethod must be GET or HEAD")
			return
		}
		v.httpMethod, v.httpMethodLine = w, at
	} else if s, ok := sub(reVirtualHost); ok {
		h := reVirtualHostValue.FindStringSubmatch(s)[1]
		v.virtualHost = &h
	} else if m := reFallback.FindStringSubmatch(rcmd); m != nil {
		if v.v6 != (m[2] == "6") {
			want := "fallback"
			if v.v6 {
				want = "fallback6"
			}
			p.errorf(at, `cannot specify "%s" here.  please use "%s" instead`, m[1], want)
			return
		}
		if fb, ok := p.parseFallback(at, m[3], v.port, true); ok {
			v.fallback, v.fallbackLine = fb, at
		}
	} else if s, ok := sub(reFallbackCmdQ); ok {
		p.fallbackCommand(v, at, s)
	} else if s, ok := sub(reFallbackCmd); ok {
		p.fallbackCommand(v, at, s)
	} else if s, ok := sub(reQuiescent); ok {
		if s, ok := p.yesNo(at, s, "quiescent must be 'yes' or 'no'"); ok {
			v.quiescent = s
		}
	} else if s, ok := sub(reEmailAlert); ok {
		p.emailAlert(at, s)
	} else if s, ok := sub(reEmailAlertFreq); ok {
		p.emailAlertFreq(at, s)
	} else if s, ok := sub(reEmailAlertStatus); ok {
		p.emailAlertStatus(at, s)
	} else if _, ok := sub(reMonitorFileQ); ok {
		p.ignored(at, "monitorfile", "lvsd logs check results through its own logger")
	} else if _, ok := sub(reMonitorFile); ok {
		p.ignored(at, "monitorfile", "lvsd logs check results through its own logger")
	} else if s, ok := sub(reCleanStop); ok {
		if _, ok := p.yesNo(at, s, "cleanstop must be 'yes' or 'no'"); ok {
			p.ignored(at, "cleanstop", noCleanStop)
		}
	} else if s, ok := sub(reSMTP); ok {
		p.smtp(at, s)
	} else if _, ok := sub(reServiceName); ok {
		p.ignored(at, "servicename", "ldirectord uses it only in e-mail alerts")
	} else if _, ok := sub(reComment2); ok {
		p.ignored(at, "comment", "ldirectord uses it only in e-mail alerts")
	} else {
		p.errorf(at, "Unknown command %q", raw)
	}
}

// checktype reads checktype=: a value with a number in it is "combined" (that many connect
// checks, then one negotiate check), else one of the named types.
func (p *parser) checktype(v *virtual, at int, s string) {
	if d := reDigits.FindString(s); d != "" {
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil || n > maxConnects {
			p.errorf(at, "checktype=%s: lvsd takes at most %d connect checks between negotiate checks", d, maxConnects)
			return
		}
		p.looseNumber(at, "checktype", s, d)
		v.checktype, v.numConnects, v.checktypeLine = "combined", int(n), at
		return
	}
	switch w := reChecktypeWord.FindString(s); w {
	case "connect", "negotiate", "ping", "off", "on", "external", "external-perl":
		v.checktype, v.checktypeLine = w, at
	default:
		p.errorf(at, `checktype must be "connect", "negotiate", "on", "off", "ping", "external", "external-perl" or a positive number`)
	}
}

// maxConnects bounds checktype=N so that N+1 check intervals fit in a time.Duration.
const maxConnects = 1000000

func (p *parser) checkCommand(v *virtual, at int, s string) {
	if s == "" {
		p.errorf(at, "invalid check command")
		return
	}
	v.checkCommand = s
}

func (p *parser) fallbackCommand(v *virtual, at int, s string) {
	if s == "" {
		p.errorf(at, "invalid fallback command")
		return
	}
	v.fallbackCommand = &s
}
