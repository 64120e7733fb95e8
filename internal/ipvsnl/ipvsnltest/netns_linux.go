package ipvsnltest

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// NewNetNS creates a new network namespace with its loopback device up and returns a
// handle of it; the namespace lives until the handle is closed (and nothing else holds
// it). Tests against the real kernel use it so that they never touch the host's IPVS
// table. It needs CAP_SYS_ADMIN.
//
// The loopback device must be up: until a local route exists the namespace has no local
// routing table, inet_addr_type calls every IPv4 address a broadcast one, and the kernel
// refuses every IPv4 destination (EINVAL, ip_vs_new_dest); sync daemons need a route too.
func NewNetNS() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, in the new namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("unshare network namespace: %w", err)}
			return
		}
		f, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		ch <- result{f, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	if err := loopbackUp(int(r.f.Fd())); err != nil {
		r.f.Close()
		return nil, err
	}
	return r.f, nil
}

// loopbackUp sets IFF_UP on interface 1 (lo) of namespace ns with an RTM_NEWLINK request.
func loopbackUp(ns int) error {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: ns})
	if err != nil {
		return fmt.Errorf("rtnetlink: %w", err)
	}
	defer c.Close()
	// struct ifinfomsg: family, pad, type, index, flags, change.
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], 1)
	binary.NativeEndian.PutUint32(b[8:], unix.IFF_UP)
	binary.NativeEndian.PutUint32(b[12:], unix.IFF_UP)
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWLINK, Flags: netlink.Request | netlink.Acknowledge},
		Data:   b,
	})
	if err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
