package ldirectord

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Name resolution as ldirectord does it (ld_gethostbyname, ld_getservbyname and
// ld_gethostservbyname in /usr/sbin/ldirectord of Debian's ldirectord 1:4.12.0-2): an address
// goes through getaddrinfo for one family, so an IPv4 address may be in any form inet_aton
// takes ("10.1" is 10.0.0.1, "010.0.0.1" is 8.0.0.1); brackets around an address are
// dropped; a port is a decimal number below 65536 kept as written, or a service name.

// resolvedHost is an address and the string ldirectord keeps for it: the dotted quad, or
// the IPv6 address in brackets (getnameinfo's numeric form).
type resolvedHost struct {
	addr netip.Addr
	str  string
	// loose is set when an IPv4 address was written in a form other than a dotted quad of
	// decimal numbers, which getaddrinfo takes but a reader may not expect.
	loose bool
}

// lookupHost resolves name for the family asked, as ld_gethostbyname: the part between the
// first "[" and the last "]" if there are brackets, then a numeric address, then
// Options.LookupHost. ok is false when the name does not resolve.
func (p *parser) lookupHost(name string, v6 bool) (resolvedHost, bool) {
	if i := strings.IndexByte(name, '['); i >= 0 {
		if j := strings.LastIndexByte(name, ']'); j > i {
			name = name[i+1 : j]
		}
	}
	var a netip.Addr
	loose := false
	if v6 {
		x, err := netip.ParseAddr(name)
		if err != nil || !x.Is6() || x.Is4In6() || x.Zone() != "" {
			if !hostnameChars(name) {
				return resolvedHost{}, false
			}
			x, ok := p.resolve(name, true)
			if !ok || !x.Is6() {
				return resolvedHost{}, false
			}
			a = x
		} else {
			a = x
		}
	} else if x, ok := inetAton(name); ok {
		a = x
		loose = x.String() != name
	} else {
		if !hostnameChars(name) {
			return resolvedHost{}, false
		}
		x, ok := p.resolve(name, false)
		if !ok || !x.Is4() {
			return resolvedHost{}, false
		}
		a = x
	}
	s := a.String()
	if v6 {
		s = "[" + s + "]"
	}
	return resolvedHost{addr: a, str: s, loose: loose}, true
}

// hostnameChars reports whether s could be a host name getaddrinfo would look up.
func hostnameChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// resolve asks Options.LookupHost; without one no name resolves.
func (p *parser) resolve(name string, v6 bool) (netip.Addr, bool) {
	if p.opts.LookupHost == nil {
		return netip.Addr{}, false
	}
	a, err := p.opts.LookupHost(name, v6)
	if err != nil || !a.IsValid() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// inetAton parses s as glibc's inet_aton: one to four parts separated by dots, each decimal,
// octal (leading 0) or hexadecimal (leading 0x); the last part fills the remaining bytes.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, part := range parts {
		v, ok := atonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	last := vals[len(vals)-1]
	var out uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		out |= v << (24 - 8*i)
	}
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	out |= last
	return netip.AddrFrom4([4]byte{byte(out >> 24), byte(out >> 16), byte(out >> 8), byte(out)}), true
}

// atonPart parses one part of an inet_aton address (strtoul with base 0, which must start
// with a digit and consume the whole part).
func atonPart(s string) (uint64, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	base := 10
	switch {
	case len(s) > 1 && (s[1] == 'x' || s[1] == 'X') && s[0] == '0':
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, base, 32)
	return v, err == nil
}

// lookupPort resolves a port as ld_getservbyname: a decimal number 0..65535 is returned as
// written (so "080" stays "080", as ldirectord passes it on); another name is a service
// name of proto ("tcp", "udp", or "" for any). ok is false when it does not resolve.
func (p *parser) lookupPort(name, proto string) (str string, port uint16, ok bool) {
	if name != "" && strings.Trim(name, "0123456789") == "" {
		v, err := strconv.ParseUint(name, 10, 64)
		if err != nil || v > 65535 {
			return "", 0, false
		}
		return name, uint16(v), true
	}
	if p.opts.LookupPort != nil {
		v, err := p.opts.LookupPort(name, proto)
		if err != nil {
			return "", 0, false
		}
		return strconv.Itoa(int(v)), v, true
	}
	v, ok := builtinService(name, proto)
	if !ok {
		return "", 0, false
	}
	return strconv.Itoa(int(v)), v, true
}

// services is the part of Debian netbase's /etc/services (6.4) that LVS services use: name,
// port/protocol, aliases. Options.LookupPort replaces it.
const services = `
ftp 21/tcp
fsp 21/udp fspd
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
tftp 69/udp
http 80/tcp www
pop3 110/tcp pop-3
nntp 119/tcp readnews untp
ntp 123/udp
imap2 143/tcp imap
snmp 161/tcp
snmp 161/udp
ldap 389/tcp
ldap 389/udp
https 443/tcp
https 443/udp
submissions 465/tcp ssmtp smtps urd
shell 514/tcp cmd syslog
syslog 514/udp
submission 587/tcp
ldaps 636/tcp
ldaps 636/udp
rsync 873/tcp
imaps 993/tcp
pop3s 995/tcp
openvpn 1194/tcp
openvpn 1194/udp
ms-sql-s 1433/tcp
radius 1812/tcp
radius 1812/udp
mysql 3306/tcp
sip 5060/tcp
sip 5060/udp
sip-tls 5061/tcp
sip-tls 5061/udp
postgresql 5432/tcp postgres
redis 6379/tcp
http-alt 8080/tcp webcache
`

// builtinService looks name up in services, as getservbyname does: the first entry whose
// name or alias is name and whose protocol is proto ("" matches any).
func builtinService(name, proto string) (uint16, bool) {
	for _, line := range strings.Split(services, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		portStr, entryProto, _ := strings.Cut(f[1], "/")
		if proto != "" && entryProto != proto {
			continue
		}
		for _, n := range append([]string{f[0]}, f[2:]...) {
			if n == name {
				v, err := strconv.ParseUint(portStr, 10, 16)
				return uint16(v), err == nil
			}
		}
	}
	return 0, false
}

// portToService is ld_port_to_service: the service ldirectord checks when service= is not
// given, from the virtual service's port as a string ("080" is none of them).
func portToService(port string) string {
	switch port {
	case "21":
		return "ftp"
	case "25":
		return "smtp"
	case "53":
		return "dns"
	case "80":
		return "http"
	case "110":
		return "pop"
	case "119":
		return "nntp"
	case "143":
		return "imap"
	case "389":
		return "ldap"
	case "443":
		return "https"
	case "587":
		return "submission"
	case "636":
		return "ldaps"
	case "993":
		return "imaps"
	case "995":
		return "pops"
	case "1521":
		return "oracle"
	case "1812":
		return "radius"
	case "3128":
		return "http_proxy"
	case "3306":
		return "mysql"
	case "5060":
		return "sip"
	case "5432":
		return "pgsql"
	}
	return "none"
}

// serviceToPort is ld_service_to_port: the port checked when neither checkport= nor the real
// server gives one; 0 for none, simpletcp and names that are not services.
func serviceToPort(service string) uint16 {
	for _, port := range []string{"21", "25", "53", "80", "110", "119", "143", "389", "443",
		"587", "636", "993", "995", "1521", "1812", "3128", "3306", "5060", "5432"} {
		if portToService(port) == service {
			n, _ := strconv.Atoi(port)
			return uint16(n)
		}
	}
	return 0
}

// knownService reports whether name is one of the values service= takes (read_config).
func knownService(name string) bool {
	switch name {
	case "dns", "ftp", "http", "https", "http_proxy", "imap", "imaps", "ldap", "ldaps",
		"nntp", "mysql", "none", "oracle", "pop", "pops", "radius", "pgsql", "sip", "smtp",
		"submission", "simpletcp":
		return true
	}
	return false
}

// quoteArg quotes s as one word of a command line config.SplitCommand splits (keepalived's
// rules: blanks separate words, quotes group, a backslash escapes anywhere) when it has
// anything but letters, digits and _./:@%+=,-.
func quoteArg(s string) string {
	safe := s != ""
	for i := 0; i < len(s) && safe; i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_./:@%+=,-", c) >= 0
	}
	if safe {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// shellCommand is how Perl's system(STRING) runs line, which ldirectord uses for
// fallbackcommand: through /bin/sh -c when it has one of the shell metacharacters Perl
// looks for (doio.c), else split at blanks and run directly.
func shellCommand(line string) string {
	if strings.ContainsAny(line, "$&*(){}[]'\";\\|?<>~`\n") {
		return "/bin/sh -c " + quoteArg(line)
	}
	return line
}

// reverseName is the name Net::DNS asks a PTR query for when the name looked up is an
// address (in-addr.arpa or ip6.arpa).
func reverseName(a netip.Addr) string {
	var b strings.Builder
	if a.Is4() {
		x := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.in-addr.arpa", x[3], x[2], x[1], x[0])
		return b.String()
	}
	x := a.As16()
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", x[i]&0xf, x[i]>>4)
	}
	b.WriteString("ip6.arpa")
	return b.String()
}
