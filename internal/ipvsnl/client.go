package ipvsnl

import (
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Client talks to the kernel's IPVS generic netlink family. Its methods are safe for
// concurrent use; each is one request (and its reply or dump).
type Client struct {
	conn   *genetlink.Conn
	family uint16
	// ns is the network namespace the client acts in; nil for the caller's.
	ns *os.File
}

// FromConn returns a client on an open generic netlink connection: Open's, or a fake
// kernel's (genltest.Dial). It looks up the IPVS family and fails wrapping ErrNoIPVS when
// there is none; on any error it closes conn.
func FromConn(conn *genetlink.Conn) (*Client, error) {
	f, err := conn.GetFamily(FamilyName)
	if err != nil {
		conn.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ipvs: %w", ErrNoIPVS)
		}
		return nil, fmt.Errorf("ipvs: look up generic netlink family %q: %w", FamilyName, err)
	}
	return &Client{conn: conn, family: f.ID}, nil
}

// Close closes the connection (and the namespace handle). The kernel table is not changed.
func (c *Client) Close() error {
	err := c.conn.Close()
	if c.ns != nil {
		c.ns.Close()
	}
	return err
}

// InNetNS calls f on a thread in the client's network namespace (directly when the client
// acts in the caller's), for work that depends on the thread's namespace, such as reading
// /proc/thread-self/net/ip_vs_conn. f must not start goroutines that rely on it.
func (c *Client) InNetNS(f func() error) error {
	if c.ns == nil {
		return f()
	}
	return runInNetNS(c.ns, f)
}

// Netlink header flags of the three kinds of request. A "get" that the kernel answers
// with one message is not acknowledged: the acknowledgement would follow the reply in a
// second datagram.
const (
	flagsDo   = netlink.Request | netlink.Acknowledge
	flagsGet  = netlink.Request
	flagsDump = netlink.Request | netlink.Dump
)

// execute sends req and returns the decoded replies of command want (acknowledgements and
// other messages are skipped).
func (c *Client) execute(req Command, flags netlink.HeaderFlags, want Cmd) ([]Command, error) {
	m, err := req.Encode()
	if err != nil {
		return nil, err
	}
	msgs, err := c.conn.Execute(m, c.family, flags)
	if err != nil {
		return nil, err
	}
	var out []Command
	for _, m := range msgs {
		if Cmd(m.Header.Command) != want || want == 0 {
			continue
		}
		r, err := DecodeCommand(m)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *Client) do(op string, req Command) error {
	if _, err := c.execute(req, flagsDo, 0); err != nil {
		return opError(op, err)
	}
	return nil
}

// Info returns the kernel's IPVS version and connection table size.
func (c *Client) Info() (Info, error) {
	rs, err := c.execute(Command{Cmd: CmdGetInfo}, flagsGet, CmdSetInfo)
	if err == nil && (len(rs) != 1 || rs[0].Info == nil) {
		err = fmt.Errorf("%d replies without information", len(rs))
	}
	if err != nil {
		return Info{}, opError("get info", err)
	}
	return *rs[0].Info, nil
}

// Services returns every virtual service of the namespace, in the kernel's order (its
// hash table: services by protocol, address and port first, then fwmark services).
func (c *Client) Services() ([]Service, error) {
	rs, err := c.execute(Command{Cmd: CmdGetService}, flagsDump, CmdNewService)
	if err != nil {
		return nil, opError("list services", err)
	}
	out := make([]Service, 0, len(rs))
	for _, r := range rs {
		if r.Service == nil {
			return nil, opError("list services", errors.New("reply without a service"))
		}
		out = append(out, *r.Service)
	}
	return out, nil
}

// Service returns the service k. It fails with ESRCH when there is none.
func (c *Client) Service(k ServiceKey) (Service, error) {
	op := "get service " + k.String()
	rs, err := c.execute(Command{Cmd: CmdGetService, Service: &Service{ServiceKey: k}}, flagsGet, CmdNewService)
	if err == nil && (len(rs) != 1 || rs[0].Service == nil) {
		err = fmt.Errorf("%d replies without a service", len(rs))
	}
	if err != nil {
		return Service{}, opError(op, err)
	}
	return *rs[0].Service, nil
}

// NewService adds service s (ipvsadm -A). The kernel fails with EEXIST when it exists,
// ENOENT when it has no such scheduler or persistence engine, EINVAL for an IPv6 prefix
// length outside 1..128.
func (c *Client) NewService(s Service) error {
	return c.do("new service "+s.ServiceKey.String(), Command{Cmd: CmdNewService, Service: &s})
}

// SetService changes the scheduler, persistence engine, flags (under FlagsMask), timeout
// and netmask of service s (ipvsadm -E); its destinations stay. ESRCH when s does not
// exist. An empty PEName removes the persistence engine.
func (c *Client) SetService(s Service) error {
	return c.do("set service "+s.ServiceKey.String(), Command{Cmd: CmdSetService, Service: &s})
}

// DelService removes service k and its destinations (ipvsadm -D). ESRCH when there is none.
func (c *Client) DelService(k ServiceKey) error {
	return c.do("delete service "+k.String(), Command{Cmd: CmdDelService, Service: &Service{ServiceKey: k}})
}

// Dests returns the destinations of service k in the kernel's order (newest first). The
// kernel answers the dump of a service that does not exist with no destinations, not an
// error.
func (c *Client) Dests(k ServiceKey) ([]Dest, error) {
	rs, err := c.execute(Command{Cmd: CmdGetDest, Service: &Service{ServiceKey: k}}, flagsDump, CmdNewDest)
	if err != nil {
		return nil, opError("list destinations of "+k.String(), err)
	}
	out := make([]Dest, 0, len(rs))
	for _, r := range rs {
		if r.Dest == nil {
			return nil, opError("list destinations of "+k.String(), errors.New("reply without a destination"))
		}
		d := *r.Dest
		if d.AF == 0 {
			d.AF = k.Family()
		}
		out = append(out, d)
	}
	return out, nil
}

// NewDest adds destination d to service k (ipvsadm -a). The kernel fails with ESRCH when
// k does not exist, EEXIST when d does, ERANGE for a negative weight or a lower threshold
// above the upper one, EINVAL for a GUE tunnel without a port, a non-unicast address, or a
// family other than the service's on anything but a tunnel (or while a sync daemon runs).
func (c *Client) NewDest(k ServiceKey, d Dest) error {
	return c.do(destOp("new", k, d), Command{Cmd: CmdNewDest, Service: &Service{ServiceKey: k}, Dest: &d})
}

// SetDest changes destination d of service k (ipvsadm -e): ENOENT when it does not exist,
// the other errors as NewDest. Its family cannot change.
func (c *Client) SetDest(k ServiceKey, d Dest) error {
	return c.do(destOp("set", k, d), Command{Cmd: CmdSetDest, Service: &Service{ServiceKey: k}, Dest: &d})
}

// DelDest removes the destination with d's family, address and port from service k
// (ipvsadm -d): ESRCH without the service, ENOENT without the destination.
func (c *Client) DelDest(k ServiceKey, d Dest) error {
	return c.do(destOp("delete", k, d), Command{Cmd: CmdDelDest, Service: &Service{ServiceKey: k}, Dest: &d})
}

func destOp(verb string, k ServiceKey, d Dest) string {
	return fmt.Sprintf("%s dest %s of %s", verb, d.AddrPort(), k)
}

// Flush removes every service of the namespace (ipvsadm -C).
func (c *Client) Flush() error { return c.do("flush", Command{Cmd: CmdFlush}) }

// Zero resets the counters and rates of service k and its destinations, or of every
// service (and the totals of /proc/net/ip_vs_stats) when k is nil (ipvsadm -Z). ESRCH when
// k does not exist.
func (c *Client) Zero(k *ServiceKey) error {
	if k == nil {
		return c.do("zero all", Command{Cmd: CmdZero})
	}
	return c.do("zero "+k.String(), Command{Cmd: CmdZero, Service: &Service{ServiceKey: *k}})
}

// Timeouts returns the TCP, TCP FIN and UDP timeouts (ipvsadm -L --timeout).
func (c *Client) Timeouts() (Timeouts, error) {
	rs, err := c.execute(Command{Cmd: CmdGetConfig}, flagsGet, CmdSetConfig)
	if err == nil && (len(rs) != 1 || rs[0].Timeouts == nil) {
		err = fmt.Errorf("%d replies without timeouts", len(rs))
	}
	if err != nil {
		return Timeouts{}, opError("get timeouts", err)
	}
	return *rs[0].Timeouts, nil
}

// SetTimeouts sets the timeouts (ipvsadm --set); a zero field leaves that timeout as it
// is. EINVAL for a value beyond INT_MAX/HZ.
func (c *Client) SetTimeouts(t Timeouts) error {
	return c.do(fmt.Sprintf("set timeouts %d %d %d", t.TCP, t.TCPFin, t.UDP), Command{Cmd: CmdSetConfig, Timeouts: &t})
}

// Daemons returns the running sync daemons, master first, with the settings the kernel
// uses (its defaults for those not given at start).
func (c *Client) Daemons() ([]Daemon, error) {
	rs, err := c.execute(Command{Cmd: CmdGetDaemon}, flagsDump, CmdNewDaemon)
	if err != nil {
		return nil, opError("list daemons", err)
	}
	var out []Daemon
	for _, r := range rs {
		if r.Daemon != nil {
			out = append(out, *r.Daemon)
		}
	}
	return out, nil
}

// NewDaemon starts sync daemon d (ipvsadm --start-daemon). The kernel fails with EEXIST
// when one of that state runs, EINVAL for a group that is not multicast or while a service
// has a destination of another family, ENODEV for an unknown interface.
func (c *Client) NewDaemon(d Daemon) error {
	return c.do("new daemon "+d.String(), Command{Cmd: CmdNewDaemon, Daemon: &d})
}

// DelDaemon stops the daemon of state StateMaster or StateBackup (ipvsadm
// --stop-daemon): ESRCH when none runs.
func (c *Client) DelDaemon(state uint32) error {
	return c.do("delete daemon "+stateName(state), Command{Cmd: CmdDelDaemon, Daemon: &Daemon{State: state}})
}
