package ldirectord

import (
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// checkBuilder makes the health checks of the reals of one virtual service, as _check_real
// runs them (/usr/sbin/ldirectord lines 2857-2939).
type checkBuilder struct {
	p    *parser
	v    *virtual
	t    timing
	once map[string]bool // warnings and errors already given for this section
}

// warnOnce warns once per virtual section for key.
func (b *checkBuilder) warnOnce(key string, line int, format string, a ...any) {
	if !b.once[key] {
		b.once[key] = true
		b.p.warnf(line, format, a...)
	}
}

// errorOnce reports an error once per virtual section and line for key.
func (b *checkBuilder) errorOnce(key string, line int, format string, a ...any) {
	k := key + "@" + strconv.Itoa(line)
	if !b.once[k] {
		b.once[k] = true
		b.p.errorf(line, format, a...)
	}
}

// checks returns the checks of real r:
//
//	connect          a TCP connect (a ping for UDP services, as ldirectord does)
//	ping             an ICMP echo
//	external(-perl)  checkcommand VIP|FWMARK VPORT RIP RPORT
//	negotiate        by service: http/https GET, dns, none (no check, always up), or a
//	                 CheckNegotiate for the others (smtp and submission included: the
//	                 health package runs ldirectord's looser SMTP conversation for those)
//	N (combined)     a TCP connect every checkinterval and the negotiate check every N+1
//	                 checkintervals; both must pass
//	on, off          no check (off leaves the reals out; see service)
func (b *checkBuilder) checks(r *real) []*config.Check {
	v := b.v
	switch v.checktype {
	case "connect":
		if v.protocol == "udp" {
			return []*config.Check{b.base(config.CheckPing, r, b.t.checkTimeout)}
		}
		return b.port(r, []*config.Check{b.base(config.CheckTCP, r, b.t.checkTimeout)})
	case "ping":
		return []*config.Check{b.base(config.CheckPing, r, b.t.checkTimeout)}
	case "external", "external-perl":
		return []*config.Check{b.external(r)}
	case "negotiate":
		return b.port(r, b.negotiate(r))
	case "combined":
		neg := b.negotiate(r)
		if v.numConnects == 0 {
			return b.port(r, neg)
		}
		for _, c := range neg {
			c.Interval = b.t.interval * time.Duration(v.numConnects+1)
		}
		if v.protocol == "udp" {
			b.warnOnce("combined-udp", v.checktypeLine, "checktype=%d on a UDP service: ldirectord's connect checks are UDP connects, which always pass; lvsd runs only the negotiate check, every %d checkintervals", v.numConnects, v.numConnects+1)
			return b.port(r, neg)
		}
		return b.port(r, append([]*config.Check{b.base(config.CheckTCP, r, b.t.checkTimeout)}, neg...))
	}
	return nil // on, off
}

// base is a check of kind with what every check of the section shares: failurecount
// failures in a row, one per checkinterval, take the real down.
func (b *checkBuilder) base(kind config.CheckKind, r *real, timeout time.Duration) *config.Check {
	c := &config.Check{Kind: kind, Pos: b.p.pos(r.line), Interval: b.t.interval, Timeout: timeout,
		Retries: b.t.retries, RetryDelay: b.t.interval}
	if kind != config.CheckPing && kind != config.CheckExternal {
		c.Port = b.checkPort(r)
	}
	return c
}

// checkPort is ld_checkport: checkport=, else the real's port, else the service's port.
func (b *checkBuilder) checkPort(r *real) uint16 {
	if b.v.checkPort != 0 {
		return b.v.checkPort
	}
	if r.portNum > 0 {
		return r.portNum
	}
	return serviceToPort(b.v.service)
}

// port warns when checks that connect have no port to connect to.
func (b *checkBuilder) port(r *real, cs []*config.Check) []*config.Check {
	for _, c := range cs {
		if c.Port == 0 && c.Addr == (netip.Addr{}) {
			b.warnOnce("noport", r.line, "real server %s has no port and service %s has none: ldirectord's checks connect to port 0 and always fail; set checkport=", r.server, b.v.service)
			break
		}
	}
	return cs
}

// external is check_external: checkcommand run with the virtual address (or firewall mark),
// the virtual port, the real address and the real port, as ldirectord passes them (IPv6
// addresses in brackets), with checktimeout.
func (b *checkBuilder) external(r *real) *config.Check {
	v := b.v
	if v.checktype == "external-perl" {
		b.warnOnce("perl", v.checktypeLine, "checktype=external-perl: lvsd runs checkcommand as an external command (ldirectord evaluates it as Perl; the two are meant to be interchangeable)")
	}
	if strings.ContainsAny(v.checkCommand, " \t") {
		b.warnOnce("cmdspace", v.line, "checkcommand %q: ldirectord runs it as one file name, without a shell; lvsd does the same", v.checkCommand)
	}
	vserver := v.server
	if v.fwm != "" {
		vserver = v.fwm
	}
	c := b.base(config.CheckExternal, r, b.t.checkTimeout)
	c.Command = strings.Join([]string{quoteArg(v.checkCommand), quoteArg(vserver), quoteArg(v.port),
		quoteArg(r.server), quoteArg(r.port)}, " ")
	return c
}

// strings resolves the request and receive of r as ld_setup does: the real's own pair when
// it has both, else its own request (if any) and the section's receive. own tells which.
func (b *checkBuilder) strings(r *real) (req, rcv string, own bool) {
	req, rcv = b.v.request, b.v.receive
	if r.request != nil {
		req = *r.request
	}
	if r.request != nil && r.receive != nil {
		return req, *r.receive, true
	}
	return req, rcv, false
}

// regex translates a receive string for the check of r, reporting an error at the line
// that set it.
func (b *checkBuilder) regex(r *real, rcv string, own bool) (string, bool) {
	if rcv == "" {
		return "", true
	}
	re, err := goRegexp(rcv)
	if err != nil {
		line := b.v.receiveLine
		if own {
			line = r.line
		}
		b.errorOnce("receive", line, "receive %q: %v", rcv, err)
		return "", false
	}
	return re, true
}

// negotiate is the negotiate check of r for the section's service; none has none.
func (b *checkBuilder) negotiate(r *real) []*config.Check {
	v := b.v
	req, rcv, own := b.strings(r)
	re, ok := b.regex(r, rcv, own)
	if !ok {
		return nil
	}
	nt := b.t.negotiateTimeout
	switch v.service {
	case "none":
		return nil
	case "http", "https":
		return b.http(r, req, re, own)
	case "dns":
		return b.dns(r, req, re, own)
	}
	c := b.base(config.CheckNegotiate, r, nt)
	c.Service = v.service
	switch v.service {
	case "ftp": // Net::FTP login, then get the request; the file must match receive
		c.Request, c.Receive, c.Login, c.Password = req, re, v.login, v.passwd
	case "imap", "imaps", "pop", "pops": // log in when login is set
		c.Login, c.Password = v.login, v.passwd
	case "ldap", "ldaps": // bind, search base (the request without its "/"), match the DN
		c.Request, c.Receive, c.Login, c.Password = req[1:], re, v.login, v.passwd
		c.Timeout = b.t.checkTimeout // the whole check runs under alarm(checktimeout)
	case "radius":
		c.Login, c.Password = v.login, v.passwd
		c.Timeout = b.t.checkTimeout
	case "smtp", "submission": // Net::SMTP: greeting, EHLO or HELO, QUIT
	case "sip": // OPTIONS sip:LOGIN
		c.Login = v.login
	case "mysql", "pgsql", "oracle": // the query must return rows
		c.Request, c.Login, c.Password = strings.TrimPrefix(req, "/"), v.login, v.passwd
		if c.Login == "" || c.Request == "" {
			b.errorOnce("sql", r.line, "service=%s needs login= and request= (the query): ldirectord never brings the real server up without them", v.service)
			return nil
		}
	case "simpletcp": // send the request (without its "/", \n as newline), match a line
		c.Request, c.Receive = strings.ReplaceAll(req[1:], `\n`, "\n"), re
	case "http_proxy": // GET the absolute URL through the real server
		c.Request, c.Receive = b.proxyURL(r, req, own), re
	}
	return []*config.Check{c}
}

// http is check_http for service http or https: a GET (or HEAD) of the request on the real
// server's check port, with virtualhost as the Host header, passing on a 2xx status and,
// when receive is set, a body it matches.
func (b *checkBuilder) http(r *real, req, re string, own bool) []*config.Check {
	v := b.v
	kind := config.CheckHTTP
	if v.service == "https" {
		kind = config.CheckHTTPS
	}
	c := b.base(kind, r, b.t.negotiateTimeout)
	c.Method = v.httpMethod
	if v.virtualHost != nil {
		c.VirtualHost = *v.virtualHost
	}
	if v.httpMethod == "HEAD" && re != "" {
		// ldirectord matches receive against the body, which a HEAD response does not have.
		line := v.receiveLine
		if own {
			line = r.line
		}
		if !regexp.MustCompile(re).MatchString("") {
			b.errorOnce("head", line, "receive= with httpmethod=HEAD: a HEAD response has no body, so ldirectord's check never passes; use GET or drop receive=")
			return nil
		}
		b.warnOnce("head", line, "receive= with httpmethod=HEAD: it matches the empty body of a HEAD response, so it checks nothing; ignored")
		re = ""
	}
	path := "/" + strings.TrimPrefix(v.request, "/")
	if own {
		path = "/" + strings.TrimPrefix(req, "/")
		if strings.Contains(req, v.service+"://") {
			// The real's request is a whole URL: ldirectord fetches it instead.
			u, err := url.Parse(strings.TrimPrefix(req, "/"))
			if err != nil || u.Scheme != v.service || u.Hostname() == "" {
				b.errorOnce("url", r.line, "real server request %q is not a URL ldirectord can fetch", req[1:])
				return nil
			}
			h, ok := b.p.lookupHost(u.Hostname(), strings.Contains(u.Hostname(), ":"))
			if !ok {
				b.errorOnce("url", r.line, "real server request %q: could not resolve host %s", req[1:], u.Hostname())
				return nil
			}
			c.Addr, c.Port = h.addr, serviceToPort(v.service)
			if u.Port() != "" {
				n, err := strconv.ParseUint(u.Port(), 10, 16)
				if err != nil {
					b.errorOnce("url", r.line, "real server request %q: bad port", req[1:])
					return nil
				}
				c.Port = uint16(n)
			}
			path = u.RequestURI()
		}
	}
	c.URLs = []config.URL{{Path: path, Regex: re}}
	return []*config.Check{c}
}

// dns is check_dns: the request (without its "/") looked up on the real server, an A query
// or, for an address, a PTR query; one A address or PTR name must match receive. Without a
// name or a receive ldirectord's check never passes, so Parse refuses that.
func (b *checkBuilder) dns(r *real, req, re string, own bool) []*config.Check {
	v := b.v
	name := strings.TrimPrefix(req, "/")
	if name == "" || re == "" {
		line := v.line
		if own {
			line = r.line
		}
		b.errorOnce("dns", line, "service=dns needs request= (the name to look up) and receive= (a regex for the answer): ldirectord's check never passes without them")
		return nil
	}
	if v.protocol == "tcp" {
		b.warnOnce("dnstcp", v.line, "service=dns on a TCP service: ldirectord queries over TCP; the canonical DNS check has no setting for that and queries over UDP")
	}
	c := b.base(config.CheckDNS, r, b.t.negotiateTimeout)
	c.DNSType, c.DNSName, c.Receive = "A", name, re
	if a, err := netip.ParseAddr(name); err == nil {
		c.DNSType, c.DNSName = "PTR", reverseName(a.Unmap())
	}
	return []*config.Check{c}
}

// proxyURL is the URL check_http fetches through an http_proxy real server (ld_setup): the
// real's own request when it is a URL, the real's own request on the real server itself
// when it is not, else the section's request.
func (b *checkBuilder) proxyURL(r *real, req string, own bool) string {
	if !own {
		return strings.TrimPrefix(b.v.request, "/")
	}
	if strings.Contains(req, "http://") {
		return strings.TrimPrefix(req, "/")
	}
	return "http://" + r.server + ":" + strconv.Itoa(int(b.checkPort(r))) + "/" + strings.TrimPrefix(req, "/")
}
