package kernelctl

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/golvs/golvs/internal/director"
	"github.com/golvs/golvs/internal/engine/ipvs"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// Options configure Open. The zero value acts on the IPVS table of the caller's network
// namespace.
type Options struct {
	// NetNS names the network namespace whose table to act on (see ipvsnl.Options).
	ipvsnl.Options
	// ConnFile is the connection table Table reads, in the namespace. Default
	// /proc/thread-self/net/ip_vs_conn: the namespace's /proc/net/ip_vs_conn, which is the
	// file ipvsadm -c reads.
	ConnFile string
	// Client is used instead of opening one (Options is then ignored); Close closes it.
	// Tests pass a fake kernel's client (package ipvsnltest).
	Client *ipvsnl.Client
}

// DefaultConnFile is the connection table of the reading thread's network namespace.
const DefaultConnFile = "/proc/thread-self/net/ip_vs_conn"

// Kernel is an open IPVS table. Its methods are safe for concurrent use (each is one or a
// few netlink requests; the kernel serialises them).
type Kernel struct {
	c        *ipvsnl.Client
	info     ipvsnl.Info
	connFile string
}

// Open connects to the kernel's IPVS and reads its version and connection table size, as
// ipvsadm's ipvs_init does before anything else. It fails wrapping ipvsnl.ErrNoIPVS when
// the kernel has no IPVS, and wrapping the errno when the kernel refuses (EPERM without
// CAP_NET_ADMIN); Errno tells which errno ipvsadm would report.
func Open(o Options) (*Kernel, error) {
	c := o.Client
	if c == nil {
		var err error
		if c, err = ipvsnl.Open(o.Options); err != nil {
			return nil, fmt.Errorf("kernel IPVS: %w", err)
		}
	}
	info, err := c.Info()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("kernel IPVS: %w", err)
	}
	k := &Kernel{c: c, info: info, connFile: o.ConnFile}
	if k.connFile == "" {
		k.connFile = DefaultConnFile
	}
	return k, nil
}

// Errno returns the errno ipvsadm reports when its ipvs_init fails for the reason err, an
// error of Open: the kernel's errno when err wraps one; for a kernel without IPVS, what
// libipvs's fallback to the old socket-option interface meets, ENOPROTOOPT (IP_VS_SO_GET_INFO
// unknown), or EPERM when the caller is not root (its raw socket needs CAP_NET_RAW; the
// effective user ID stands for that here); EINVAL otherwise.
func Errno(err error) syscall.Errno {
	var e syscall.Errno
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ipvsnl.ErrNoIPVS) && os.Geteuid() != 0:
		return syscall.EPERM
	case errors.Is(err, ipvsnl.ErrNoIPVS):
		return syscall.ENOPROTOOPT
	}
	return syscall.EINVAL
}

// Close closes the netlink socket; the kernel table stays as it is.
func (k *Kernel) Close() error { return k.c.Close() }

// Exec sends the netlink command of op, a director operation as ctl.Op builds it from an
// ipvsadm command, and returns the kernel's refusal, which wraps its errno (a
// syscall.Errno: ipvsadm.KernelError words it). Service settings are sent whole, flags with
// a full mask, as ipvsadm sends them (-E replaces every setting); destination deletions and
// service deletions send only the key. A zero timeout of --set leaves that timeout as it is
// (the kernel's rule). An operation lacking what its kind needs fails wrapping
// lb.ErrInvalid before anything is sent.
func (k *Kernel) Exec(op director.Op) error {
	missing := func(what string) error {
		return fmt.Errorf("kernel IPVS: %s without %s: %w", op.Kind, what, lb.ErrInvalid)
	}
	switch op.Kind {
	case director.AddService, director.EditService:
		if op.Service == nil {
			return missing("a service")
		}
		if op.Kind == director.AddService {
			return k.c.NewService(ipvs.KernelService(op.Service))
		}
		return k.c.SetService(ipvs.KernelService(op.Service))
	case director.DeleteService:
		if op.Key == nil {
			return missing("a service")
		}
		return k.c.DelService(ipvs.KernelKey(*op.Key))
	case director.Flush:
		return k.c.Flush()
	case director.AddReal, director.EditReal, director.DeleteReal:
		if op.Key == nil || op.Real == nil {
			return missing("a service and a real server")
		}
		key, dest := ipvs.KernelKey(*op.Key), ipvs.KernelDest(*op.Real)
		switch op.Kind {
		case director.AddReal:
			return k.c.NewDest(key, dest)
		case director.EditReal:
			return k.c.SetDest(key, dest)
		}
		return k.c.DelDest(key, dest)
	case director.SetTimeouts:
		if op.Timeouts == nil {
			return missing("timeouts")
		}
		t := op.Timeouts
		return k.c.SetTimeouts(ipvsnl.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP})
	case director.Zero:
		if op.Key == nil {
			return k.c.Zero(nil)
		}
		key := ipvs.KernelKey(*op.Key)
		return k.c.Zero(&key)
	case director.StartDaemon, director.StopDaemon:
		if op.Daemon == nil {
			return missing("a daemon")
		}
		if op.Kind == director.StartDaemon {
			return k.c.NewDaemon(ipvs.KernelDaemon(*op.Daemon))
		}
		state := ipvsnl.StateMaster
		if op.Daemon.Backup {
			state = ipvsnl.StateBackup
		}
		return k.c.DelDaemon(state)
	}
	return fmt.Errorf("kernel IPVS: unknown operation %q: %w", op.Kind, lb.ErrInvalid)
}
