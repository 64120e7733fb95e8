package conntrack

import (
	"fmt"
	"net/netip"

	"github.com/golvs/golvs/internal/lb"
)

// Insert adds a new connection with key k bound to real d, and returns its Ref. Like the
// kernel's ip_vs_conn_new, the connection starts in state 0 (TCP NONE, UDP, SCTP NONE) with a
// 3 s timeout and counts as InActConn (the Accountant sees ClassNone→ClassInactive); the
// engine then applies the first packet with Transition, or the state it knows with SetState.
// Connections to route, tunnel and local reals take their client-to-server packets through
// the kernel's INPUT-ONLY state table until a reply is seen.
//
// When tmpl is not 0 the connection is linked to that persistence template (ip_vs_control_add):
// the template lives at least as long as the connection, and its timer is restarted.
//
// It fails with ErrBadKey for an invalid key or real address, lb.ErrProtocol for a protocol
// other than TCP, UDP and SCTP, ErrNotFound when tmpl is gone, ErrFull when the table is full,
// and ErrExists when k is present; with ErrExists it also returns the present entry's Ref.
func (t *Table) Insert(k Key, d Dest, tmpl Ref) (Ref, error) {
	if numStates(k.Protocol) == 0 {
		return 0, fmt.Errorf("conntrack: insert %v: %w", k.Protocol, lb.ErrProtocol)
	}
	rk, ok := k.raw(false)
	da := d.Addr.Addr().Unmap()
	if !ok || !da.IsValid() {
		return 0, fmt.Errorf("conntrack: insert %v %v->%v: %w", k.Protocol, k.Client, k.Virtual, ErrBadKey)
	}
	now := t.nowTick()
	if tmpl != 0 {
		if err := t.pin(tmpl); err != nil {
			return 0, err
		}
	}
	h := hashRaw(t.seed, &rk)
	si := int(h >> t.shift)
	s := &t.shards[si]
	s.mu.Lock()
	if i, e := s.lookup(h, &rk); e != nil {
		r := makeRef(e.gen, si, i)
		s.mu.Unlock()
		t.unpin(tmpl)
		return r, fmt.Errorf("conntrack: insert %v %v->%v: %w", k.Protocol, k.Client, k.Virtual, ErrExists)
	}
	i, e, ok := t.alloc(s)
	if !ok {
		s.mu.Unlock()
		t.unpin(tmpl)
		return 0, fmt.Errorf("conntrack: insert %v %v->%v: %w", k.Protocol, k.Client, k.Virtual, ErrFull)
	}
	e.ca, e.va, e.cport, e.vport, e.proto = rk.ca, rk.va, rk.cport, rk.vport, rk.proto
	e.flags = fUsed | fIndexed | fInactive | rk.kind
	switch d.Forward {
	case lb.Route, lb.Tunnel, lb.Local:
		e.flags |= fNoOutput
	}
	t.setDest(e, d, da, d.Addr.Port())
	if tmpl != 0 {
		tsi, ti, tgen := tmpl.parts()
		e.link, e.linkGen = uint32(tsi)<<24|ti, tgen
	}
	e.timeout = newConnTicks
	e.expires = now + e.timeout
	s.link(i, e, e.expires>>slotShift)
	s.indexAdd(h, i)
	t.account(d.ID, lb.ClassNone, lb.ClassInactive)
	r := makeRef(e.gen, si, i)
	s.mu.Unlock()
	return r, nil
}

// alloc takes a slot of s for a new entry, within MaxEntries.
func (t *Table) alloc(s *shard) (uint32, *entry, bool) {
	if t.max > 0 && t.total.Load() >= t.max {
		return 0, nil, false
	}
	i, e, ok := s.alloc()
	if ok {
		t.total.Add(1)
	}
	return i, e, ok
}

func (t *Table) setDest(e *entry, d Dest, da netip.Addr, port uint16) {
	e.dest, e.fwd, e.da, e.dport = d.ID, d.Forward, pack(da), port
	if da.Is6() {
		e.flags |= fDestV6
	}
}

// Transition applies a packet of direction dir to the connection of r and restarts its timer,
// as the kernel's state_transition followed by ip_vs_conn_put:
//
//   - TCP: the state follows NextTCPState with flags f (Input becomes InputOnly while the
//     connection has seen no reply and its real is route, tunnel or local); entering or
//     leaving the active states moves the connection between InActConn and ActiveConn;
//     reaching ESTABLISHED makes its template ASSURED; the timeout becomes the new state's.
//   - UDP: the timeout becomes the UDP timeout; a reply (Output) makes the template ASSURED.
//
// It returns the new state. It fails with ErrNotFound when the entry is gone or is a
// template, and with lb.ErrProtocol for SCTP, whose chunk-driven table is not implemented
// (use SetState).
func (t *Table) Transition(r Ref, dir Direction, f TCPFlags) (State, error) {
	s, i, e := t.acquire(r)
	if e == nil {
		return 0, errGone(r)
	}
	var ns []notice
	tt := t.tos.Load()
	switch {
	case e.flags&fTemplate != 0:
		s.mu.Unlock()
		return 0, fmt.Errorf("conntrack: transition of template %#x: %w", uint64(r), ErrNotFound)
	case lb.Protocol(e.proto) == lb.TCP:
		d := dir
		if e.flags&fNoOutput != 0 {
			if dir == Output {
				e.flags &^= fNoOutput
			} else {
				d = InputOnly
			}
		}
		t.enter(e, NextTCPState(e.state, d, f), &ns)
		e.timeout = tt.tcp[e.state]
	case lb.Protocol(e.proto) == lb.UDP:
		e.timeout = tt.udp
		if dir == Output {
			t.assure(e, &ns)
		}
	default:
		p := lb.Protocol(e.proto)
		s.mu.Unlock()
		return 0, fmt.Errorf("conntrack: transition of %v entry: %w", p, lb.ErrProtocol)
	}
	s.setExpiry(i, e, t.nowTick()+e.timeout)
	st := e.state
	s.mu.Unlock()
	t.apply(ns)
	return st, nil
}

// SetState puts the connection of r in state st, with st's timeout, and restarts its timer:
// the way for engines that see sockets rather than packets (accept = TCPEstablished). It
// accounts and assures the template as Transition does. It fails with ErrNotFound when the
// entry is gone or is a template, and wrapping lb.ErrInvalid when st is not a state of the
// connection's protocol.
func (t *Table) SetState(r Ref, st State) error {
	s, i, e := t.acquire(r)
	if e == nil {
		return errGone(r)
	}
	p := lb.Protocol(e.proto)
	if e.flags&fTemplate != 0 {
		s.mu.Unlock()
		return fmt.Errorf("conntrack: set state of template %#x: %w", uint64(r), ErrNotFound)
	}
	if st >= numStates(p) {
		s.mu.Unlock()
		return fmt.Errorf("conntrack: %v state %d: %w", p, st, lb.ErrInvalid)
	}
	var ns []notice
	t.enter(e, st, &ns)
	e.timeout = t.tos.Load().of(p, st)
	s.setExpiry(i, e, t.nowTick()+e.timeout)
	s.mu.Unlock()
	t.apply(ns)
	return nil
}

// enter moves e to state st as set_tcp_state and set_sctp_state do: on a change, the
// connection moves between InActConn and ActiveConn as the new state is active or not, and
// reaching ESTABLISHED assures its template.
func (t *Table) enter(e *entry, st State, ns *[]notice) {
	if st == e.state {
		return
	}
	p := lb.Protocol(e.proto)
	from := e.class()
	if active(p, st) {
		e.flags &^= fInactive
	} else {
		e.flags |= fInactive
	}
	t.account(e.dest, from, e.class())
	e.state = st
	if (p == lb.TCP && st == TCPEstablished) || (p == lb.SCTP && st == SCTPEstablished) {
		t.assure(e, ns)
	}
}

// assure queues ASSURED for e's template, once.
func (t *Table) assure(e *entry, ns *[]notice) {
	if ctl := e.controlRef(); ctl != 0 && e.flags&fAssureSent == 0 {
		e.flags |= fAssureSent
		*ns = append(*ns, notice{ref: ctl, kind: noticeAssure})
	}
}
