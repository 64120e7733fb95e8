package keepalived

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// chkDef is a checker block as written: the check, and the timings it sets itself.
type chkDef struct {
	c *config.Check
	timing
	miscTimeout *time.Duration
}

// checkKinds maps keepalived's checker keywords to check kinds.
func checkKind(kw string) config.CheckKind {
	switch kw {
	case "HTTP_GET":
		return config.CheckHTTP
	case "SSL_GET":
		return config.CheckHTTPS
	case "TCP_CHECK":
		return config.CheckTCP
	case "SMTP_CHECK":
		return config.CheckSMTP
	case "DNS_CHECK":
		return config.CheckDNS
	case "MISC_CHECK":
		return config.CheckExternal
	case "PING_CHECK":
		return config.CheckPing
	}
	return ""
}

// dnsTypes are the query types DNS_CHECK accepts.
const dnsTypes = "A NS CNAME SOA MX TXT AAAA"

// checker handles one checker block of a real server.
func (p *parser) checker(s *stmt) *chkDef {
	if !p.needBlock(s) {
		return nil
	}
	if len(s.args) > 0 {
		p.d.warnf(s.pos, "'%s': extra words ignored: %q", s.kw, s.args)
	}
	ch := &chkDef{c: &config.Check{Kind: checkKind(s.kw), Pos: s.pos}}
	c := ch.c
	misc := c.Kind == config.CheckExternal
	for _, k := range s.block {
		if k.kw != "connect_timeout" || !misc {
			if p.timingKw(&ch.timing, k) {
				continue
			}
		}
		if !misc && p.connKw(c, k) {
			continue
		}
		switch {
		case k.kw == "alpha" || k.kw == "log_all_failures":
			p.flag(k)
			p.d.warnf(k.pos, "lvsd ignores '%s' on a checker", k.kw)
		case (c.Kind == config.CheckHTTP || c.Kind == config.CheckHTTPS) && p.httpKw(c, k):
		case c.Kind == config.CheckHTTPS && k.kw == "enable_sni":
			c.SNI = p.flag(k)
		case c.Kind == config.CheckDNS && k.kw == "type":
			if p.nargs(k, 1, 1) {
				t := strings.ToUpper(k.args[0])
				if !strings.Contains(" "+dnsTypes+" ", " "+t+" ") {
					p.d.errf(k.pos, "DNS_CHECK: unknown type '%s' (one of %s)", k.args[0], dnsTypes)
				} else {
					c.DNSType = t
				}
			}
		case c.Kind == config.CheckDNS && k.kw == "name":
			if p.nargs(k, 1, 1) {
				c.DNSName = k.args[0]
			}
		case c.Kind == config.CheckSMTP && k.kw == "helo_name":
			p.ignore(k, "")
		case misc && k.kw == "misc_path":
			if !p.noBlock(k) {
				continue
			}
			if len(k.args) == 0 {
				p.d.errf(k.pos, "'misc_path' needs a value")
			} else if len(k.args) == 1 {
				c.Command = k.args[0]
			} else {
				c.Command = k.raw
			}
		case misc && k.kw == "misc_timeout":
			if p.nargs(k, 1, 1) {
				if v, err := parseUint(k.args[0], 0, 1<<31/1000000); err != nil {
					p.d.errf(k.pos, "Invalid misc_timeout value '%s'", k.args[0])
				} else {
					d := time.Duration(v) * time.Second
					ch.miscTimeout = &d
				}
			}
		case misc && k.kw == "misc_dynamic":
			c.Dynamic = p.flag(k)
		case misc && k.kw == "user":
			if p.nargs(k, 1, 2) {
				p.d.warnf(k.pos, "lvsd ignores 'user' of MISC_CHECK: the command runs as lvsd's user")
			}
		default:
			p.unknown(k)
		}
	}
	if misc && c.Command == "" {
		p.d.errf(s.pos, "No script path has been specified for MISC_CHECKER")
		return nil
	}
	if (c.Kind == config.CheckHTTP || c.Kind == config.CheckHTTPS) && len(c.URLs) == 0 {
		p.d.errf(s.pos, "%s has no url", s.kw)
		return nil
	}
	return ch
}

// connKw handles the connection keywords of every checker but MISC_CHECK.
func (p *parser) connKw(c *config.Check, s *stmt) bool {
	switch s.kw {
	case "connect_ip", "bindto":
		if p.nargs(s, 1, 1) {
			a, ok := parseAddr(s.args[0])
			switch {
			case !ok:
				p.d.errf(s.pos, "Invalid %s address %s", s.kw, s.args[0])
			case s.kw == "connect_ip":
				c.Addr = a
			default:
				c.BindAddr = a
			}
		}
	case "connect_port", "bind_port":
		if p.nargs(s, 1, 1) {
			v, err := parseUint(s.args[0], 1, 65535)
			switch {
			case err != nil:
				p.d.errf(s.pos, "Invalid checker %s '%s'", s.kw, s.args[0])
			case s.kw == "connect_port":
				c.Port = uint16(v)
			default:
				c.BindPort = uint16(v)
			}
		}
	case "bind_if", "fwmark":
		p.ignore(s, "")
	default:
		return false
	}
	return true
}

// httpKw handles the HTTP_GET and SSL_GET keywords.
func (p *parser) httpKw(c *config.Check, s *stmt) bool {
	switch s.kw {
	case "url":
		if p.needBlock(s) {
			if u, ok := p.url(c, s); ok {
				c.URLs = append(c.URLs, u)
			}
		}
	case "virtualhost":
		if p.nargs(s, 1, 1) {
			c.VirtualHost = s.args[0]
		}
	case "http_protocol", "fast_recovery":
		p.ignore(s, "")
	default:
		return false
	}
	return true
}

// url handles url { path, digest, status_code, virtualhost, regex }.
func (p *parser) url(c *config.Check, s *stmt) (config.URL, bool) {
	var u config.URL
	for _, k := range s.block {
		switch k.kw {
		case "path":
			if p.nargs(k, 1, 1) {
				u.Path = k.args[0]
			}
		case "digest":
			if p.nargs(k, 1, 1) {
				if b, err := hex.DecodeString(k.args[0]); err != nil || len(b) != 16 {
					p.d.errf(k.pos, "digest '%s' is not an MD5 digest (32 hex digits)", k.args[0])
				} else {
					u.Digest = strings.ToLower(k.args[0])
				}
			}
		case "status_code":
			if p.nargs(k, 1, -1) {
				for _, a := range k.args {
					r, ok := parseStatus(a)
					if !ok {
						p.d.errf(k.pos, "Invalid %s status code '%s'", kwOf(c.Kind), a)
						continue
					}
					u.Status = append(u.Status, r)
				}
			}
		case "virtualhost":
			if p.nargs(k, 1, 1) {
				if c.VirtualHost != "" && c.VirtualHost != k.args[0] {
					p.d.warnf(k.pos, "lvsd uses one virtual host per checker: %s replaces %s", k.args[0], c.VirtualHost)
				}
				c.VirtualHost = k.args[0]
			}
		case "regex":
			if p.nargs(k, 1, 1) {
				u.Regex = k.args[0]
			}
		case "regex_no_match", "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset":
			p.ignore(k, "")
		default:
			p.unknown(k)
		}
	}
	if u.Path == "" {
		p.d.errf(s.pos, "url has no path")
		return u, false
	}
	return u, true
}

// parseStatus reads a status code N or a range N-M, codes 100..599.
func parseStatus(s string) (config.StatusRange, bool) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return config.StatusRange{}, false
	}
	return config.StatusRange{Min: lo, Max: hi}, true
}

// kwOf names a check kind as keepalived's keyword.
func kwOf(k config.CheckKind) string {
	if k == config.CheckHTTPS {
		return "SSL_GET"
	}
	return "HTTP_GET"
}
