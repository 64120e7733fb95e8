package proxy

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The reactor's system calls. Every descriptor it reads, writes or accepts on is
// nonblocking, so these go through RawSyscall: no entersyscall/exitsyscall per call, which
// is the point of a loop that makes several per message. Only epoll_wait, which blocks,
// goes through the ordinary path (loop.wait). They return a bare Errno (0 for none) and
// allocate nothing.

func rawRead(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), e
}

func rawWrite(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), e
}

// rawSend writes b to socket fd with flags (MSG_NOSIGNAL added: a peer's reset is an EPIPE,
// without a SIGPIPE to deliver first).
func rawSend(fd int, b []byte, flags int) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			uintptr(flags|unix.MSG_NOSIGNAL), 0, 0)
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

// rawSplice moves up to n bytes from in to out, one of which is a pipe, without blocking on
// the pipe.
func rawSplice(in, out, n int) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n),
		unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
	return int(r), e
}

// rawAccept accepts a nonblocking connection from listener fd; sa receives the client's
// address.
func rawAccept(fd int, sa *unix.RawSockaddrAny) (int, syscall.Errno) {
	l := uint32(unix.SizeofSockaddrAny)
	n, _, e := syscall.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&l)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(n), e
}

func rawSocket(family int) (int, syscall.Errno) {
	fd, _, e := syscall.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(fd), e
}

func rawConnect(fd int, sa unsafe.Pointer, salen uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(salen))
	return e
}

func rawSetsockopt(fd, level, opt int, v int32) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return e
}

// rawSetLinger0 makes the close of fd send a reset.
func rawSetLinger0(fd int) {
	l := unix.Linger{Onoff: 1, Linger: 0}
	syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
}

// rawSoError returns and clears the pending error of socket fd.
func rawSoError(fd int) syscall.Errno {
	var v int32
	l := uint32(4)
	_, _, e := syscall.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return syscall.Errno(v)
}

// rawTCPInfo reads TCP_INFO of fd into info.
func rawTCPInfo(fd int, info *unix.TCPInfo) bool {
	l := uint32(unix.SizeofTCPInfo)
	_, _, e := syscall.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(info)), uintptr(unsafe.Pointer(&l)), 0)
	return e == 0
}

func rawShutdownWrite(fd int) syscall.Errno {
	_, _, e := syscall.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
	return e
}

func rawClose(fd int) { syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// sockaddr is a socket address in the kernel's layout, built without allocating.
type sockaddr struct {
	raw unix.RawSockaddrInet6 // large enough for either family
	len uint32
}

// set fills sa with ap and returns the socket family.
func (sa *sockaddr) set(ap netip.AddrPort) int {
	port := ap.Port()
	if a := ap.Addr(); a.Is4() || a.Is4In6() {
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		*r = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		p := (*[2]byte)(unsafe.Pointer(&r.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa.len = unix.SizeofSockaddrInet4
		return unix.AF_INET
	} else {
		sa.raw = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		p := (*[2]byte)(unsafe.Pointer(&sa.raw.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa.len = unix.SizeofSockaddrInet6
		return unix.AF_INET6
	}
}

// addrPortOfRaw returns the address in sa (IPv4-mapped addresses unmapped), or the zero
// AddrPort for another family.
func addrPortOfRaw(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&r.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(r.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		r := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&r.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(r.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}
