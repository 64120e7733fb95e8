package proxy

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenControl is the ListenConfig.Control of a TCP service's listeners: SO_REUSEPORT, so
// that the service has one listener per GOMAXPROCS, and IP_FREEBIND (IPV6_FREEBIND), so that
// a VIP that is not on the host yet (VRRP adds it later) can still be bound.
func listenControl(network, _ string, c syscall.RawConn) error {
	return setsockopts(c, true, network == "tcp6")
}

// udpControl is the ListenConfig.Control of a UDP service's socket: IP_FREEBIND only (one
// socket per service, so no SO_REUSEPORT, which would let another process share its traffic).
func udpControl(network, _ string, c syscall.RawConn) error {
	return setsockopts(c, false, network == "udp6")
}

func setsockopts(c syscall.RawConn, reuseport, v6 bool) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		s := int(fd)
		if reuseport {
			if serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
		}
		if v6 {
			serr = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
		} else {
			serr = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// abortConnect makes a connect in progress on c fail at once (shutdown of a SYN_SENT socket
// disconnects it: connect reports ECONNRESET). It does nothing to a closed socket: RawConn
// holds the descriptor, so a number reused by another socket is never touched.
func abortConnect(c syscall.RawConn) {
	c.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
}

// segments returns the segments received from and sent to the peer of c (tcpi_segs_in,
// tcpi_segs_out of TCP_INFO); ok is false when they cannot be read (the socket is closed).
func segments(c *net.TCPConn) (in, out uint32, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	var info *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return 0, 0, false
	}
	return info.Segs_in, info.Segs_out, true
}

// recvConnected reads one datagram from the connected socket fd into b without blocking;
// again is true when there is nothing to read.
func recvConnected(fd uintptr, b []byte) (n int, again bool, err error) {
	for {
		n, err = unix.Read(int(fd), b)
		switch err {
		case nil:
			return n, false, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, true, nil
		}
		return 0, false, err
	}
}
