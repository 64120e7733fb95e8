package ipvsnl

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNoIPVS is wrapped by the error Open and FromConn return when the kernel has no
// generic netlink family "IPVS": the ip_vs module is not loaded (or not built).
var ErrNoIPVS = errors.New("the kernel has no IPVS (generic netlink family \"IPVS\" not found): " +
	"load it with `modprobe ip_vs`, or use a kernel built with CONFIG_IP_VS")

// opError wraps err with the operation that failed. A kernel refusal is reduced to its
// errno (dropping netlink's "netlink receive:" layer), so that the text reads
// "ipvs: new service tcp 10.0.0.1:80: file exists" and errors.Is(err, unix.EEXIST) holds.
func opError(op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("ipvs: %s: %w", op, errno)
	}
	return fmt.Errorf("ipvs: %s: %w", op, err)
}
