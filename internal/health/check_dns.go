package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// dnsTypeCode gives the code of the record types a DNS check can ask for: keepalived's DNS_TYPE table
// (keepalived/check/check_dns.c) plus PTR, which ldirectord asks for an address.
func dnsTypeCode(name string) (uint16, bool) {
	switch strings.ToUpper(name) {
	case "A":
		return 1, true
	case "NS":
		return 2, true
	case "CNAME":
		return 5, true
	case "SOA":
		return 6, true
	case "PTR":
		return 12, true
	case "MX":
		return 15, true
	case "TXT":
		return 16, true
	case "AAAA":
		return 28, true
	}
	return 0, false
}

func rcodeName(rc byte) string {
	names := [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}
	if int(rc) < len(names) {
		return names[rc]
	}
	return "?"
}

// DNSChecker sends one DNS query over UDP to the real, as keepalived's DNS_CHECK
// (keepalived/check/check_dns.c) and ldirectord's negotiate check for service=dns
// (ld_check_dns).
//
// The query is for DNSName (default ".", keepalived's DNS_DEFAULT_NAME) of type DNSType
// (default SOA, DNS_DEFAULT_TYPE), class IN, recursion desired, with a random id. Replies
// that are too short, carry another id or are not responses (QR clear) are ignored, and the
// check keeps waiting, as dns_recv_thread does. The first reply that is ours decides:
//   - without Receive (keepalived): it passes when its RCODE is NOERROR, whatever the
//     answer section holds; any other RCODE fails ("rcode 3 (NXDOMAIN)");
//   - with Receive (ldirectord's receive=): it also needs an A, AAAA or PTR record in the
//     answer section whose address or name matches the regular expression. ldirectord's
//     default query is then type A, or PTR when the name is an IP address (Net::DNS search
//     turns an address into its reverse name).
//
// A port that answers with ICMP port unreachable fails at once ("connection refused").
type DNSChecker struct {
	t     Target
	qtype uint16
	qname []byte // wire form
	name  string
	typ   string
	re    *regexp.Regexp
}

// Interface guards.
var _ Checker = (*DNSChecker)(nil)

func newDNSChecker(typ, name, receive string, t Target) (*DNSChecker, error) {
	c := &DNSChecker{t: t}
	if receive != "" {
		re, err := regexp.Compile(receive)
		if err != nil {
			return nil, fmt.Errorf("health: DNS receive regex %q: %v", receive, err)
		}
		c.re = re
	}
	if name == "" {
		name = "."
	}
	if typ == "" {
		typ = "SOA"
		if c.re != nil {
			typ = "A"
			if ip, err := netip.ParseAddr(name); err == nil {
				typ, name = "PTR", reverseName(ip)
			}
		}
	}
	qtype, ok := dnsTypeCode(typ)
	if !ok {
		return nil, fmt.Errorf("health: unknown DNS type %q (want A, NS, CNAME, SOA, PTR, MX, TXT or AAAA)", typ)
	}
	qname, err := encodeName(name)
	if err != nil {
		return nil, fmt.Errorf("health: DNS name %q: %v", name, err)
	}
	c.qtype, c.qname, c.name, c.typ = qtype, qname, name, strings.ToUpper(typ)
	return c, nil
}

// Check sends the query and waits for the reply, until ctx ends.
func (c *DNSChecker) Check(ctx context.Context) Result {
	d := net.Dialer{LocalAddr: bindUDP(c.t)}
	conn, err := d.DialContext(ctx, "udp", c.t.Addr.String())
	if err != nil {
		return checkDownErr(ctx, "dns socket", err)
	}
	defer conn.Close()
	defer guardConn(ctx, conn)()

	id := uint16(rand.Uint32())
	if _, err := conn.Write(c.query(id)); err != nil {
		return checkDownErr(ctx, "dns send", err)
	}
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return checkDownErr(ctx, "dns reply", err)
		}
		msg := buf[:n]
		if n < 12 || binary.BigEndian.Uint16(msg) != id || msg[2]&0x80 == 0 {
			continue // not the reply to our query: keep waiting
		}
		if rcode := msg[3] & 0x0f; rcode != 0 {
			return checkDown("dns %s %s: rcode %d (%s)", c.typ, c.name, rcode, rcodeName(rcode))
		}
		if c.re == nil {
			return checkOK("dns %s %s: NOERROR, %d answers", c.typ, c.name, binary.BigEndian.Uint16(msg[6:]))
		}
		values, err := answerValues(msg)
		if err != nil {
			return checkDown("dns %s %s: bad reply: %v", c.typ, c.name, err)
		}
		for _, v := range values {
			if c.re.MatchString(v) {
				return checkOK("dns %s %s: answer %s matches", c.typ, c.name, v)
			}
		}
		return checkDown("dns %s %s: no A, AAAA or PTR answer matches %q (got %s)", c.typ, c.name, c.re.String(), strings.Join(values, " "))
	}
}

// query is the DNS message keepalived's dns_make_query builds: a header with the id, RD set
// and one question, then the question (name, type, class IN).
func (c *DNSChecker) query(id uint16) []byte {
	m := make([]byte, 12, 12+len(c.qname)+4)
	binary.BigEndian.PutUint16(m[0:], id)
	m[2] = 0x01                          // RD
	binary.BigEndian.PutUint16(m[4:], 1) // QDCOUNT
	m = append(m, c.qname...)
	m = binary.BigEndian.AppendUint16(m, c.qtype)
	return binary.BigEndian.AppendUint16(m, 1) // IN
}

// encodeName turns a dotted name into DNS wire labels. As keepalived's, "." and "" are the
// root and a trailing dot is optional; no escapes.
func encodeName(name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	var out []byte
	if name != "" {
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 {
				return nil, fmt.Errorf("label %q must have 1 to 63 characters", label)
			}
			out = append(out, byte(len(label)))
			out = append(out, label...)
		}
	}
	out = append(out, 0)
	if len(out) > 255 {
		return nil, errors.New("longer than 255 bytes")
	}
	return out, nil
}

// reverseName is the in-addr.arpa or ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	var b strings.Builder
	s := ip.AsSlice()
	if ip.Is4() {
		for i := len(s) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "%d.", s[i])
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	const hexd = "0123456789abcdef"
	for i := len(s) - 1; i >= 0; i-- {
		b.WriteByte(hexd[s[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hexd[s[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

// answerValues returns, for the A, AAAA and PTR records of msg's answer section, the
// address or the name (without its trailing dot, as Net::DNS gives it).
func answerValues(msg []byte) ([]string, error) {
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	off := 12
	for range qd {
		_, n, err := decodeName(msg, off)
		if err != nil {
			return nil, err
		}
		off = n + 4
	}
	var out []string
	for range an {
		_, n, err := decodeName(msg, off)
		if err != nil {
			return nil, err
		}
		off = n
		if off+10 > len(msg) {
			return nil, errors.New("truncated record")
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			return nil, errors.New("truncated record data")
		}
		rdata := msg[off : off+rdlen]
		switch {
		case typ == 1 && rdlen == 4, typ == 28 && rdlen == 16:
			a, _ := netip.AddrFromSlice(rdata)
			out = append(out, a.String())
		case typ == 12:
			name, _, err := decodeName(msg, off)
			if err != nil {
				return nil, err
			}
			out = append(out, strings.TrimSuffix(name, "."))
		}
		off += rdlen
	}
	return out, nil
}

// decodeName reads the (possibly compressed) name at off in msg and returns it dotted with
// its trailing dot, and the offset just past it.
func decodeName(msg []byte, off int) (string, int, error) {
	var b strings.Builder
	end := -1
	for hops := 0; ; {
		if off >= len(msg) {
			return "", 0, errors.New("truncated name")
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if b.Len() == 0 {
				b.WriteByte('.')
			}
			return b.String(), end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) {
				return "", 0, errors.New("truncated name pointer")
			}
			if hops++; hops > 32 {
				return "", 0, errors.New("name pointer loop")
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
		case l&0xc0 != 0:
			return "", 0, errors.New("bad label type")
		default:
			if off+1+l > len(msg) {
				return "", 0, errors.New("truncated label")
			}
			b.Write(msg[off+1 : off+1+l])
			b.WriteByte('.')
			off += 1 + l
		}
	}
}
