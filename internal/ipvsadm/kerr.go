package ipvsadm

import (
	"errors"
	"syscall"

	"github.com/golvs/golvs/internal/lb"
)

// errno is the kernel error an lb sentinel stands for.
type errno int

const (
	eNone errno = iota
	eEXIST
	eSRCH
	eNOENT
	eRANGE
	eINVAL
	ePROTONOSUPPORT
)

func errnoOf(err error) errno {
	switch {
	case errors.Is(err, lb.ErrServiceExists), errors.Is(err, lb.ErrDestExists):
		return eEXIST
	case errors.Is(err, lb.ErrNoService):
		return eSRCH
	case errors.Is(err, lb.ErrNoDest), errors.Is(err, lb.ErrNoScheduler):
		return eNOENT
	case errors.Is(err, lb.ErrRange):
		return eRANGE
	case errors.Is(err, lb.ErrInvalid):
		return eINVAL
	case errors.Is(err, lb.ErrProtocol):
		return ePROTONOSUPPORT
	}
	return eNone
}

// KernelError returns what ipvsadm prints, and its exit status, when the table refuses cmd
// with err (err must not be nil). When err wraps the kernel's errno (a syscall.Errno, as
// package ipvsnl's errors do), the message is StrError's for it. Otherwise err wraps one of
// lb's sentinel errors, which stand for errnos, and the wording likewise follows libipvs's
// ipvs_strerror, which depends on the command as well as the errno:
//
//   - ESRCH (lb.ErrNoService) is "Service not defined" for -a, -e and -d, "No daemon is
//     running" for --stop-daemon, and "No such service" otherwise;
//   - EEXIST is "Service already exists" (-A), "Destination already exists" (-a), "Daemon
//     has already run" (--start-daemon);
//   - ENOENT is "Scheduler or persistence engine not found" for -A and -E, "No such
//     destination" for -e and -d;
//   - EINVAL is "Invalid operation.  Possibly wrong module version, address not unicast, ...";
//   - anything else is strerror's text (ERANGE: "Numerical result out of range").
//
// The status is 255 (ipvsadm returns -1), except for listings (-L, -S: a service that does
// not exist, a table that cannot be read), where ipvsadm exits 1 (Fatal: at once, also in -R). lb's ErrZeroPort, ErrMixedFamily and ErrTunnelOptions are refusals
// ipvsadm makes before asking the kernel: their text with status 2. An error wrapping no
// sentinel gives its own text with status 255.
func KernelError(cmd *Command, err error) *Error {
	for _, own := range []error{lb.ErrZeroPort, lb.ErrMixedFamily, lb.ErrTunnelOptions} {
		if errors.Is(err, own) {
			return fail(own.Error())
		}
	}
	status, listing := 255, cmd.Kind == List || cmd.Kind == Save
	if listing {
		status = 1
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return &Error{Msg: StrError(cmd.Kind, errno), Status: status, Fatal: listing}
	}
	e := errnoOf(err)
	msg := ""
	switch e {
	case eSRCH:
		switch cmd.Kind {
		case AddServer, EditServer, DeleteServer:
			msg = "Service not defined"
		case StopDaemon:
			msg = "No daemon is running"
		default:
			msg = "No such service"
		}
	case eEXIST:
		switch cmd.Kind {
		case AddService:
			msg = "Service already exists"
		case AddServer:
			msg = "Destination already exists"
		case StartDaemon:
			msg = "Daemon has already run"
		default:
			msg = "File exists"
		}
	case eNOENT:
		switch cmd.Kind {
		case AddService, EditService:
			msg = "Scheduler or persistence engine not found"
		case EditServer, DeleteServer:
			msg = "No such destination"
		default:
			msg = "No such file or directory"
		}
	case eRANGE:
		msg = "Numerical result out of range"
	case eINVAL:
		msg = "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case ePROTONOSUPPORT:
		msg = "Protocol not supported"
	default:
		msg = err.Error()
	}
	return &Error{Msg: msg, Status: status, Fatal: listing}
}
