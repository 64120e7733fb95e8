package conntrack

import (
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

// The kernel's tcp_states rows (net/netfilter/ipvs/ip_vs_proto_tcp.c, 5.x-6.1), written out
// here a second time as Go constants, independently of tcpTable's letter codes. Columns are
// the current state in the kernel's order: NONE ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT
// TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN SYNACK.
const (
	sNO = TCPNone
	sES = TCPEstablished
	sSS = TCPSynSent
	sSR = TCPSynRecv
	sFW = TCPFinWait
	sTW = TCPTimeWait
	sCL = TCPClose
	sCW = TCPCloseWait
	sLA = TCPLastAck
	sLI = TCPListen
	sSA = TCPSynAck
)

func TestNextTCPState(t *testing.T) {
	rows := []struct {
		dir  Direction
		flag TCPFlags
		want [numTCPStates]State
	}{
		{Input, SYN, [...]State{sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR}},
		{Input, FIN, [...]State{sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW}},
		{Input, ACK, [...]State{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES}},
		{Input, RST, [...]State{sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR}},
		{Output, SYN, [...]State{sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR}},
		{Output, FIN, [...]State{sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW}},
		{Output, ACK, [...]State{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES}},
		{Output, RST, [...]State{sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL}},
		{InputOnly, SYN, [...]State{sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR}},
		{InputOnly, FIN, [...]State{sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW}},
		{InputOnly, ACK, [...]State{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES}},
		{InputOnly, RST, [...]State{sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL}},
	}
	dirName := [...]string{"input", "output", "input-only"}
	for _, r := range rows {
		for cur := range numTCPStates {
			if got := NextTCPState(cur, r.dir, r.flag); got != r.want[cur] {
				t.Errorf("%s flag %#x from %s: got %s, want %s", dirName[r.dir], r.flag,
					StateName(lb.TCP, cur, false), StateName(lb.TCP, got, false), StateName(lb.TCP, r.want[cur], false))
			}
		}
	}
	// tcp_state_idx: RST before SYN before FIN before ACK; none of them gives CLOSE.
	prec := []struct {
		cur  State
		dir  Direction
		f    TCPFlags
		want State
	}{
		{sNO, Output, SYN | ACK, sSS}, // SYN+ACK uses the syn row
		{sES, Input, FIN | ACK, sCW},  // FIN+ACK uses the fin row
		{sES, Input, RST | ACK, sCL},  // RST+ACK uses the rst row
		{sSR, Input, RST | SYN, sSR},  // RST wins over SYN
		{sES, Input, 0, sCL},          // no known flag: CLOSE
		{sES, Input, 0x08 /* PSH */, sCL},
		{numTCPStates, Input, ACK, sCL}, // out of range
	}
	for _, p := range prec {
		if got := NextTCPState(p.cur, p.dir, p.f); got != p.want {
			t.Errorf("from %d dir %d flags %#x: got %d, want %d", p.cur, p.dir, p.f, got, p.want)
		}
	}
}

func TestDefaultTimeoutsAndNames(t *testing.T) {
	// tcp_timeouts, udp_timeouts, sctp_timeouts in seconds, and the state name tables.
	cases := []struct {
		p    lb.Protocol
		s    State
		name string
		secs uint32
	}{
		{lb.TCP, TCPNone, "NONE", 2},
		{lb.TCP, TCPEstablished, "ESTABLISHED", 900},
		{lb.TCP, TCPSynSent, "SYN_SENT", 120},
		{lb.TCP, TCPSynRecv, "SYN_RECV", 60},
		{lb.TCP, TCPFinWait, "FIN_WAIT", 120},
		{lb.TCP, TCPTimeWait, "TIME_WAIT", 120},
		{lb.TCP, TCPClose, "CLOSE", 10},
		{lb.TCP, TCPCloseWait, "CLOSE_WAIT", 60},
		{lb.TCP, TCPLastAck, "LAST_ACK", 30},
		{lb.TCP, TCPListen, "LISTEN", 120},
		{lb.TCP, TCPSynAck, "SYNACK", 120},
		{lb.TCP, numTCPStates, "ERR!", 2},
		{lb.UDP, UDPNormal, "UDP", 300},
		{lb.UDP, 1, "ERR!", 2},
		{lb.SCTP, SCTPNone, "NONE", 2},
		{lb.SCTP, SCTPInit1, "INIT1", 4},
		{lb.SCTP, SCTPInit, "INIT", 61},
		{lb.SCTP, SCTPCookieSent, "C-SENT", 61},
		{lb.SCTP, SCTPCookieReplied, "C-REPLIED", 61},
		{lb.SCTP, SCTPCookieWait, "C-WAIT", 61},
		{lb.SCTP, SCTPCookie, "COOKIE", 61},
		{lb.SCTP, SCTPCookieEchoed, "C-ECHOED", 61},
		{lb.SCTP, SCTPEstablished, "ESTABLISHED", 900},
		{lb.SCTP, SCTPShutdownSent, "S-SENT", 61},
		{lb.SCTP, SCTPShutdownReceived, "S-RECEIVED", 61},
		{lb.SCTP, SCTPShutdownAckSent, "S-ACK-SENT", 61},
		{lb.SCTP, SCTPRejected, "REJECTED", 4},
		{lb.SCTP, SCTPClosed, "CLOSED", 61},
	}
	for _, c := range cases {
		if got := StateName(c.p, c.s, false); got != c.name {
			t.Errorf("%v state %d name %q, want %q", c.p, c.s, got, c.name)
		}
		if got := DefaultTimeout(c.p, c.s); got != c.secs {
			t.Errorf("%v %s timeout %d, want %d", c.p, c.name, got, c.secs)
		}
	}
	if StateName(lb.TCP, TemplateAssured, true) != "ASSURED" || StateName(0, TemplateNone, true) != "NONE" {
		t.Error("template state names")
	}
	for p, want := range map[lb.Protocol]string{0: "IP", lb.TCP: "TCP", lb.UDP: "UDP", lb.SCTP: "SCTP", 50: "IP_50"} {
		if got := ProtocolName(p); got != want {
			t.Errorf("ProtocolName(%d) = %q, want %q", p, got, want)
		}
	}
}

func TestActiveStates(t *testing.T) {
	// tcp_state_active_table (Linux >= 4.7): only the pre-established states and ESTABLISHED.
	want := map[State]bool{TCPEstablished: true, TCPSynSent: true, TCPSynRecv: true, TCPSynAck: true}
	for s := range numTCPStates {
		if active(lb.TCP, s) != want[s] {
			t.Errorf("TCP %s active = %v", StateName(lb.TCP, s, false), !want[s])
		}
	}
	for s := range numSCTPStates {
		if active(lb.SCTP, s) != (s == SCTPEstablished) {
			t.Errorf("SCTP %s active = %v", StateName(lb.SCTP, s, false), s != SCTPEstablished)
		}
	}
	if active(lb.UDP, UDPNormal) {
		t.Error("UDP active")
	}
}
