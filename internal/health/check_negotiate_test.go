package health

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

func TestNegotiateLineServices(t *testing.T) {
	tests := []struct {
		name   string
		check  config.Check
		script []string
		ok     bool
		reason string
	}{
		{"pop greeting", config.Check{Service: "pop"}, []string{"S:+OK POP3 ready", "C:QUIT"}, true, `pop: greeting "+OK POP3 ready"`},
		{"pop error greeting", config.Check{Service: "pop"}, []string{"S:-ERR go away"}, false, `pop: greeting "-ERR go away", want +OK`},
		{"pop USER PASS", config.Check{Service: "pop", Login: "bob", Password: "secret"},
			[]string{"S:+OK POP3 ready", "C:USER bob", "S:+OK", "C:PASS secret", "S:+OK 2 messages", "C:QUIT"}, true, "pop: logged in as bob"},
		{"pop bad password", config.Check{Service: "pop", Login: "bob", Password: "wrong"},
			[]string{"S:+OK POP3 ready", "C:USER bob", "S:+OK", "C:PASS wrong", "S:-ERR invalid password"}, false, `pop: login as bob: "-ERR invalid password"`},
		// RFC 1939's APOP example: the digest of the timestamp and "tanstaaf".
		{"pop APOP", config.Check{Service: "pop", Login: "mrose", Password: "tanstaaf"},
			[]string{"S:+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>", "C:APOP mrose c4c9334bac560ecc979e58001b3e22fb", "S:+OK maildrop has 1 message", "C:QUIT"}, true, "pop: logged in as mrose"},
		{"pop APOP refused, USER PASS", config.Check{Service: "pop", Login: "mrose", Password: "tanstaaf"},
			[]string{"S:+OK ready <1.2@host>", "C:APOP mrose ", "S:-ERR no APOP", "C:USER mrose", "S:+OK", "C:PASS tanstaaf", "S:+OK", "C:QUIT"}, true, "pop: logged in as mrose"},
		{"imap greeting", config.Check{Service: "imap"}, []string{"S:* OK IMAP4rev1 ready", "C:a2 LOGOUT"}, true, `imap: greeting "* OK IMAP4rev1 ready"`},
		{"imap preauth", config.Check{Service: "imap"}, []string{"S:* PREAUTH hello"}, true, "imap: greeting"},
		{"imap bye", config.Check{Service: "imap"}, []string{"S:* BYE too busy"}, false, `imap: greeting "* BYE too busy", want * OK`},
		{"imap login", config.Check{Service: "imap", Login: "bob", Password: `se"c\ret`},
			[]string{"S:* OK ready", `C:a1 LOGIN bob "se\"c\\ret"`, "S:* CAPABILITY IMAP4rev1", "S:a1 OK LOGIN completed", "C:a2 LOGOUT"}, true, "imap: logged in as bob"},
		{"imap login refused", config.Check{Service: "imap", Login: "bob", Password: "x"},
			[]string{"S:* OK ready", "C:a1 LOGIN", "S:a1 NO [AUTHENTICATIONFAILED] nope"}, false, `imap: login as bob: "a1 NO [AUTHENTICATIONFAILED] nope"`},
		{"nntp", config.Check{Service: "nntp"}, []string{"S:200 news.example.org ready"}, true, `nntp: greeting "200 news.example.org ready`},
		{"nntp refused", config.Check{Service: "nntp"}, []string{"S:502 access denied"}, false, "want 2xx"},
		{"simpletcp", config.Check{Service: "simpletcp", Request: "PING\nnow", Receive: "^PONG"},
			[]string{"C:PING", "S:hello", "S:PONG 42"}, true, `simpletcp: line "PONG 42" matches`},
		{"simpletcp no match", config.Check{Service: "simpletcp", Request: "/PING", Receive: "^PONG"},
			[]string{"S:nope"}, false, `simpletcp: no line matches "^PONG": connection closed`},
		{"ftp login", config.Check{Service: "ftp"},
			[]string{"S:220-Welcome", "S:220 FTP ready", "C:USER anonymous", "S:331 password please", "C:PASS ldirectord@", "S:230 ok", "C:QUIT"}, true, "ftp: logged in as anonymous"},
		{"ftp login refused", config.Check{Service: "ftp", Login: "bob", Password: "x"},
			[]string{"S:220 FTP ready", "C:USER bob", "S:331 password please", "C:PASS x", "S:530 Login incorrect"}, false, `ftp: login as bob: "530 Login incorrect"`},
		{"ftp greeting refused", config.Check{Service: "ftp"}, []string{"S:421 too many users"}, false, `ftp: greeting "421 too many users", want 2xx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, errs := scripted(t, tt.script...)
			c := tt.check
			c.Kind = config.CheckNegotiate
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
			noSurprise(t, errs)
		})
	}
}

// ftpServer is an FTP server with one file, served over a passive data connection.
func ftpServer(t *testing.T, file string) netip.AddrPort {
	return serve(t, "tcp4", func(c net.Conn) {
		r := bufio.NewReader(c)
		say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
		say("220 FTP ready")
		var data net.Listener
		defer func() {
			if data != nil {
				data.Close()
			}
		}()
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd, arg, _ := strings.Cut(strings.TrimRight(l, "\r\n"), " ")
			switch cmd {
			case "USER":
				say("331 password please")
			case "PASS":
				say("230 logged in")
			case "CWD":
				say("250 ok")
			case "TYPE":
				say("200 binary")
			case "PASV":
				if data, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
					say("425 no")
					continue
				}
				p := data.Addr().(*net.TCPAddr).Port
				// A server may name another address: the checker must use the real's.
				say(fmt.Sprintf("227 Entering Passive Mode (10,9,8,7,%d,%d)", p>>8, p&0xff))
			case "RETR":
				if arg != "/status.txt" || data == nil {
					say("550 no such file")
					continue
				}
				say("150 here it comes")
				dc, err := data.Accept()
				if err != nil {
					return
				}
				dc.Write([]byte(file))
				dc.Close()
				say("226 done")
			case "QUIT":
				say("221 bye")
				return
			default:
				say("502 not implemented")
			}
		}
	})
}

func TestNegotiateFTPRetrieve(t *testing.T) {
	addr := ftpServer(t, "status: all systems go\n")
	tests := []struct {
		name   string
		check  config.Check
		ok     bool
		reason string
	}{
		{"match", config.Check{Request: "/status.txt", Receive: "all systems go"}, true, `ftp: /status.txt matches "all systems go"`},
		{"mismatch", config.Check{Request: "/status.txt", Receive: "down"}, false, `ftp: /status.txt (23 bytes) does not match "down"`},
		{"missing file", config.Check{Request: "/nothing", Receive: "."}, false, `ftp: RETR /nothing: "550 no such file"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check
			c.Kind, c.Service = config.CheckNegotiate, "ftp"
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
		})
	}
}

// As with Perl's <$sock>, the last line counts without its newline, and $ matches before
// a final newline.
func TestNegotiateSimpleTCPLines(t *testing.T) {
	for _, reply := range []string{"hello\nPONG", "hello\nPONG\n"} {
		addr := serve(t, "tcp4", func(c net.Conn) { c.Write([]byte(reply)) })
		c := &config.Check{Kind: config.CheckNegotiate, Service: "simpletcp", Request: "/x", Receive: "^PONG$"}
		wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: addr}), checkTimeout), true, "simpletcp: line \"PONG")
	}
}

func TestNegotiateNone(t *testing.T) {
	c := &config.Check{Kind: config.CheckNegotiate, Service: "none"}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: closedPort(t)}), checkTimeout), true, "not checked")
}

// Every conversation ends by the deadline, whether the server never answers or never
// completes the handshake; a closed port fails at once.
func TestNegotiateTimeouts(t *testing.T) {
	silent, hole, closed := silentServer(t), blackhole(t), closedPort(t)
	for _, svc := range []string{"ftp", "pop", "pops", "imap", "imaps", "nntp", "ldap", "ldaps", "mysql", "simpletcp", "smtp"} {
		t.Run(svc, func(t *testing.T) {
			t.Parallel()
			c := &config.Check{Kind: config.CheckNegotiate, Service: svc, Request: "/x", Receive: "x", Login: "u", Password: "p"}
			for _, tc := range []struct {
				addr   netip.AddrPort
				reason string
			}{{silent, "timed out"}, {hole, "connect: timed out"}, {closed, "connection refused"}} {
				r := runCheck(t, mustChecker(t, c, Target{Addr: tc.addr}), checkTimeout)
				wantResult(t, r, false, tc.reason)
			}
		})
	}
	c := &config.Check{Kind: config.CheckSMTP}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: silent}), checkTimeout), false, "smtp: greeting: timed out")
}
