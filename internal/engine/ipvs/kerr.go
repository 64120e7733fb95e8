package ipvs

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// kernelError adds to err, a refusal of kernel command cmd, the lb sentinel that names
// the condition, so that callers (lvsadm) print ipvsadm's words for it; the errno stays
// wrapped too. The mapping is ipvsadm's (libipvs ipvs_strerror): EEXIST is "Service
// already exists", "Destination already exists" or, for a daemon, the Syncer contract's
// lb.ErrServiceExists; ESRCH is lb.ErrNoService; ENOENT is lb.ErrNoScheduler for service
// commands and lb.ErrNoDest for destination ones; ERANGE and EINVAL are lb.ErrRange and
// lb.ErrInvalid. Other errors are returned as they are.
func kernelError(cmd ipvsnl.Cmd, err error) error {
	var errno syscall.Errno
	if err == nil || !errors.As(err, &errno) {
		return err
	}
	var s error
	switch errno {
	case syscall.EEXIST:
		s = lb.ErrServiceExists
		if cmd == ipvsnl.CmdNewDest {
			s = lb.ErrDestExists
		}
	case syscall.ESRCH:
		s = lb.ErrNoService
	case syscall.ENOENT:
		switch cmd {
		case ipvsnl.CmdNewService, ipvsnl.CmdSetService:
			s = lb.ErrNoScheduler
		case ipvsnl.CmdSetDest, ipvsnl.CmdDelDest:
			s = lb.ErrNoDest
		}
	case syscall.ERANGE:
		s = lb.ErrRange
	case syscall.EINVAL:
		s = lb.ErrInvalid
	}
	if s == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", err, s)
}
