package ipvsnltest

import (
	"io"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"

	"github.com/golvs/golvs/internal/ipvsnl"
)

// FamilyID is the generic netlink family ID the fake kernel gives "IPVS".
const FamilyID = 0x2a

// Kernel is the fake kernel. Use New; it is safe for concurrent use.
type Kernel struct {
	mu sync.Mutex
	// schedulers and pes are the names new-service and set-service accept.
	schedulers, pes map[string]bool
	// fail, when set, may refuse a request with an errno before the table sees it.
	fail     func(ipvsnl.Command) syscall.Errno
	services []*service
	timeouts ipvsnl.Timeouts
	daemons  [2]*ipvsnl.Daemon // master, backup
	log      []Entry
}

type service struct {
	svc   ipvsnl.Service
	dests []ipvsnl.Dest // newest first, as the kernel keeps them
}

// Entry is one request the fake kernel received and the errno it answered (0 for success).
type Entry struct {
	Command ipvsnl.Command
	Dump    bool
	Errno   syscall.Errno
}

// Schedulers are the schedulers of Linux 6.1 as Debian builds it (no twos).
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "lblc", "lblcr", "fo", "ovf", "mh"}

// New returns an empty fake kernel with the default timeouts (900 120 300), the
// schedulers of Schedulers and the persistence engine "sip".
func New() *Kernel {
	k := &Kernel{
		schedulers: map[string]bool{},
		pes:        map[string]bool{"sip": true},
		timeouts:   ipvsnl.Timeouts{TCP: 900, TCPFin: 120, UDP: 300},
	}
	for _, s := range Schedulers {
		k.schedulers[s] = true
	}
	return k
}

// SetSchedulers replaces the schedulers the kernel has.
func (k *Kernel) SetSchedulers(names ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.schedulers = map[string]bool{}
	for _, s := range names {
		k.schedulers[s] = true
	}
}

// FailWith makes the kernel ask f about every request: a non-zero errno is returned to
// the client and the table is not changed. nil removes f.
func (k *Kernel) FailWith(f func(ipvsnl.Command) syscall.Errno) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = f
}

// Conn returns a generic netlink connection to the fake kernel.
func (k *Kernel) Conn() *genetlink.Conn {
	fam := genetlink.Family{ID: FamilyID, Version: ipvsnl.FamilyVersion, Name: ipvsnl.FamilyName}
	return genltest.Dial(genltest.ServeFamily(fam, k.serve))
}

// Client returns an ipvsnl client of the fake kernel.
func (k *Kernel) Client() (*ipvsnl.Client, error) { return ipvsnl.FromConn(k.Conn()) }

// Log returns the requests received since the last ResetLog.
func (k *Kernel) Log() []Entry {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.log)
}

// ResetLog forgets the requests received so far.
func (k *Kernel) ResetLog() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.log = nil
}

// Writes returns the requests that may change the table (every command but the get-*
// ones), as Command.String prints them, with " => ERRNO TEXT" after the refused ones.
func (k *Kernel) Writes() []string {
	var out []string
	for _, e := range k.Log() {
		switch e.Command.Cmd {
		case ipvsnl.CmdGetService, ipvsnl.CmdGetDest, ipvsnl.CmdGetDaemon, ipvsnl.CmdGetConfig, ipvsnl.CmdGetInfo:
			continue
		}
		s := e.Command.String()
		if e.Errno != 0 {
			s += " => " + e.Errno.Error()
		}
		out = append(out, s)
	}
	return out
}

// serve answers one request: the genltest.Func of the fake kernel.
func (k *Kernel) serve(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if nreq.Header.Type == 0 {
		// genltest asks again for messages after an empty answer: there are none.
		return nil, io.EOF
	}
	dump := nreq.Header.Flags&netlink.Dump != 0
	c, err := ipvsnl.DecodeCommand(greq)
	k.mu.Lock()
	defer k.mu.Unlock()
	e := Entry{Command: c, Dump: dump}
	var replies []ipvsnl.Command
	switch {
	case err != nil:
		e.Errno = syscall.EINVAL
	case k.fail != nil && k.fail(c) != 0:
		e.Errno = k.fail(c)
	default:
		replies, e.Errno = k.handle(&c, dump)
	}
	k.log = append(k.log, e)
	if e.Errno != 0 {
		return nil, genltest.Error(int(e.Errno))
	}
	out := make([]genetlink.Message, 0, len(replies))
	for _, r := range replies {
		r.Reply = true
		m, err := r.Encode()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// Services returns a copy of the table's services in the order they were added.
func (k *Kernel) Services() []ipvsnl.Service {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvsnl.Service
	for _, s := range k.services {
		out = append(out, s.svc)
	}
	return out
}

// SetCounters sets the counters of service key (dest invalid) or of its destination dest,
// and that destination's connection counts, as traffic would. It reports whether the
// service (and destination) exist.
func (k *Kernel) SetCounters(key ipvsnl.ServiceKey, dest netip.AddrPort, st ipvsnl.Stats, active, inact, persist uint32) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.find(key)
	if s == nil {
		return false
	}
	if !dest.IsValid() {
		s.svc.Stats = st
		return true
	}
	for i := range s.dests {
		if s.dests[i].AddrPort() == dest {
			s.dests[i].Stats = st
			s.dests[i].ActiveConns, s.dests[i].InactConns, s.dests[i].PersistConns = active, inact, persist
			return true
		}
	}
	return false
}
