// Package director owns the desired virtual-service table of lvsd. One goroutine holds it;
// every change arrives as a batch of operations (an lvsadm command, an ipvsadm-restore file, a
// config reload) that is applied to a copy, validated, handed to the engine, persisted, and
// only then made current. A batch that fails anywhere leaves the table and the engine as they
// were.
package director

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// OpKind names a table operation, after the ipvsadm command that asks for it.
type OpKind string

// Operations.
const (
	AddService    OpKind = "add-service"    // -A: Service
	EditService   OpKind = "edit-service"   // -E: Service
	DeleteService OpKind = "delete-service" // -D: Key
	Flush         OpKind = "clear"          // -C
	AddReal       OpKind = "add-server"     // -a: Key, Real
	EditReal      OpKind = "edit-server"    // -e: Key, Real
	DeleteReal    OpKind = "delete-server"  // -d: Key, Real (address and port)
	SetTimeouts   OpKind = "set"            // --set: Timeouts (0 leaves a value unchanged)
	Zero          OpKind = "zero"           // -Z: Key, or every service when Key is nil
	StartDaemon   OpKind = "start-daemon"   // --start-daemon: Daemon
	StopDaemon    OpKind = "stop-daemon"    // --stop-daemon: Daemon (its role)
)

// Op is one table operation.
type Op struct {
	Kind     OpKind             `json:"kind"`
	Service  *lb.Service        `json:"service,omitempty"`
	Key      *lb.ServiceKey     `json:"key,omitempty"`
	Real     *lb.Real           `json:"real,omitempty"`
	Timeouts *lb.Timeouts       `json:"timeouts,omitempty"`
	Daemon   *engine.SyncDaemon `json:"daemon,omitempty"`
}

// OpError reports which operation of a batch failed.
type OpError struct {
	Index int // position in the batch, from 0
	Op    Op
	Err   error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("operation %d (%s): %v", e.Index+1, e.Op.Kind, e.Err)
}
func (e *OpError) Unwrap() error { return e.Err }

// Config configures a Director.
type Config struct {
	// Engine is the data plane; the director applies every accepted state to it.
	Engine engine.Engine
	// Catalog says which schedulers and persistence engines exist.
	Catalog lb.Catalog
	// Store persists accepted states; nil keeps nothing across restarts.
	Store *Store
	// Logger receives one line per accepted or refused change; nil discards.
	Logger *slog.Logger
}

// Director serialises all changes to the table. Its methods are safe for concurrent use
// once Run has been started.
type Director struct {
	cfg  Config
	reqs chan request
	done chan struct{}
}

type request struct {
	ctx   context.Context
	run   func(cur *lb.State) (*lb.State, error)
	reply chan result
}

type result struct {
	st  *lb.State
	err error
}

// New returns a director whose table starts as initial (nil = empty); initial is applied to
// the engine by Run before anything else.
func New(cfg Config) *Director {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Director{cfg: cfg, reqs: make(chan request), done: make(chan struct{})}
}

// Run applies initial to the engine and then serves requests until ctx ends. It returns the
// error of the initial Apply, if any (the director then serves nothing), or nil.
func (d *Director) Run(ctx context.Context, initial *lb.State) error {
	defer close(d.done)
	cur := &lb.State{Timeouts: lb.DefaultTimeouts}
	if initial != nil {
		if err := d.cfg.Engine.Apply(initial); err != nil {
			return fmt.Errorf("initial table: %w", err)
		}
		cur = initial.Clone()
		d.persist(cur)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-d.reqs:
			next, err := r.run(cur)
			if err == nil && next != nil {
				cur = next
			}
			r.reply <- result{cur.Clone(), err}
		}
	}
}

// do runs fn on the goroutine that owns the table.
func (d *Director) do(ctx context.Context, fn func(cur *lb.State) (*lb.State, error)) (*lb.State, error) {
	r := request{ctx: ctx, run: fn, reply: make(chan result, 1)}
	select {
	case d.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-d.done:
		return nil, errors.New("director stopped")
	}
	res := <-r.reply
	return res.st, res.err
}

// State returns a copy of the current table.
func (d *Director) State(ctx context.Context) (*lb.State, error) {
	return d.do(ctx, func(*lb.State) (*lb.State, error) { return nil, nil })
}

// Exec applies a batch of operations atomically: all of them, or (on the first error, which
// is returned as an *OpError wrapping the lb or engine error) none. Zero operations act on
// the engine's counters once the rest of the batch has been applied.
func (d *Director) Exec(ctx context.Context, ops []Op) error {
	_, err := d.do(ctx, func(cur *lb.State) (*lb.State, error) {
		next := cur.Clone()
		var zeros []int
		for i, op := range ops {
			if op.Kind == StartDaemon || op.Kind == StopDaemon {
				if len(ops) != 1 {
					return nil, &OpError{i, op, fmt.Errorf("%s must be alone in a batch: %w", op.Kind, lb.ErrInvalid)}
				}
				if err := d.daemon(op); err != nil {
					return nil, &OpError{i, op, err}
				}
				return nil, nil
			}
			if op.Kind == Zero {
				if op.Key != nil && next.Find(*op.Key) == nil {
					return nil, &OpError{i, op, fmt.Errorf("zero %s: %w", *op.Key, lb.ErrNoService)}
				}
				zeros = append(zeros, i)
				continue
			}
			if err := Apply(next, op, d.cfg.Catalog); err != nil {
				return nil, &OpError{i, op, err}
			}
		}
		if err := d.commit(cur, next); err != nil {
			return nil, err
		}
		for _, i := range zeros {
			if err := d.cfg.Engine.Zero(ops[i].Key); err != nil {
				return next, &OpError{i, ops[i], err}
			}
		}
		return next, nil
	})
	return err
}

// daemon starts or stops a connection-sync daemon on engines that have them.
func (d *Director) daemon(op Op) error {
	sy, ok := d.cfg.Engine.(engine.Syncer)
	if !ok {
		return fmt.Errorf("%s engine: %w", d.cfg.Engine.Name(), engine.NotSupported("the connection sync daemon", "the ipvs engine"))
	}
	if op.Daemon == nil {
		return fmt.Errorf("%s without a daemon: %w", op.Kind, lb.ErrInvalid)
	}
	if op.Kind == StartDaemon {
		return sy.StartDaemon(*op.Daemon)
	}
	return sy.StopDaemon(op.Daemon.Backup)
}

// Replace makes st the whole table (a config reload): the engine applies only the
// difference. A state that fails validation or that the engine refuses changes nothing.
func (d *Director) Replace(ctx context.Context, st *lb.State) error {
	_, err := d.do(ctx, func(cur *lb.State) (*lb.State, error) {
		next := &lb.State{Timeouts: st.Timeouts}
		for _, s := range st.Services {
			if err := next.AddService(s, d.cfg.Catalog); err != nil {
				return nil, err
			}
		}
		if err := d.commit(cur, next); err != nil {
			return nil, err
		}
		return next, nil
	})
	return err
}

// commit hands next to the engine, rolling back to cur if the engine fails, and persists it.
func (d *Director) commit(cur, next *lb.State) error {
	delta := lb.Diff(cur, next)
	if delta.Empty() {
		return nil
	}
	if err := d.cfg.Engine.Apply(next); err != nil {
		// A refusal for a missing feature comes before any change (the Engine contract);
		// anything else may have left next partly applied.
		if errors.Is(err, engine.ErrNotSupported) {
			d.cfg.Logger.Warn("change refused by the engine", "engine", d.cfg.Engine.Name(), "err", err)
			return err
		}
		if rerr := d.cfg.Engine.Apply(cur); rerr != nil {
			d.cfg.Logger.Error("engine rollback failed; the data plane may differ from the table",
				"engine", d.cfg.Engine.Name(), "err", rerr)
		}
		d.cfg.Logger.Warn("change refused by the engine", "engine", d.cfg.Engine.Name(), "err", err)
		return err
	}
	d.cfg.Logger.Info("table changed", "added", len(delta.Added), "removed", len(delta.Removed),
		"changed", len(delta.Changed), "services", len(next.Services))
	d.persist(next)
	return nil
}

func (d *Director) persist(st *lb.State) {
	if d.cfg.Store == nil {
		return
	}
	if err := d.cfg.Store.Save(st); err != nil {
		d.cfg.Logger.Error("saving the table failed; a restart would lose the last change", "path", d.cfg.Store.Path, "err", err)
	}
}

// Apply performs one table operation on st (not Zero or the daemon operations, which act on
// the engine). It fails with the lb error of the operation, or lb.ErrInvalid for an operation
// that is incomplete or of another kind, and then leaves st as it was.
func Apply(st *lb.State, op Op, cat lb.Catalog) error {
	switch op.Kind {
	case AddService, EditService:
		if op.Service == nil {
			return fmt.Errorf("%s without a service: %w", op.Kind, lb.ErrInvalid)
		}
		if op.Kind == AddService {
			return st.AddService(op.Service, cat)
		}
		return st.EditService(op.Service, cat)
	case DeleteService:
		if op.Key == nil {
			return fmt.Errorf("%s without a service: %w", op.Kind, lb.ErrInvalid)
		}
		return st.DeleteService(*op.Key)
	case Flush:
		st.Flush()
		return nil
	case AddReal, EditReal, DeleteReal:
		if op.Key == nil || op.Real == nil {
			return fmt.Errorf("%s without a service or real: %w", op.Kind, lb.ErrInvalid)
		}
		switch op.Kind {
		case AddReal:
			return st.AddReal(*op.Key, *op.Real)
		case EditReal:
			return st.EditReal(*op.Key, *op.Real)
		}
		return st.DeleteReal(*op.Key, op.Real.Addr, op.Real.Port)
	case SetTimeouts:
		if op.Timeouts == nil {
			return fmt.Errorf("%s without timeouts: %w", op.Kind, lb.ErrInvalid)
		}
		t := *op.Timeouts
		if t.TCP != 0 {
			st.Timeouts.TCP = t.TCP
		}
		if t.TCPFin != 0 {
			st.Timeouts.TCPFin = t.TCPFin
		}
		if t.UDP != 0 {
			st.Timeouts.UDP = t.UDP
		}
		return nil
	}
	return fmt.Errorf("unknown operation %q: %w", op.Kind, lb.ErrInvalid)
}
