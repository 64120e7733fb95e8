package lb

import "errors"

// Errors the kernel returns for table operations. Their text is ipvsadm 1.31's message for
// the condition; where ipvsadm words one errno differently per command (ESRCH is "Service not
// defined" for -a and "No such service" elsewhere), the CLI chooses the wording from the
// command and the sentinel.
var (
	// ErrServiceExists: -A of a service that exists (EEXIST).
	ErrServiceExists = errors.New("Service already exists")
	// ErrNoService: the service named does not exist (ESRCH).
	ErrNoService = errors.New("No such service")
	// ErrDestExists: -a of a real server the service already has (EEXIST).
	ErrDestExists = errors.New("Destination already exists")
	// ErrNoDest: -e or -d of a real server the service does not have (ENOENT).
	ErrNoDest = errors.New("No such destination")
	// ErrNoScheduler: unknown scheduler or persistence engine (ENOENT).
	ErrNoScheduler = errors.New("Scheduler or persistence engine not found")
	// ErrRange: a negative weight, or a lower threshold above the upper one (ERANGE).
	ErrRange = errors.New("Numerical result out of range")
	// ErrInvalid: any other value the kernel refuses (EINVAL).
	ErrInvalid = errors.New("Invalid argument")
	// ErrProtocol: a non-fwmark service whose protocol is not TCP, UDP or SCTP.
	ErrProtocol = errors.New("Protocol not supported")
)

// Conditions ipvsadm itself refuses before asking the kernel (exit status 2). The text is
// ipvsadm's message.
var (
	ErrZeroPort      = errors.New("Zero port specified for non-persistent service")
	ErrMixedFamily   = errors.New("Different address family is allowed only for tunneling servers")
	ErrTunnelOptions = errors.New("Tunnel options conflict with forward method")
)
