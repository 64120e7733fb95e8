package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/golvs/golvs/internal/api"
	"github.com/golvs/golvs/internal/ctl"
	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsadm"
)

// backend is the IPVS table lvsadm reads and changes: lvsd's, through its API (the default),
// or the kernel's, directly (--kernel).
type backend interface {
	// Exec applies ops, director operations as ctl.Op builds them, in order. lvsd applies
	// them as one batch, all or none; the kernel one by one, stopping at the first refusal,
	// which is then a *director.OpError.
	Exec(ctx context.Context, ops []director.Op) error
	// Table returns the table as ipvsadm's listings show it: services with their counters,
	// the timeouts, the sync daemons and, when conns is true, the connection entries.
	Table(ctx context.Context, conns bool) (*ipvsadm.Table, error)
	// Refusal returns what ipvsadm prints, with its exit status, when Exec or Table fails
	// with err for cmd.
	Refusal(cmd *ipvsadm.Command, err error) *ipvsadm.Error
	// Close releases the connection to the table.
	Close() error
}

// Interface guards.
var (
	_ backend = (*lvsdBackend)(nil)
	_ backend = (*kernelBackend)(nil)
)

// lvsdBackend is a running lvsd, through its API socket.
type lvsdBackend struct {
	client *api.Client
	socket string
}

func (b *lvsdBackend) Exec(ctx context.Context, ops []director.Op) error {
	return b.client.Exec(ctx, ops)
}

func (b *lvsdBackend) Table(ctx context.Context, conns bool) (*ipvsadm.Table, error) {
	snap, err := b.client.Snapshot(ctx, conns)
	if err != nil {
		return nil, err
	}
	return ctl.Table(snap), nil
}

// Refusal words lvsd's refusals as ipvsadm words the kernel's; a refusal for a feature the
// engine lacks as ipvsadm's EOPNOTSUPP, then lvsd's reason; and no answer at all as what it
// is, with a hint.
func (b *lvsdBackend) Refusal(cmd *ipvsadm.Command, err error) *ipvsadm.Error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return &ipvsadm.Error{Status: 1, Fatal: true, Msg: fmt.Sprintf(
			"lvsadm: cannot reach lvsd at %s: %v\nIs lvsd running? --socket PATH or $LVSD_SOCKET name another socket.",
			b.socket, unwrapNet(err))}
	}
	if errors.Is(err, engine.ErrNotSupported) {
		return &ipvsadm.Error{Msg: "Operation not supported\nlvsadm: " + ae.Msg, Status: 255}
	}
	return ipvsadm.KernelError(cmd, err)
}

func (b *lvsdBackend) Close() error { return nil }

// unwrapNet returns the network error inside err, if any, without the HTTP wrapping.
func unwrapNet(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	return err
}
