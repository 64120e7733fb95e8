package main

import (
	"errors"
	"fmt"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/ipvsadm"
)

// restoreLines is ipvsadm's -R (restore_table): each command line of standard input runs in
// order, as if given on the command line. A line that does not parse prints ipvsadm's
// message; if that error is fatal (most are) the restore ends with its status, else it goes
// on. A line the table refuses prints the kernel's refusal and the restore goes on. -h and
// -v print and end the restore with status 0, -L of a missing service ends it with status
// 1. The exit status is the last line's: 0 when the last line ran, whatever failed before
// (as the real ipvsadm 1.31 does, checked in the IPVS VM).
func (c *cli) restoreLines() int {
	lines, err := c.parser.ParseRestore(c.stdin)
	if err != nil {
		return c.fail(fmt.Errorf("restore: reading standard input: %w", err))
	}
	status := 0
	for _, l := range lines {
		if l.Err != nil {
			status = c.print(l.Err)
			if l.Err.Fatal {
				return status
			}
			continue
		}
		var stop bool
		if status, stop = c.do(l.Cmd); stop {
			return status
		}
	}
	return status
}

// restoreBatch reads -R input and has lvsd apply it as one batch: all lines or none. A line
// that does not parse, or that lvsd refuses, is reported with ipvsadm's message and its line
// number, and nothing is applied (ipvsadm itself applies the good lines and skips the bad
// ones).
func (c *cli) restoreBatch() int {
	lines, err := c.parser.ParseRestore(c.stdin)
	if err != nil {
		return c.fail(fmt.Errorf("restore: reading standard input: %w", err))
	}
	var ops []director.Op
	var from []ipvsadm.RestoreLine
	for _, l := range lines {
		if l.Err != nil {
			fmt.Fprint(c.stderr, withNewline(l.Err.Msg))
			fmt.Fprintf(c.stderr, "lvsadm: restore: line %d is wrong; nothing was restored\n", l.Line)
			return l.Err.Status
		}
		op, err := ctl.Op(l.Cmd)
		if err != nil {
			fmt.Fprintf(c.stderr, "lvsadm: restore: line %d: %v; nothing was restored\n", l.Line, err)
			return 2
		}
		ops = append(ops, op)
		from = append(from, l)
	}
	if len(ops) == 0 {
		return 0
	}
	ctx, cancel := c.ctx()
	defer cancel()
	err = c.b.Exec(ctx, ops)
	if err == nil {
		return 0
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Index >= 0 && ae.Index < len(from) {
		l := from[ae.Index]
		status := c.print(c.b.Refusal(l.Cmd, err))
		fmt.Fprintf(c.stderr, "lvsadm: restore: line %d was refused; nothing was restored\n", l.Line)
		return status
	}
	return c.print(c.b.Refusal(&ipvsadm.Command{Kind: ipvsadm.Restore}, err))
}
