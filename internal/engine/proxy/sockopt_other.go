//go:build !linux

package proxy

import (
	"errors"
	"net"
	"syscall"
)

// On other systems the engine builds but binds without SO_REUSEPORT or IP_FREEBIND, cannot
// cut a connect short (the connect timeout is then the system's), and counts no TCP segments.

func listenControl(string, string, syscall.RawConn) error { return nil }

func udpControl(string, string, syscall.RawConn) error { return nil }

func abortConnect(syscall.RawConn) {}

func segments(*net.TCPConn) (in, out uint32, ok bool) { return 0, 0, false }

func recvConnected(fd uintptr, b []byte) (n int, again bool, err error) {
	for {
		n, err = syscall.Read(int(fd), b)
		switch {
		case err == nil:
			return n, false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return 0, true, nil
		}
		return 0, false, err
	}
}
