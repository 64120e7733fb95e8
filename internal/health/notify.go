package health

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// NotifierOptions configure a Notifier.
type NotifierOptions struct {
	// Timeout bounds one command; when it expires the command's process group is killed.
	// Default 30 s.
	Timeout time.Duration
	// MaxRunning is how many commands may run at once (default 16); more wait their turn.
	MaxRunning int
	// MaxQueued is how many commands may wait (default 4096); beyond it actions are
	// dropped, and logged as dropped.
	MaxQueued int
	// Logger receives one line per command: what ran, why, its exit status and duration.
	// Nil discards.
	Logger *slog.Logger
}

// Notifier runs the commands of actions (notify_up/down, quorum_up/down, the callback)
// without blocking the caller: commands start in the order they were given, up to
// MaxRunning at once, each with its own timeout. Like keepalived's notify_exec, it does not
// wait for one command to end before starting the next.
//
// Its methods are safe for concurrent use.
type Notifier struct {
	opts   NotifierOptions
	ctx    context.Context
	cancel context.CancelFunc
	queue  chan Action
	sem    chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// NewNotifier starts a notifier; Close stops it.
func NewNotifier(opts NotifierOptions) *Notifier {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = 16
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{opts: opts, ctx: ctx, cancel: cancel, queue: make(chan Action, opts.MaxQueued),
		sem: make(chan struct{}, opts.MaxRunning), done: make(chan struct{})}
	go n.dispatch()
	return n
}

// Run queues the commands of acts, skipping actions without a command, and returns at
// once. After Close it only logs them as dropped.
func (n *Notifier) Run(acts []Action) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range acts {
		if a.Command == "" {
			continue
		}
		if n.closed {
			n.opts.Logger.Warn("command dropped: notifier closed", actionAttrs(a)...)
			continue
		}
		select {
		case n.queue <- a:
		default:
			n.opts.Logger.Error("command dropped: too many commands waiting", actionAttrs(a)...)
		}
	}
}

func (n *Notifier) dispatch() {
	defer close(n.done)
	for a := range n.queue {
		select {
		case n.sem <- struct{}{}:
		case <-n.ctx.Done():
			n.opts.Logger.Warn("command dropped: notifier closed", actionAttrs(a)...)
			continue
		}
		n.wg.Add(1)
		go func() {
			defer func() { <-n.sem; n.wg.Done() }()
			n.exec(a)
		}()
	}
}

// Close stops accepting commands and waits for the queued and running ones to end, or for
// ctx to end: then the commands still running are killed and those still queued dropped,
// and Close returns ctx's error once they are gone.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		<-n.done
		n.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-finished
		return ctx.Err()
	}
}

func (n *Notifier) exec(a Action) {
	attrs := actionAttrs(a)
	argv, err := config.SplitCommand(a.Command)
	if err != nil {
		n.opts.Logger.Error("command not run", append(attrs, "err", err)...)
		return
	}
	argv = append(argv, a.Args...)
	ctx, cancel := context.WithTimeout(n.ctx, n.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	killGroup(cmd)
	cmd.WaitDelay = time.Second
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	attrs = append(attrs, "argv", argv, "duration", time.Since(start).Round(time.Millisecond))
	switch {
	case err == nil:
		n.opts.Logger.Info("command done", append(attrs, "exit", 0)...)
	case ctx.Err() != nil && n.ctx.Err() == nil:
		n.opts.Logger.Warn("command timed out, killed", append(attrs, "timeout", n.opts.Timeout, "output", out.String())...)
	case cmd.ProcessState != nil:
		n.opts.Logger.Warn("command failed", append(attrs, "exit", cmd.ProcessState.ExitCode(),
			"status", cmd.ProcessState.String(), "output", out.String())...)
	default:
		n.opts.Logger.Error("command not run", append(attrs, "err", err)...)
	}
}

func actionAttrs(a Action) []any {
	attrs := []any{"action", string(a.Kind), "service", a.Service.String(), "command", a.Command, "reason", a.Reason}
	if a.Real.IsValid() {
		attrs = append(attrs, "real", a.Real.String())
	}
	return attrs
}

// tailBuffer keeps the last 512 bytes written to it, for the log of a failed command.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const tailMax = 512

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 2*tailMax {
		b := t.buf.Bytes()
		tail := append([]byte(nil), b[len(b)-tailMax:]...)
		t.buf.Reset()
		t.buf.Write(tail)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf.Bytes()
	if len(b) > tailMax {
		b = b[len(b)-tailMax:]
	}
	return strings.TrimSpace(string(b))
}
