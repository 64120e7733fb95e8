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

// KernelError is the kernel's refusal of a request: the operation and the errno the kernel
// answered. errors.Is(err, unix.EEXIST) holds for it; its text reads
// "ipvs: new service tcp 10.0.0.1:80: file exists".
type KernelError struct {
	Op    string
	Errno syscall.Errno
}

func (e *KernelError) Error() string { return fmt.Sprintf("ipvs: %s: %v", e.Op, e.Errno) }

// Unwrap returns the errno.
func (e *KernelError) Unwrap() error { return e.Errno }

// opError wraps err with the operation that failed. A kernel refusal is reduced to its
// errno (dropping netlink's "netlink receive:" layer) in a *KernelError.
func opError(op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &KernelError{Op: op, Errno: errno}
	}
	return fmt.Errorf("ipvs: %s: %w", op, err)
}
