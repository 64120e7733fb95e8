package conntrack

import (
	"fmt"

	"github.com/golvs/golvs/internal/lb"
)

// State is the protocol state of an entry, numbered as the kernel numbers it for the entry's
// protocol (IP_VS_TCP_S_*, IP_VS_UDP_S_*, IP_VS_SCTP_S_*), or for a template its
// IP_VS_CTPL_S_* state. The same number means different things for different protocols; use
// StateName to print one.
type State uint8

// TCP states (include/uapi/linux/ip_vs.h, IP_VS_TCP_S_*), in the kernel's order.
const (
	TCPNone State = iota
	TCPEstablished
	TCPSynSent
	TCPSynRecv
	TCPFinWait
	TCPTimeWait
	TCPClose
	TCPCloseWait
	TCPLastAck
	TCPListen
	TCPSynAck
	numTCPStates
)

// UDPNormal is the one state of a UDP entry (IP_VS_UDP_S_NORMAL); ipvsadm lists it as "UDP".
const UDPNormal State = 0

// SCTP states (include/net/ip_vs.h, enum ip_vs_sctp_states), in the kernel's order.
const (
	SCTPNone State = iota
	SCTPInit1
	SCTPInit
	SCTPCookieSent
	SCTPCookieReplied
	SCTPCookieWait
	SCTPCookie
	SCTPCookieEchoed
	SCTPEstablished
	SCTPShutdownSent
	SCTPShutdownReceived
	SCTPShutdownAckSent
	SCTPRejected
	SCTPClosed
	numSCTPStates
)

// Template states (IP_VS_CTPL_S_*): a template becomes Assured once one of its connections
// reached ESTABLISHED (TCP, SCTP) or saw a reply (UDP), as ip_vs_control_assure_ct does.
const (
	TemplateNone    State = 0
	TemplateAssured State = 1
)

// numStates returns how many states protocol p has (0 for a protocol without a state table).
func numStates(p lb.Protocol) State {
	switch p {
	case lb.TCP:
		return numTCPStates
	case lb.UDP:
		return 1
	case lb.SCTP:
		return numSCTPStates
	}
	return 0
}

// StateName returns the name /proc/net/ip_vs_conn and ipvsadm -L -c print for state s of a
// connection of protocol p, or of a template when template is true ("NONE", "ASSURED").
// Out-of-range states give the kernel's "ERR!".
func StateName(p lb.Protocol, s State, template bool) string {
	if template {
		switch s {
		case TemplateNone:
			return "NONE"
		case TemplateAssured:
			return "ASSURED"
		}
		return "ERR!"
	}
	if s >= numStates(p) {
		return "ERR!"
	}
	switch p {
	case lb.TCP:
		return [...]string{"NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
			"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK"}[s]
	case lb.UDP:
		return "UDP"
	default: // SCTP
		return [...]string{"NONE", "INIT1", "INIT", "C-SENT", "C-REPLIED", "C-WAIT", "COOKIE",
			"C-ECHOED", "ESTABLISHED", "S-SENT", "S-RECEIVED", "S-ACK-SENT", "REJECTED", "CLOSED"}[s]
	}
}

// ProtocolName is the protocol column of /proc/net/ip_vs_conn and ipvsadm -L -c: "TCP", "UDP",
// "SCTP", or "IP" for protocol 0 (fwmark templates), as the kernel's ip_vs_proto_name.
func ProtocolName(p lb.Protocol) string {
	switch p {
	case 0:
		return "IP"
	case lb.TCP, lb.UDP, lb.SCTP:
		return p.String()
	}
	return fmt.Sprintf("IP_%d", uint8(p))
}

// DefaultTimeout returns the kernel's default timeout, in seconds, of state s of protocol p:
// tcp_timeouts (ip_vs_proto_tcp.c), udp_timeouts (ip_vs_proto_udp.c) and sctp_timeouts
// (ip_vs_proto_sctp.c, where IP_VS_SCTP_MAX_RTO is 61 s). It returns 2 s, the kernel's
// IP_VS_*_S_LAST value, for an out-of-range state.
func DefaultTimeout(p lb.Protocol, s State) uint32 {
	switch p {
	case lb.TCP:
		switch s {
		case TCPNone:
			return 2
		case TCPEstablished:
			return 15 * 60
		case TCPSynSent:
			return 2 * 60
		case TCPSynRecv:
			return 60
		case TCPFinWait, TCPTimeWait, TCPListen, TCPSynAck:
			return 2 * 60
		case TCPClose:
			return 10
		case TCPCloseWait:
			return 60
		case TCPLastAck:
			return 30
		}
	case lb.UDP:
		if s == UDPNormal {
			return 5 * 60
		}
	case lb.SCTP:
		switch s {
		case SCTPNone:
			return 2
		case SCTPInit1, SCTPRejected:
			return 3 + 1
		case SCTPEstablished:
			return 15 * 60
		}
		if s < numSCTPStates {
			return 60 + 1
		}
	}
	return 2
}

// active reports whether a connection of protocol p in state s counts as ActiveConn.
// For TCP this is the kernel's tcp_state_active_table (since Linux 4.7, "ipvs: count
// pre-established TCP states as active"): ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK. SCTP
// counts only ESTABLISHED (set_sctp_state); UDP entries never leave InActConn.
func active(p lb.Protocol, s State) bool {
	switch p {
	case lb.TCP:
		return s == TCPEstablished || s == TCPSynSent || s == TCPSynRecv || s == TCPSynAck
	case lb.SCTP:
		return s == SCTPEstablished
	}
	return false
}

// Direction is the direction of a packet relative to the connection, as the kernel's
// IP_VS_DIR_* values.
type Direction uint8

// Directions. InputOnly is the kernel's IP_VS_DIR_INPUT_ONLY: client-to-server packets of a
// connection whose replies bypass the director (route, tunnel and local reals, the
// IP_VS_CONN_F_NOOUTPUT flag). Table.Transition picks it by itself; NextTCPState takes it
// explicitly.
const (
	Input Direction = iota
	Output
	InputOnly
)

// TCPFlags are the flags of a TCP segment, with their wire bit values.
type TCPFlags uint8

// TCP flags the state machine looks at.
const (
	FIN TCPFlags = 0x01
	SYN TCPFlags = 0x02
	RST TCPFlags = 0x04
	ACK TCPFlags = 0x10
)

// tcpTable is the kernel's tcp_states table (net/netfilter/ipvs/ip_vs_proto_tcp.c, as in
// 5.x-6.1; not the secure_tcp "dos" table), written with the kernel's two-letter state codes so
// that it can be compared with the source row by row. Each direction has rows syn, fin, ack,
// rst; each row gives the next state for the current state in the order of the header.
//
// It differs from the 3.x table in two cells: an ACK in state NONE leads to ESTABLISHED (3.x:
// CLOSE) in the INPUT and INPUT-ONLY directions.
const tcpTable = "" +
	//  NO ES SS SR FW TW CL CW LA LI SA
	"SR ES ES SR SR SR SR SR SR SR SR " + // INPUT syn
	"CL CW SS TW TW TW CL CW LA LI TW " + // INPUT fin
	"ES ES SS ES FW TW CL CW CL LI ES " + // INPUT ack
	"CL CL CL SR CL CL CL CL LA LI SR " + // INPUT rst
	"SS ES SS SR SS SS SS SS SS LI SR " + // OUTPUT syn
	"TW FW SS TW FW TW CL TW LA LI TW " + // OUTPUT fin
	"ES ES SS ES FW TW CL CW LA ES ES " + // OUTPUT ack
	"CL CL SS CL CL TW CL CL CL CL CL " + // OUTPUT rst
	"SR ES ES SR SR SR SR SR SR SR SR " + // INPUT-ONLY syn
	"CL FW SS TW FW TW CL CW LA LI TW " + // INPUT-ONLY fin
	"ES ES SS ES FW TW CL CW CL LI ES " + // INPUT-ONLY ack
	"CL CL CL SR CL CL CL CL LA LI CL " // INPUT-ONLY rst

// tcpCode maps a two-letter code of tcpTable to its state.
func tcpCode(a, b byte) State {
	switch uint16(a)<<8 | uint16(b) {
	case 'E'<<8 | 'S':
		return TCPEstablished
	case 'S'<<8 | 'S':
		return TCPSynSent
	case 'S'<<8 | 'R':
		return TCPSynRecv
	case 'F'<<8 | 'W':
		return TCPFinWait
	case 'T'<<8 | 'W':
		return TCPTimeWait
	case 'C'<<8 | 'L':
		return TCPClose
	case 'C'<<8 | 'W':
		return TCPCloseWait
	case 'L'<<8 | 'A':
		return TCPLastAck
	case 'L'<<8 | 'I':
		return TCPListen
	case 'S'<<8 | 'A':
		return TCPSynAck
	}
	return TCPNone
}

// NextTCPState returns the state a TCP connection in state cur moves to on a segment with
// flags f travelling in direction dir, as the kernel's set_tcp_state: the flag that selects
// the row is RST, else SYN, else FIN, else ACK; a segment with none of them gives CLOSE (the
// kernel's initial new_state when tcp_state_idx fails). An out-of-range cur or dir gives CLOSE.
func NextTCPState(cur State, dir Direction, f TCPFlags) State {
	var row int
	switch {
	case f&RST != 0:
		row = 3
	case f&SYN != 0:
		row = 0
	case f&FIN != 0:
		row = 1
	case f&ACK != 0:
		row = 2
	default:
		return TCPClose
	}
	if cur >= numTCPStates || dir > InputOnly {
		return TCPClose
	}
	off := ((int(dir)*4+row)*int(numTCPStates) + int(cur)) * 3
	return tcpCode(tcpTable[off], tcpTable[off+1])
}
