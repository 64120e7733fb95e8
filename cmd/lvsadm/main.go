// Command lvsadm is GoLVS's ipvsadm: the same commands, options, output, error messages and
// exit statuses as ipvsadm 1.31. By default it acts on a running lvsd through its API
// socket; with --kernel it acts on the kernel's IPVS table directly, as ipvsadm does, and
// needs no lvsd. Invoked through a link named ipvsadm it behaves the same.
//
//	lvsadm [--socket PATH] IPVSADM-ARGUMENTS...
//	lvsadm --kernel IPVSADM-ARGUMENTS...
//
// The socket is --socket PATH, else $LVSD_SOCKET, else /run/lvsd.sock. With lvsd, -R is
// atomic: a restore with a bad line applies nothing and names the line. With --kernel, -R is
// ipvsadm's: each line is applied in order, a refused line prints its message and the
// others go on, and the exit status is the last line's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/ipvsadm"
)

func main() {
	os.Exit(run(os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		openKernel: openKernel,
	}))
}

// prog is the name in messages: ipvsadm's own, so that output is byte-identical to it.
const prog = "ipvsadm"

// env is what one invocation gets from its process: standard streams, the environment and
// the way to open the kernel's IPVS table (tests pass a fake kernel's).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	openKernel     func(stderr io.Writer) (backend, error)
}

// cli is one invocation's state.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	b              backend
	// lineRestore makes -R ipvsadm's (each line on its own) instead of one atomic batch.
	lineRestore bool
	parser      ipvsadm.Parser
	printer     ipvsadm.Printer
}

// run executes one lvsadm invocation and returns its exit status.
func run(args []string, e env) int {
	own, args, err := ownFlags(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "lvsadm: %v\n", err)
		return 2
	}
	res := &ipvsadm.SystemResolver{}
	c := &cli{
		stdin: e.stdin, stdout: e.stdout, stderr: e.stderr,
		parser:  ipvsadm.Parser{Prog: prog, Resolver: res},
		printer: ipvsadm.Printer{Prog: prog, Resolver: res},
	}
	if own.kernel {
		// ipvsadm opens IPVS before it looks at its arguments, and gives up if it cannot.
		if c.b, err = e.openKernel(e.stderr); err != nil {
			return c.fail(err)
		}
		c.lineRestore = true
	} else {
		socket := own.socket
		if socket == "" {
			socket = e.getenv("LVSD_SOCKET")
		}
		if socket == "" {
			socket = api.DefaultSocket
		}
		c.b = &lvsdBackend{client: api.NewClient(socket), socket: socket}
	}
	defer c.b.Close()
	cmd, err := c.parser.Parse(args)
	if err != nil {
		return c.fail(err)
	}
	if cmd.Kind == ipvsadm.Restore {
		if c.lineRestore {
			return c.restoreLines()
		}
		return c.restoreBatch()
	}
	status, _ := c.do(cmd)
	return status
}

// ownFlagSet holds lvsadm's own flags, which ipvsadm does not have.
type ownFlagSet struct {
	socket string // --socket PATH: lvsd's API socket
	kernel bool   // --kernel: the kernel's IPVS table, no lvsd
}

// ownFlags removes lvsadm's own flags (--socket PATH, --socket=PATH, --kernel) from args,
// wherever they are: no ipvsadm option takes such a word as its value.
func ownFlags(args []string) (ownFlagSet, []string, error) {
	var f ownFlagSet
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--socket":
			if i+1 >= len(args) {
				return f, nil, errors.New("--socket needs a path")
			}
			f.socket = args[i+1]
			i++
		case strings.HasPrefix(a, "--socket="):
			f.socket = strings.TrimPrefix(a, "--socket=")
		case a == "--kernel":
			f.kernel = true
		default:
			rest = append(rest, a)
		}
	}
	if f.kernel && f.socket != "" {
		return f, nil, errors.New("--kernel acts on the kernel's table without lvsd: it does not go with --socket")
	}
	return f, rest, nil
}

// fail prints err as ipvsadm would and returns the exit status.
func (c *cli) fail(err error) int {
	var ie *ipvsadm.Error
	if errors.As(err, &ie) {
		return c.print(ie)
	}
	fmt.Fprintf(c.stderr, "lvsadm: %v\n", err)
	return 1
}

// print writes e's message to stderr and returns its exit status.
func (c *cli) print(e *ipvsadm.Error) int {
	fmt.Fprint(c.stderr, withNewline(e.Msg))
	return e.Status
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

// do runs one command other than -R, printing its output and errors, and returns its exit
// status; stop reports that ipvsadm would end a restore there (-h, -v, a failed listing, an
// argument error that is fatal).
func (c *cli) do(cmd *ipvsadm.Command) (status int, stop bool) {
	switch cmd.Kind {
	case ipvsadm.Help, ipvsadm.Version:
		if err := c.printer.Print(c.stdout, cmd, nil); err != nil {
			return c.fail(err), true
		}
		return 0, true
	case ipvsadm.List, ipvsadm.Save:
		return c.list(cmd)
	}
	op, err := ctl.Op(cmd)
	if err != nil {
		return c.fail(err), true
	}
	ctx, cancel := c.ctx()
	defer cancel()
	if err := c.b.Exec(ctx, []director.Op{op}); err != nil {
		r := c.b.Refusal(cmd, err)
		return c.print(r), r.Fatal
	}
	return 0, false
}

func (c *cli) list(cmd *ipvsadm.Command) (status int, stop bool) {
	ctx, cancel := c.ctx()
	defer cancel()
	t, err := c.b.Table(ctx, cmd.Kind == ipvsadm.List && cmd.List.Connections)
	if err != nil {
		r := c.b.Refusal(cmd, err)
		return c.print(r), r.Fatal
	}
	if err := c.printer.Print(c.stdout, cmd, t); err != nil {
		var ie *ipvsadm.Error
		if errors.As(err, &ie) {
			return c.print(ie), ie.Fatal
		}
		return c.fail(err), true
	}
	return 0, false
}
