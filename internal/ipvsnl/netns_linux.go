package ipvsnl

import (
	"fmt"
	"os"
	"runtime"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Open connects to the kernel's IPVS family in the namespace o names. It fails wrapping
// ErrNoIPVS when the kernel has no IPVS, and with the system's error when the namespace
// cannot be opened or entered (entering one needs CAP_SYS_ADMIN). Table commands need
// CAP_NET_ADMIN in the namespace's user namespace; without it they fail with EPERM.
func Open(o Options) (*Client, error) {
	ns, err := o.namespace()
	if err != nil {
		return nil, err
	}
	cfg := &netlink.Config{}
	if ns != nil {
		cfg.NetNS = int(ns.Fd())
	}
	conn, err := genetlink.Dial(cfg)
	if err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, fmt.Errorf("ipvs: open generic netlink socket: %w", err)
	}
	c, err := FromConn(conn)
	if err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, err
	}
	c.ns = ns
	return c, nil
}

func dupFile(fd int) (*os.File, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ipvs: duplicate network namespace descriptor %d: %w", fd, err)
	}
	return os.NewFile(uintptr(d), fmt.Sprintf("netns-fd-%d", fd)), nil
}

// runInNetNS calls f on an OS thread that has entered namespace ns. The thread is never
// unlocked: it ends with its goroutine, so no other goroutine ever runs in ns.
func runInNetNS(ns *os.File, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("ipvs: enter network namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
