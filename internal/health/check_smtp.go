package health

import (
	"context"
	"fmt"
)

// smtpDefaultHELO is keepalived's SMTP_DEFAULT_HELO (keepalived/include/check_smtp.h).
const smtpDefaultHELO = "smtpchecker.keepalived.org"

// SMTPChecker holds a short SMTP conversation with the real.
//
// keepalived's SMTP_CHECK (keepalived/check/check_smtp.c, smtp_engine_thread): the greeting
// must be 220; "HELO <helo_name>" must be answered 250; then QUIT, and any reply to it ends
// the check with success (a server that closes without replying fails it). The HELO name is
// the check's Request (the keepalived adapter puts helo_name there), else
// smtpchecker.keepalived.org. keepalived reads one line per step; multi-line replies
// ("220-...") are read whole here, which keepalived gets wrong (it would take the rest of a
// multi-line greeting as the HELO reply).
//
// ldirectord's negotiate for service=smtp/submission (check_smtp, Net::SMTP->new then quit)
// is looser: any 2xx greeting, "EHLO localhost.localdomain" answered 2xx or else "HELO
// localhost.localdomain" answered 2xx, then QUIT without waiting.
type SMTPChecker struct {
	t          Target
	helo       string
	ldirectord bool
}

// Interface guards.
var _ Checker = (*SMTPChecker)(nil)

func newSMTPChecker(t Target, helo string, ldirectord bool) *SMTPChecker {
	if helo == "" {
		helo = smtpDefaultHELO
		if ldirectord {
			helo = "localhost.localdomain" // Net::SMTP hello's default
		}
	}
	return &SMTPChecker{t: t, helo: helo, ldirectord: ldirectord}
}

// Check runs the conversation, bounded by ctx, and fails at the first unexpected reply,
// quoting it ("HELO: reply "550 go away", want 250").
func (c *SMTPChecker) Check(ctx context.Context) Result {
	conn, err := dialTarget(ctx, c.t)
	if err != nil {
		return checkDownErr(ctx, "smtp: connect", err)
	}
	defer conn.Close()
	defer guardConn(ctx, conn)()
	tc := newTextConn(conn)

	code, l, err := tc.reply()
	if err != nil {
		return checkDownErr(ctx, "smtp: greeting", err)
	}
	if c.ldirectord {
		if code/100 != 2 {
			return checkDown("smtp: greeting %s, want 2xx", quoteReason(l))
		}
		code, l, err = smtpCmd(tc, "EHLO "+c.helo)
		if err == nil && code/100 != 2 {
			code, l, err = smtpCmd(tc, "HELO "+c.helo)
		}
		if err != nil {
			return checkDownErr(ctx, "smtp: EHLO", err)
		}
		if code/100 != 2 {
			return checkDown("smtp: HELO: reply %s, want 2xx", quoteReason(l))
		}
		tc.send("QUIT")
		return checkOK("smtp: %s", quoteReason(l))
	}
	if code != 220 {
		return checkDown("smtp: greeting %s, want 220", quoteReason(l))
	}
	code, l, err = smtpCmd(tc, "HELO "+c.helo)
	if err != nil {
		return checkDownErr(ctx, "smtp: HELO", err)
	}
	if code != 250 {
		return checkDown("smtp: HELO: reply %s, want 250", quoteReason(l))
	}
	if err := tc.send("QUIT"); err != nil {
		return checkDownErr(ctx, "smtp: QUIT", err)
	}
	if _, err := tc.line(); err != nil { // any line will do, as smtp_get_line_cb
		return checkDownErr(ctx, "smtp: QUIT", err)
	}
	return checkOK("smtp: %s", quoteReason(l))
}

func smtpCmd(tc *textConn, cmd string) (int, string, error) {
	if err := tc.send(cmd); err != nil {
		return 0, "", fmt.Errorf("send: %w", err)
	}
	return tc.reply()
}
