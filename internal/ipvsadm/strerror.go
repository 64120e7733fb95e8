package ipvsadm

import (
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// StrError returns what ipvsadm prints when the kernel refuses command k with errno e:
// libipvs's ipvs_strerror, whose table words some errnos per library call (and so per
// ipvsadm command) and some the same for every call, and falls back to the C library's
// strerror.
//
// The per-command words: -A EEXIST "Service already exists" and ENOENT "Scheduler or
// persistence engine not found"; -E ESRCH "No such service" and ENOENT as -A; -D and -Z
// ESRCH "No such service"; -a ESRCH "Service not defined" and EEXIST "Destination already
// exists"; -e and -d ESRCH "Service not defined" and ENOENT "No such destination";
// --start-daemon EEXIST "Daemon has already run"; --stop-daemon ESRCH "No daemon is
// running"; -L and -S ESRCH "No such service". For every command: EPERM "Permission denied
// (you must be root)", EINVAL "Invalid operation.  Possibly wrong module version, address not
// unicast, ...", ENOPROTOOPT "Protocol not available", ENOMEM "Memory allocation problem",
// EOPNOTSUPP "Operation not supported with IPv6", EAFNOSUPPORT "Operation not supported with
// specified address family", EMSGSIZE "Module is wrong version". Anything else is glibc's
// strerror text ("No such device" for ENODEV, "Numerical result out of range" for ERANGE,
// "No such file or directory" for ENOENT of -C, ...).
func StrError(k Kind, e syscall.Errno) string {
	if m := perCommand(k, e); m != "" {
		return m
	}
	switch e {
	case syscall.EPERM:
		return "Permission denied (you must be root)"
	case syscall.EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case syscall.ENOPROTOOPT:
		return "Protocol not available"
	case syscall.ENOMEM:
		return "Memory allocation problem"
	case syscall.EOPNOTSUPP:
		return "Operation not supported with IPv6"
	case syscall.EAFNOSUPPORT:
		return "Operation not supported with specified address family"
	case syscall.EMSGSIZE:
		return "Module is wrong version"
	}
	return CStrError(e)
}

// perCommand is the part of ipvs_strerror's table that names a library call: the call
// ipvsadm makes for k.
func perCommand(k Kind, e syscall.Errno) string {
	const (
		noService  = "No such service"
		notDefined = "Service not defined"
		noSched    = "Scheduler or persistence engine not found"
		noDest     = "No such destination"
	)
	switch k {
	case AddService: // ipvs_add_service
		switch e {
		case syscall.EEXIST:
			return "Service already exists"
		case syscall.ENOENT:
			return noSched
		}
	case EditService: // ipvs_update_service
		switch e {
		case syscall.ESRCH:
			return noService
		case syscall.ENOENT:
			return noSched
		}
	case DeleteService, Zero, List, Save: // ipvs_del_service, ipvs_zero_service, ipvs_get_*
		if e == syscall.ESRCH {
			return noService
		}
	case AddServer: // ipvs_add_dest
		switch e {
		case syscall.ESRCH:
			return notDefined
		case syscall.EEXIST:
			return "Destination already exists"
		}
	case EditServer, DeleteServer: // ipvs_update_dest, ipvs_del_dest
		switch e {
		case syscall.ESRCH:
			return notDefined
		case syscall.ENOENT:
			return noDest
		}
	case StartDaemon: // ipvs_start_daemon
		if e == syscall.EEXIST {
			return "Daemon has already run"
		}
	case StopDaemon: // ipvs_stop_daemon
		if e == syscall.ESRCH {
			return "No daemon is running"
		}
	}
	return ""
}

// CStrError returns glibc's strerror text for e. Go's texts for Linux errnos are glibc's
// with the first letter in lower case ("no such device"), so this is Go's text with its
// first letter in upper case ("No such device"); an errno Go has no text for is glibc's
// "Unknown error N".
func CStrError(e syscall.Errno) string {
	s := e.Error()
	if strings.HasPrefix(s, "errno ") {
		return "Unknown error " + strings.TrimPrefix(s, "errno ")
	}
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// InitError is what ipvsadm prints, and its exit status 2, when it cannot open IPVS at
// start (ipvs_init failed with errno e, after trying `modprobe ip_vs`): "Can't initialize
// ipvs: Protocol not available" on a kernel without IPVS, "...: Permission denied (you must
// be root)" for a user without the privilege, then "Are you sure that IP Virtual Server is
// built in the kernel or as module?".
func InitError(e syscall.Errno) *Error {
	return fail("Can't initialize ipvs: " + StrError(0, e) +
		"\nAre you sure that IP Virtual Server is built in the kernel or as module?")
}
