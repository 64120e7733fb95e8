// Command lvsadm is GoLVS's ipvsadm: the same commands, options, output, error messages and
// exit statuses as ipvsadm 1.31, acting on a running lvsd through its API socket. Invoked
// through a link named ipvsadm it behaves the same.
//
//	lvsadm [--socket PATH] IPVSADM-ARGUMENTS...
//
// The socket is --socket PATH, else $LVSD_SOCKET, else /run/lvsd.sock. Unlike ipvsadm, -R is
// atomic: a restore with a bad line applies nothing and names the line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsadm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// prog is the name in messages: ipvsadm's own, so that output is byte-identical to it.
const prog = "ipvsadm"

// cli is one invocation's environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	client         *api.Client
	socket         string
	parser         ipvsadm.Parser
	printer        ipvsadm.Printer
}

// run executes one lvsadm invocation and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	socket, args, err := socketFlag(args)
	if err != nil {
		fmt.Fprintf(stderr, "lvsadm: %v\n", err)
		return 2
	}
	if socket == "" {
		socket = getenv("LVSD_SOCKET")
	}
	if socket == "" {
		socket = api.DefaultSocket
	}
	res := &ipvsadm.SystemResolver{}
	c := &cli{
		stdin: stdin, stdout: stdout, stderr: stderr,
		client: api.NewClient(socket), socket: socket,
		parser:  ipvsadm.Parser{Prog: prog, Resolver: res},
		printer: ipvsadm.Printer{Prog: prog, Resolver: res},
	}
	cmd, err := c.parser.Parse(args)
	if err != nil {
		return c.fail(err)
	}
	return c.exec(cmd)
}

// socketFlag removes lvsadm's own --socket PATH / --socket=PATH from args. It must come
// before the ipvsadm arguments' first non-option word, which ipvsadm options never need.
func socketFlag(args []string) (string, []string, error) {
	var socket string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--socket":
			if i+1 >= len(args) {
				return "", nil, errors.New("--socket needs a path")
			}
			socket = args[i+1]
			i++
		case strings.HasPrefix(a, "--socket="):
			socket = strings.TrimPrefix(a, "--socket=")
		default:
			rest = append(rest, a)
		}
	}
	return socket, rest, nil
}

// fail prints err as ipvsadm would and returns the exit status.
func (c *cli) fail(err error) int {
	var ie *ipvsadm.Error
	if errors.As(err, &ie) {
		fmt.Fprint(c.stderr, withNewline(ie.Msg))
		return ie.Status
	}
	fmt.Fprintf(c.stderr, "lvsadm: %v\n", err)
	return 1
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func (c *cli) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

func (c *cli) exec(cmd *ipvsadm.Command) int {
	switch cmd.Kind {
	case ipvsadm.Help, ipvsadm.Version:
		if err := c.printer.Print(c.stdout, cmd, nil); err != nil {
			return c.fail(err)
		}
		return 0
	case ipvsadm.List, ipvsadm.Save:
		return c.list(cmd)
	case ipvsadm.Restore:
		return c.restore()
	}
	op, err := ctl.Op(cmd)
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.client.Exec(ctx, []director.Op{op}); err != nil {
		return c.refused(cmd, err)
	}
	return 0
}

// refused prints lvsd's refusal of cmd in ipvsadm's words and returns the exit status.
func (c *cli) refused(cmd *ipvsadm.Command, err error) int {
	var ae *api.Error
	if !errors.As(err, &ae) {
		// no answer from lvsd at all
		fmt.Fprintf(c.stderr, "lvsadm: cannot reach lvsd at %s: %v\n", c.socket, unwrapNet(err))
		fmt.Fprintf(c.stderr, "Is lvsd running? --socket PATH or $LVSD_SOCKET name another socket.\n")
		return 1
	}
	if errors.Is(err, engine.ErrNotSupported) {
		// what ipvsadm prints when the kernel lacks a feature (EOPNOTSUPP), then why
		fmt.Fprintf(c.stderr, "Operation not supported\nlvsadm: %s\n", ae.Msg)
		return 255
	}
	ke := ipvsadm.KernelError(cmd, err)
	fmt.Fprint(c.stderr, withNewline(ke.Msg))
	return ke.Status
}

// unwrapNet returns the network error inside err, if any, without the HTTP wrapping.
func unwrapNet(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	return err
}

func (c *cli) list(cmd *ipvsadm.Command) int {
	ctx, cancel := c.ctx()
	defer cancel()
	snap, err := c.client.Snapshot(ctx, cmd.List.Connections)
	if err != nil {
		return c.refused(cmd, err)
	}
	if err := c.printer.Print(c.stdout, cmd, ctl.Table(snap)); err != nil {
		return c.fail(err)
	}
	return 0
}

// restore reads -R input and applies it as one batch: all lines or none. A line that does not
// parse, or that lvsd refuses, is reported with ipvsadm's message and its line number, and
// nothing is applied (ipvsadm itself applies the good lines and skips the bad ones).
func (c *cli) restore() int {
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
	err = c.client.Exec(ctx, ops)
	if err == nil {
		return 0
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Index >= 0 && ae.Index < len(from) {
		l := from[ae.Index]
		status := c.refused(l.Cmd, err)
		fmt.Fprintf(c.stderr, "lvsadm: restore: line %d was refused; nothing was restored\n", l.Line)
		return status
	}
	return c.refused(&ipvsadm.Command{Kind: ipvsadm.Restore}, err)
}
