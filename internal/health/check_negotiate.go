package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// NegotiateChecker speaks a service's protocol to the real, as ldirectord's
// checktype=negotiate does for the services that are not HTTP, DNS or SMTP (_check_real in
// /usr/sbin/ldirectord 4.12 picks check_ftp, check_pop, check_imap, check_ldap, check_nntp,
// check_mysql, check_simpletcp, check_none by service=). Each service's doc comment below
// says what passes. For pops, imaps and ldaps the conversation runs over TLS from the first
// byte, without verifying the server's certificate (as for HTTPS).
//
// A negotiate check for http, https or http_proxy is an HTTPChecker, for dns a DNSChecker,
// for smtp or submission an SMTPChecker with Net::SMTP's rules, and for none a checker that
// always passes (ldirectord's check_none). pgsql, oracle, radius and sip are refused by
// NewChecker: they need protocol work (SCRAM, Oracle TNS, RADIUS secrets, SIP over UDP) that
// is not done here.
//
// Request, Receive, Login and Password are ldirectord's request=, receive=, login= and
// passwd=; Receive is a regular expression (Go's RE2 syntax: Perl's backreferences and
// lookarounds are not available and are rejected by NewChecker).
type NegotiateChecker struct {
	t       Target
	service string
	tls     bool
	speak   func(ctx context.Context, conn net.Conn) Result
}

// Interface guards.
var _ Checker = (*NegotiateChecker)(nil)

// negotiateParams is what the service conversations read from the check.
type negotiateParams struct {
	request, login, password string
	receive                  *regexp.Regexp
}

func newNegotiateChecker(c *config.Check, t Target) (Checker, error) {
	svc := strings.ToLower(c.Service)
	switch svc {
	case "http", "https":
		hc := *c
		hc.Kind = config.CheckHTTP
		if svc == "https" {
			hc.Kind = config.CheckHTTPS
		}
		return newHTTPChecker(&hc, t)
	case "dns":
		return newDNSChecker(c.DNSType, strings.TrimPrefix(firstNonEmpty(c.DNSName, c.Request), "/"), c.Receive, t)
	case "smtp", "submission":
		return newSMTPChecker(t, "", true), nil
	case "none":
		return noneChecker{}, nil
	case "http_proxy":
		return newHTTPProxyChecker(c, t)
	case "pgsql", "oracle", "radius", "sip":
		return nil, fmt.Errorf("health: negotiate service %q is not supported (ftp, http, https, http_proxy, dns, smtp, submission, pop, pops, imap, imaps, ldap, ldaps, nntp, mysql, simpletcp and none are)", c.Service)
	case "":
		return nil, errors.New("health: negotiate check without a service")
	}
	p := negotiateParams{request: c.Request, login: c.Login, password: c.Password}
	if c.Receive != "" {
		re, err := regexp.Compile(c.Receive)
		if err != nil {
			return nil, fmt.Errorf("health: negotiate %s: receive regex %q: %v", svc, c.Receive, err)
		}
		p.receive = re
	}
	n := &NegotiateChecker{t: t, service: svc}
	switch svc {
	case "ftp":
		n.speak = p.ftp
	case "pop", "pops":
		n.speak, n.tls = p.pop, svc == "pops"
	case "imap", "imaps":
		n.speak, n.tls = p.imap, svc == "imaps"
	case "ldap", "ldaps":
		n.speak, n.tls = p.ldap, svc == "ldaps"
	case "nntp":
		n.speak = p.nntp
	case "mysql":
		n.speak = p.mysql
	case "simpletcp":
		if p.receive == nil {
			return nil, errors.New("health: negotiate simpletcp needs a receive regex")
		}
		n.speak = p.simpletcp
	default:
		return nil, fmt.Errorf("health: unknown negotiate service %q", c.Service)
	}
	return n, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Check connects (over TLS for pops, imaps and ldaps) and runs the service's conversation,
// all of it bounded by ctx.
func (n *NegotiateChecker) Check(ctx context.Context) Result {
	conn, err := dialTarget(ctx, n.t)
	if err != nil {
		return checkDownErr(ctx, n.service+": connect", err)
	}
	defer conn.Close()
	defer guardConn(ctx, conn)()
	if n.tls {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10})
		if err := tc.HandshakeContext(ctx); err != nil {
			return checkDownErr(ctx, n.service+": TLS handshake", err)
		}
		conn = tc
	}
	r := n.speak(ctx, conn)
	r.Reason = n.service + ": " + r.Reason
	return r
}

// noneChecker is ldirectord's service=none (check_none): the real is up, unchecked.
type noneChecker struct{}

// Check passes without doing anything.
func (noneChecker) Check(context.Context) Result { return checkOK("service none: not checked") }

var _ Checker = noneChecker{}

// textConn reads the lines of a text protocol, each bounded in length.
type textConn struct {
	conn net.Conn
	r    *bufio.Reader
}

const maxTextLine = 4096

func newTextConn(conn net.Conn) *textConn {
	return &textConn{conn: conn, r: bufio.NewReaderSize(conn, maxTextLine)}
}

// line returns the next line without its CR LF.
func (tc *textConn) line() (string, error) {
	b, err := tc.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("line longer than %d bytes", maxTextLine)
	}
	if err != nil {
		if err == io.EOF && len(b) == 0 {
			return "", errors.New("connection closed")
		}
		if err == io.EOF {
			err = errors.New("connection closed mid-line")
		}
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// reply reads an SMTP or FTP reply, all its "NNN-" lines, and returns its code and last line.
func (tc *textConn) reply() (int, string, error) {
	for n := 0; n < 100; n++ {
		l, err := tc.line()
		if err != nil {
			return 0, "", err
		}
		if len(l) < 3 {
			return 0, l, fmt.Errorf("bad reply %s", quoteReason(l))
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil {
			return 0, l, fmt.Errorf("bad reply %s", quoteReason(l))
		}
		if len(l) > 3 && l[3] == '-' {
			continue
		}
		return code, l, nil
	}
	return 0, "", errors.New("reply of more than 100 lines")
}

// send writes s and CR LF.
func (tc *textConn) send(s string) error {
	_, err := io.WriteString(tc.conn, s+"\r\n")
	return err
}

// pop is ldirectord's check_pop (Mail::POP3Client): the greeting must start with +OK; with a
// login, the login must succeed: APOP when the greeting carries a timestamp, else (or when
// APOP fails) USER and PASS, each answered +OK; then QUIT. Mail::POP3Client's CRAM-MD5 is
// not tried.
func (p negotiateParams) pop(ctx context.Context, conn net.Conn) Result {
	tc := newTextConn(conn)
	greet, err := tc.line()
	if err != nil {
		return checkDownErr(ctx, "greeting", err)
	}
	if !strings.HasPrefix(strings.ToUpper(greet), "+OK") {
		return checkDown("greeting %s, want +OK", quoteReason(greet))
	}
	if p.login != "" {
		ok := false
		if ts := apopTimestamp(greet); ts != "" {
			if err := tc.send(fmt.Sprintf("APOP %s %x", p.login, md5.Sum([]byte(ts+p.password)))); err != nil {
				return checkDownErr(ctx, "APOP", err)
			}
			l, err := tc.line()
			if err != nil {
				return checkDownErr(ctx, "APOP", err)
			}
			ok = strings.HasPrefix(l, "+OK")
		}
		if !ok {
			if err := tc.send("USER " + p.login); err != nil {
				return checkDownErr(ctx, "USER", err)
			}
			l, err := tc.line()
			if err != nil {
				return checkDownErr(ctx, "USER", err)
			}
			if !strings.HasPrefix(l, "+") {
				return checkDown("USER: %s", quoteReason(l))
			}
			if err := tc.send("PASS " + p.password); err != nil {
				return checkDownErr(ctx, "PASS", err)
			}
			if l, err = tc.line(); err != nil {
				return checkDownErr(ctx, "PASS", err)
			}
			if !strings.HasPrefix(l, "+OK") {
				return checkDown("login as %s: %s", p.login, quoteReason(l))
			}
		}
	}
	tc.send("QUIT")
	if p.login != "" {
		return checkOK("logged in as %s", p.login)
	}
	return checkOK("greeting %s", quoteReason(greet))
}

// apopTimestamp is the <...@...> of a POP3 greeting, "" if none.
func apopTimestamp(greet string) string {
	i := strings.IndexByte(greet, '<')
	j := strings.LastIndexByte(greet, '>')
	if i < 0 || j < i || !strings.Contains(greet[i:j], "@") {
		return ""
	}
	return greet[i : j+1]
}

// imap is ldirectord's check_imap (Net::IMAP::Simple): the greeting must be "* OK" or
// "* PREAUTH"; with a login, "LOGIN user "password"" must be answered OK; then LOGOUT.
func (p negotiateParams) imap(ctx context.Context, conn net.Conn) Result {
	tc := newTextConn(conn)
	greet, err := tc.line()
	if err != nil {
		return checkDownErr(ctx, "greeting", err)
	}
	f := strings.Fields(greet)
	if len(f) < 2 || f[0] != "*" || (!strings.EqualFold(f[1], "OK") && !strings.EqualFold(f[1], "PREAUTH")) {
		return checkDown("greeting %s, want * OK", quoteReason(greet))
	}
	if p.login != "" {
		if err := tc.send("a1 LOGIN " + p.login + " " + imapQuote(p.password)); err != nil {
			return checkDownErr(ctx, "LOGIN", err)
		}
		for {
			l, err := tc.line()
			if err != nil {
				return checkDownErr(ctx, "LOGIN", err)
			}
			if !strings.HasPrefix(l, "a1 ") {
				continue // untagged data
			}
			if f := strings.Fields(l); len(f) < 2 || !strings.EqualFold(f[1], "OK") {
				return checkDown("login as %s: %s", p.login, quoteReason(l))
			}
			break
		}
	}
	tc.send("a2 LOGOUT")
	if p.login != "" {
		return checkOK("logged in as %s", p.login)
	}
	return checkOK("greeting %s", quoteReason(greet))
}

// imapQuote quotes s as Net::IMAP::Simple's _escape does.
func imapQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// nntp is ldirectord's check_nntp: the first bytes the server sends (at most 64) must start
// with "2" (200 or 201, posting allowed or not).
func (p negotiateParams) nntp(ctx context.Context, conn net.Conn) Result {
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return checkDownErr(ctx, "greeting", err)
	}
	greet := string(buf[:n])
	if !strings.HasPrefix(greet, "2") {
		return checkDown("greeting %s, want 2xx", quoteReason(greet))
	}
	return checkOK("greeting %s", quoteReason(greet))
}

// simpletcp is ldirectord's check_simpletcp: send the request as it is (ldirectord sends
// request= without the "/" it puts in front, each "\n" written as a newline: the adapter
// does both), shut down the sending side, and read lines until one matches the receive
// regex (pass) or the server closes (fail).
func (p negotiateParams) simpletcp(ctx context.Context, conn net.Conn) Result {
	if _, err := io.WriteString(conn, p.request); err != nil {
		return checkDownErr(ctx, "send", err)
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 512), maxTextLine)
	sc.Split(scanLinesNL)
	for sc.Scan() {
		// Perl's $ also matches before a final newline.
		if l := sc.Text(); p.receive.MatchString(l) || p.receive.MatchString(strings.TrimSuffix(l, "\n")) {
			return checkOK("line %s matches", quoteReason(l))
		}
	}
	err := sc.Err()
	if err == nil {
		err = errors.New("connection closed")
	}
	return checkDownErr(ctx, fmt.Sprintf("no line matches %q", p.receive.String()), err)
}

// scanLinesNL splits lines as Perl's <$sock> does: each keeps its "\n"; the last may have
// none.
func scanLinesNL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
