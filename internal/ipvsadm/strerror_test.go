package ipvsadm

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// TestStrError is libipvs's ipvs_strerror table, row by row, and glibc's texts for the
// errnos it does not list.
func TestStrError(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		errno syscall.Errno
		want  string
	}{
		{AddService, syscall.EEXIST, "Service already exists"},
		{AddService, syscall.ENOENT, "Scheduler or persistence engine not found"},
		{EditService, syscall.ESRCH, "No such service"},
		{EditService, syscall.ENOENT, "Scheduler or persistence engine not found"},
		{DeleteService, syscall.ESRCH, "No such service"},
		{Zero, syscall.ESRCH, "No such service"},
		{AddServer, syscall.ESRCH, "Service not defined"},
		{AddServer, syscall.EEXIST, "Destination already exists"},
		{EditServer, syscall.ESRCH, "Service not defined"},
		{EditServer, syscall.ENOENT, "No such destination"},
		{DeleteServer, syscall.ESRCH, "Service not defined"},
		{DeleteServer, syscall.ENOENT, "No such destination"},
		{StartDaemon, syscall.EEXIST, "Daemon has already run"},
		{StopDaemon, syscall.ESRCH, "No daemon is running"},
		{List, syscall.ESRCH, "No such service"},
		{Flush, syscall.EPERM, "Permission denied (you must be root)"},
		{AddServer, syscall.EINVAL, "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
		{0, syscall.ENOPROTOOPT, "Protocol not available"},
		{AddService, syscall.ENOMEM, "Memory allocation problem"},
		{AddService, syscall.EOPNOTSUPP, "Operation not supported with IPv6"},
		{AddService, syscall.EAFNOSUPPORT, "Operation not supported with specified address family"},
		{AddService, syscall.EMSGSIZE, "Module is wrong version"},
		// not in the table: strerror
		{StartDaemon, syscall.ENODEV, "No such device"},
		{AddServer, syscall.ERANGE, "Numerical result out of range"},
		{Flush, syscall.ENOENT, "No such file or directory"},
		{StopDaemon, syscall.EEXIST, "File exists"},
		{AddService, syscall.ESRCH, "No such process"},
		{SetTimeout, syscall.Errno(4000), "Unknown error 4000"},
	} {
		if got := StrError(tc.kind, tc.errno); got != tc.want {
			t.Errorf("StrError(%v, %d) = %q, want %q", tc.kind, tc.errno, got, tc.want)
		}
	}
}

// TestKernelErrorErrno: an error that carries the kernel's errno is worded from it, with
// ipvsadm's exit statuses; lb's own refusals still come first.
func TestKernelErrorErrno(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		err    error
		msg    string
		status int
		fatal  bool
	}{
		{AddServer, fmt.Errorf("ipvs: new dest: %w", syscall.ESRCH), "Service not defined", 255, false},
		{List, fmt.Errorf("ipvs: get service: %w", syscall.ESRCH), "No such service", 1, true},
		{Save, fmt.Errorf("ipvs: list services: %w", syscall.EPERM), "Permission denied (you must be root)", 1, true},
		{AddServer, fmt.Errorf("%w (%w)", lb.ErrMixedFamily, syscall.EINVAL), lb.ErrMixedFamily.Error(), 2, true},
	} {
		e := KernelError(&Command{Kind: tc.kind}, tc.err)
		if e.Msg != tc.msg || e.Status != tc.status || e.Fatal != tc.fatal {
			t.Errorf("%v %v: %q %d %v, want %q %d %v", tc.kind, tc.err, e.Msg, e.Status, e.Fatal, tc.msg, tc.status, tc.fatal)
		}
	}
}

func TestInitError(t *testing.T) {
	e := InitError(syscall.ENOPROTOOPT)
	want := "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?"
	if e.Msg != want || e.Status != 2 || !e.Fatal {
		t.Errorf("InitError = %+v", e)
	}
}
