package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ftpFileLimit bounds the file an FTP check fetches.
const ftpFileLimit = 1 << 20

// ftp is ldirectord's check_ftp (Net::FTP): the greeting must be 2xx; the login (default
// "anonymous" with password "ldirectord@<hostname>", as ldirectord's defaults for
// service=ftp) must be accepted (USER, then PASS when asked for); then, when a receive regex
// is set, CWD /, TYPE I, PASV (EPSV over IPv6) and RETR of the request path fetch the file,
// and its content must match the regex. Without a receive regex the check ends after the
// login. ldirectord ignores the failure of each step and only matches what it fetched (an
// empty file when a step failed); here a step that fails fails the check, saying which.
// The data connection goes to the real's address with the port of the PASV reply, never to
// another address the reply may name.
func (p negotiateParams) ftp(ctx context.Context, conn net.Conn) Result {
	tc := newTextConn(conn)
	code, l, err := tc.reply()
	if err != nil {
		return checkDownErr(ctx, "greeting", err)
	}
	if code/100 != 2 {
		return checkDown("greeting %s, want 2xx", quoteReason(l))
	}
	user, pw := p.login, p.password
	if user == "" {
		user = "anonymous"
	}
	if pw == "" {
		host, _ := os.Hostname()
		pw = "ldirectord@" + host
	}
	code, l, err = ftpCmd(tc, "USER "+user)
	if err != nil {
		return checkDownErr(ctx, "USER", err)
	}
	if code == 331 || code == 332 {
		if code, l, err = ftpCmd(tc, "PASS "+pw); err != nil {
			return checkDownErr(ctx, "PASS", err)
		}
	}
	if code/100 != 2 {
		return checkDown("login as %s: %s", user, quoteReason(l))
	}
	if p.receive == nil {
		tc.send("QUIT")
		return checkOK("logged in as %s", user)
	}
	// As Net::FTP, whose cwd and binary results ldirectord does not look at.
	if _, _, err := ftpCmd(tc, "CWD /"); err != nil {
		return checkDownErr(ctx, "CWD", err)
	}
	if _, _, err := ftpCmd(tc, "TYPE I"); err != nil {
		return checkDownErr(ctx, "TYPE", err)
	}
	local, _ := conn.LocalAddr().(*net.TCPAddr)
	remote, _ := conn.RemoteAddr().(*net.TCPAddr)
	if local == nil || remote == nil {
		return checkDown("FTP over a non-TCP connection")
	}
	port, err := ftpPassive(tc, remote.IP.To4() == nil)
	if err != nil {
		return checkDownErr(ctx, "passive mode", err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local.IP, Zone: local.Zone}}
	dataAddr := netip.AddrPortFrom(remote.AddrPort().Addr(), port)
	data, err := d.DialContext(ctx, "tcp", dataAddr.String())
	if err != nil {
		return checkDownErr(ctx, "data connection", err)
	}
	defer data.Close()
	defer guardConn(ctx, data)()
	path := p.request
	if path == "" {
		path = "/"
	}
	code, l, err = ftpCmd(tc, "RETR "+path)
	if err != nil {
		return checkDownErr(ctx, "RETR", err)
	}
	if code/100 != 1 {
		return checkDown("RETR %s: %s", path, quoteReason(l))
	}
	content, err := io.ReadAll(io.LimitReader(data, ftpFileLimit))
	if err != nil {
		return checkDownErr(ctx, "RETR "+path, err)
	}
	data.Close()
	tc.reply() // 226, or the server's complaint: the content is what is judged
	tc.send("QUIT")
	if !p.receive.Match(content) {
		return checkDown("%s (%d bytes) does not match %q", path, len(content), p.receive.String())
	}
	return checkOK("%s matches %q", path, p.receive.String())
}

// ftpCmd sends one command and reads its reply.
func ftpCmd(tc *textConn, cmd string) (int, string, error) {
	if err := tc.send(cmd); err != nil {
		return 0, "", err
	}
	return tc.reply()
}

// ftpPassive asks for a passive data port: PASV's "227 ... (h1,h2,h3,h4,p1,p2)" or, over
// IPv6, EPSV's "229 ... (|||port|)".
func ftpPassive(tc *textConn, v6 bool) (uint16, error) {
	if v6 {
		code, l, err := ftpCmd(tc, "EPSV")
		if err != nil {
			return 0, err
		}
		i, j := strings.Index(l, "(|||"), strings.LastIndex(l, "|)")
		if code != 229 || i < 0 || j < i+4 {
			return 0, fmt.Errorf("EPSV: %s", quoteReason(l))
		}
		port, err := strconv.ParseUint(l[i+4:j], 10, 16)
		if err != nil || port == 0 {
			return 0, fmt.Errorf("EPSV: %s", quoteReason(l))
		}
		return uint16(port), nil
	}
	code, l, err := ftpCmd(tc, "PASV")
	if err != nil {
		return 0, err
	}
	i, j := strings.IndexByte(l, '('), strings.LastIndexByte(l, ')')
	if code != 227 || i < 0 || j < i {
		// Some servers leave out the parentheses: take the last six numbers.
		i = strings.LastIndexByte(l, ' ')
		j = len(l)
	}
	f := strings.Split(strings.TrimSpace(l[i+1:j]), ",")
	if code != 227 || len(f) != 6 {
		return 0, fmt.Errorf("PASV: %s", quoteReason(l))
	}
	hi, err1 := strconv.ParseUint(f[4], 10, 8)
	lo, err2 := strconv.ParseUint(f[5], 10, 8)
	if err1 != nil || err2 != nil || hi<<8|lo == 0 {
		return 0, fmt.Errorf("PASV: %s", quoteReason(l))
	}
	return uint16(hi<<8 | lo), nil
}
