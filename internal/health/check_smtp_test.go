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

// scripted starts a loopback server that holds one conversation per connection, step by
// step: "S:text" sends text and CR LF, "C:prefix" reads a line that must start with prefix.
// It stops at the end of the script (closing the connection) or at the first surprise,
// which it reports on the returned channel.
func scripted(t *testing.T, steps ...string) (netip.AddrPort, chan error) {
	t.Helper()
	errs := make(chan error, 8)
	addr := serve(t, "tcp4", func(c net.Conn) {
		r := bufio.NewReader(c)
		for _, s := range steps {
			switch s[:2] {
			case "S:":
				fmt.Fprintf(c, "%s\r\n", s[2:])
			case "C:":
				l, err := r.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("waiting for %q: %v", s[2:], err)
					return
				}
				if l = strings.TrimRight(l, "\r\n"); !strings.HasPrefix(l, s[2:]) {
					errs <- fmt.Errorf("client sent %q, want %q", l, s[2:])
					return
				}
			}
		}
	})
	return addr, errs
}

// noSurprise fails the test if the scripted server reported one.
func noSurprise(t *testing.T, errs chan error) {
	t.Helper()
	select {
	case err := <-errs:
		t.Error(err)
	default:
	}
}

func TestSMTPChecker(t *testing.T) {
	tests := []struct {
		name   string
		check  config.Check
		script []string
		ok     bool
		reason string
	}{
		{"keepalived", config.Check{Kind: config.CheckSMTP},
			[]string{"S:220 mx.example.org ESMTP", "C:HELO smtpchecker.keepalived.org", "S:250 mx.example.org", "C:QUIT", "S:221 bye"},
			true, `smtp: "250 mx.example.org"`},
		{"helo_name", config.Check{Kind: config.CheckSMTP, Request: "lvs.example.org"},
			[]string{"S:220 mx", "C:HELO lvs.example.org", "S:250 hi", "C:QUIT", "S:221 bye"}, true, "smtp"},
		{"multi-line replies", config.Check{Kind: config.CheckSMTP},
			[]string{"S:220-mx.example.org ESMTP", "S:220-no UCE", "S:220 welcome", "C:HELO ", "S:250-mx", "S:250 PIPELINING", "C:QUIT", "S:221 bye"},
			true, `smtp: "250 PIPELINING"`},
		{"bad greeting", config.Check{Kind: config.CheckSMTP}, []string{"S:554 no service"}, false, `smtp: greeting "554 no service", want 220`},
		{"HELO refused", config.Check{Kind: config.CheckSMTP}, []string{"S:220 mx", "C:HELO", "S:550 go away"}, false, `smtp: HELO: reply "550 go away", want 250`},
		{"no reply to QUIT", config.Check{Kind: config.CheckSMTP}, []string{"S:220 mx", "C:HELO", "S:250 ok", "C:QUIT"}, false, "smtp: QUIT: connection closed"},
		{"garbage greeting", config.Check{Kind: config.CheckSMTP}, []string{"S:hello"}, false, `smtp: greeting: bad reply "hello"`},
		{"ldirectord EHLO", config.Check{Kind: config.CheckNegotiate, Service: "smtp"},
			[]string{"S:220 mx", "C:EHLO localhost.localdomain", "S:250-mx", "S:250 8BITMIME", "C:QUIT"}, true, "smtp"},
		{"ldirectord falls back to HELO", config.Check{Kind: config.CheckNegotiate, Service: "submission"},
			[]string{"S:220 mx", "C:EHLO localhost.localdomain", "S:502 what", "C:HELO localhost.localdomain", "S:250 ok", "C:QUIT"}, true, "smtp"},
		{"ldirectord any 2xx greeting", config.Check{Kind: config.CheckNegotiate, Service: "smtp"},
			[]string{"S:200 odd but fine", "C:EHLO", "S:250 ok", "C:QUIT"}, true, "smtp"},
		{"ldirectord greeting 421", config.Check{Kind: config.CheckNegotiate, Service: "smtp"}, []string{"S:421 busy"}, false, "want 2xx"},
		{"ldirectord HELO refused", config.Check{Kind: config.CheckNegotiate, Service: "smtp"},
			[]string{"S:220 mx", "C:EHLO", "S:502 no", "C:HELO", "S:550 no"}, false, `smtp: HELO: reply "550 no", want 2xx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, errs := scripted(t, tt.script...)
			c := tt.check
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
			noSurprise(t, errs)
		})
	}
}
