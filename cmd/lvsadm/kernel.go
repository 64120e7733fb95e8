package main

import (
	"context"
	"errors"
	"io"
	"os/exec"

	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/kernelctl"
)

// kernelBackend is the kernel's IPVS table, edited directly (lvsadm --kernel).
type kernelBackend struct {
	k *kernelctl.Kernel
}

// openKernel opens the IPVS table of lvsadm's network namespace as ipvsadm does: when that
// fails it runs `/sbin/modprobe -- ip_vs` (its output goes where lvsadm's goes) and tries
// once more; if that fails too, the error is ipvsadm's "Can't initialize ipvs" (status 2).
func openKernel(stderr io.Writer) (backend, error) {
	k, err := kernelctl.Open(kernelctl.Options{})
	if err != nil {
		mp := exec.Command("/sbin/modprobe", "--", "ip_vs")
		mp.Stdout, mp.Stderr = stderr, stderr
		if mp.Run() == nil {
			k, err = kernelctl.Open(kernelctl.Options{})
		}
	}
	if err != nil {
		return nil, ipvsadm.InitError(kernelctl.Errno(err))
	}
	return &kernelBackend{k: k}, nil
}

func (b *kernelBackend) Exec(_ context.Context, ops []director.Op) error {
	for i, op := range ops {
		if err := b.k.Exec(op); err != nil {
			return &director.OpError{Index: i, Op: op, Err: err}
		}
	}
	return nil
}

func (b *kernelBackend) Table(_ context.Context, conns bool) (*ipvsadm.Table, error) {
	return b.k.Table(conns)
}

// Refusal is ipvsadm.KernelError: the kernel's errno in ipvsadm's words. A connection table
// that cannot be read is ipvsadm's "cannot open file /proc/net/ip_vs_conn", status 1.
func (b *kernelBackend) Refusal(cmd *ipvsadm.Command, err error) *ipvsadm.Error {
	var cf *kernelctl.ConnFileError
	if errors.As(err, &cf) {
		return &ipvsadm.Error{Msg: "cannot open file /proc/net/ip_vs_conn", Status: 1, Fatal: true}
	}
	return ipvsadm.KernelError(cmd, err)
}

func (b *kernelBackend) Close() error { return b.k.Close() }
