package sched

import (
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// Flow is the first packet of a new connection, as schedulers see it.
type Flow struct {
	Protocol lb.Protocol
	// Client is the client's address and source port (CIP:cport).
	Client netip.AddrPort
	// Dest is the address and port the client sent to: the VIP:port, or for a fwmark service
	// whichever marked address it was (dh, lblc and lblcr hash on this address).
	Dest netip.AddrPort
}

// Op says what changed in a service's real servers.
type Op uint8

// Operations a scheduler is told about.
const (
	// OpAdd: Dest was just inserted at the head of Svc.Dests (the kernel's add_dest).
	OpAdd Op = iota + 1
	// OpDel: Dest was just unlinked from Svc.Dests (del_dest); it is no longer Available.
	OpDel
	// OpUpdate: Dest's weight or thresholds were edited (upd_dest). A change of the service's
	// flags (-E) is not announced, as in the kernel: schedulers read Svc.Flags when they need.
	OpUpdate
	// OpCounters: Dest's ActiveConn, InActConn, PersistConn or OVERLOAD flag changed. The
	// kernel has no such hook; schedulers that keep reals indexed by load use it.
	OpCounters
)

// Scheduler picks a real server for each new connection of one virtual service. One instance
// serves one service; the Pool calls it with the Pool's lock held, never concurrently.
type Scheduler interface {
	// Schedule returns the real server for flow f among s.Dests, or nil when none can take
	// it (the kernel then answers "no destination available"). It may keep state (a
	// round-robin cursor, a hash table) but must not modify s.
	Schedule(s *Svc, f Flow) *Dest
	// Changed is told, after the fact, that op happened to d. Stateless schedulers ignore it.
	Changed(s *Svc, op Op, d *Dest)
}

// Svc is what a scheduler sees of its virtual service.
type Svc struct {
	// Flags are the service's flags (lb.Persistent, lb.OnePacket, lb.Sched1..3).
	Flags lb.SvcFlags
	// Port and FWMark are the service's port (0 for fwmark services) and mark.
	Port   uint16
	FWMark uint32
	// Is6 is true for an IPv6 service.
	Is6 bool
	// Dests are the service's real servers, newest first (the kernel's list order).
	Dests []*Dest
	// Now returns the current time (lblc and lblcr expire their entries with it).
	Now func() time.Time
	// Rand returns a uniformly random uint32 (twos draws with it).
	Rand func() uint32
}

// Dest is one real server of a service as schedulers see it. Its fields change only under the
// Pool's lock; read them through the methods.
type Dest struct {
	addr      netip.Addr
	port      uint16
	weight    int32
	lastW     int32
	uthresh   uint32
	lthresh   uint32
	active    int32
	inactive  int32
	persist   int32
	overload  bool
	available bool
	// seq orders reals by when they were (last) added: greater is newer, so earlier in Dests.
	seq uint64
	// Slot is free for the one scheduler of the service to keep per-real data (a heap
	// index, say); the Pool never reads it and clears it when the scheduler changes.
	Slot int
}

// Addr returns the real's address.
func (d *Dest) Addr() netip.Addr { return d.addr }

// Port returns the real's port.
func (d *Dest) Port() uint16 { return d.port }

// AddrPort returns the real's address and port.
func (d *Dest) AddrPort() netip.AddrPort { return netip.AddrPortFrom(d.addr, d.port) }

// Weight returns the real's weight (0 = quiesced).
func (d *Dest) Weight() int32 { return d.weight }

// LastWeight returns the kernel's last_weight: the weight the real was added with, then its
// latest non-zero weight (ip_vs_ctl.c __ip_vs_update_dest). mh builds its table from it, so a
// real quiesced to 0 keeps its share of the table.
func (d *Dest) LastWeight() int32 { return d.lastW }

// Active returns ActiveConn: connections counted active (TCP ESTABLISHED).
func (d *Dest) Active() int32 { return d.active }

// Inactive returns InActConn: connections counted inactive (other TCP states, UDP).
func (d *Dest) Inactive() int32 { return d.inactive }

// Persist returns PersistConn: persistence templates pointing at the real.
func (d *Dest) Persist() int32 { return d.persist }

// Overloaded reports the kernel's IP_VS_DEST_F_OVERLOAD flag (set by the upper threshold).
func (d *Dest) Overloaded() bool { return d.overload }

// Available reports the kernel's IP_VS_DEST_F_AVAILABLE flag: false once the real was
// deleted from its service (lblc and lblcr may still hold it in their tables).
func (d *Dest) Available() bool { return d.available }

// Thresholds returns the upper and lower connection thresholds (0 = none).
func (d *Dest) Thresholds() (upper, lower uint32) { return d.uthresh, d.lthresh }

// Seq returns the real's insertion sequence: a newer real has a greater Seq and comes first
// in Svc.Dests, so among equals the kernel's first-in-list choice is the greatest Seq.
func (d *Dest) Seq() uint64 { return d.seq }

// TotalConns is the kernel's ip_vs_dest_totalconns: ActiveConn + InActConn.
func (d *Dest) TotalConns() int32 { return d.active + d.inactive }

// Overhead is the load measure of lc, wlc, lblc and lblcr: ActiveConn*256 + InActConn.
func (d *Dest) Overhead() int64 { return int64(d.active)<<8 + int64(d.inactive) }

// Usable reports whether the real may take a new connection by the common rule of rr, wrr,
// lc, wlc, sed, nq and fo: weight above 0 and not overloaded.
func (d *Dest) Usable() bool { return d.weight > 0 && !d.overload }
