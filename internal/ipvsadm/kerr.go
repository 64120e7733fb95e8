package ipvsadm

import (
	"errors"

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
// with err (which wraps one of lb's sentinel errors; err must not be nil). The wording follows
// libipvs's ipvs_strerror, which depends on the command as well as the errno:
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
// The status is 255 (ipvsadm returns -1), except for -L of a service that does not exist,
// where ipvsadm exits 1 (Fatal: at once, also in -R). lb's ErrZeroPort, ErrMixedFamily and ErrTunnelOptions are refusals
// ipvsadm makes before asking the kernel: their text with status 2. An error wrapping no
// sentinel gives its own text with status 255.
func KernelError(cmd *Command, err error) *Error {
	for _, own := range []error{lb.ErrZeroPort, lb.ErrMixedFamily, lb.ErrTunnelOptions} {
		if errors.Is(err, own) {
			return fail(own.Error())
		}
	}
	status := 255
	if cmd.Kind == List {
		status = 1
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
	return &Error{Msg: msg, Status: status, Fatal: cmd.Kind == List}
}
