package health

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// dnsResponder answers DNS queries on a loopback UDP port as its reply function says, and
// hands each question it saw to seen.
func dnsResponder(t *testing.T, reply func(q []byte) [][]byte) (netip.AddrPort, chan []byte) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []byte, 16)
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			select {
			case seen <- q:
			default:
			}
			for _, m := range reply(q) {
				pc.WriteTo(m, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort(), seen
}

// dnsAnswer builds a response to query q with rcode and the given answer records, each
// owned by the question's name (a compression pointer to offset 12).
func dnsAnswer(q []byte, rcode byte, records ...[]byte) []byte {
	m := append([]byte(nil), q...)
	m[2] |= 0x80 // QR
	m[3] = 0x80 | rcode
	binary.BigEndian.PutUint16(m[6:], uint16(len(records)))
	for _, r := range records {
		m = append(m, r...)
	}
	return m
}

// dnsRecord is one resource record named by a pointer to the question.
func dnsRecord(typ uint16, rdata []byte) []byte {
	r := []byte{0xc0, 12}
	r = binary.BigEndian.AppendUint16(r, typ)
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint32(r, 300)
	r = binary.BigEndian.AppendUint16(r, uint16(len(rdata)))
	return append(r, rdata...)
}

func TestDNSChecker(t *testing.T) {
	a := dnsRecord(1, []byte{192, 0, 2, 7})
	ptrName, _ := encodeName("real1.example.org")
	ptr := dnsRecord(12, ptrName)
	tests := []struct {
		name     string
		check    config.Check
		reply    func(q []byte) [][]byte
		ok       bool
		reason   string
		question string // hex of the question section the server must see
	}{
		{"defaults: SOA of the root", config.Check{}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0)} },
			true, "dns SOA .: NOERROR, 0 answers", "00" + "0006" + "0001"},
		{"A", config.Check{DNSType: "a", DNSName: "www.example.org"}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0, a)} },
			true, "dns A www.example.org: NOERROR, 1 answers", "03777777076578616d706c65036f726700" + "0001" + "0001"},
		{"NXDOMAIN", config.Check{DNSType: "MX", DNSName: "nowhere.example."}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 3)} },
			false, "rcode 3 (NXDOMAIN)", "076e6f7768657265076578616d706c6500" + "000f" + "0001"},
		{"SERVFAIL", config.Check{}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 2)} }, false, "rcode 2 (SERVFAIL)", ""},
		{"strangers ignored", config.Check{}, func(q []byte) [][]byte {
			wrongID := dnsAnswer(q, 3)
			wrongID[0] ^= 0xff
			query := append([]byte(nil), q...) // QR clear: not a response
			return [][]byte{wrongID, query, {1, 2, 3}, dnsAnswer(q, 0)}
		}, true, "NOERROR", ""},
		{"no reply", config.Check{}, func(q []byte) [][]byte { return nil }, false, "dns reply: timed out", ""},
		{"ldirectord receive matches A", config.Check{DNSName: "www.example.org", Receive: `^192\.0\.2\.`}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0, a)} },
			true, "answer 192.0.2.7 matches", "03777777076578616d706c65036f726700" + "0001" + "0001"},
		{"ldirectord receive mismatch", config.Check{DNSName: "www.example.org", Receive: `^10\.`}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0, a)} },
			false, `no A, AAAA or PTR answer matches "^10\\." (got 192.0.2.7)`, ""},
		{"ldirectord receive with no answer", config.Check{DNSName: "www.example.org", Receive: "."}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0)} },
			false, "no A, AAAA or PTR answer matches", ""},
		{"ldirectord PTR for an address", config.Check{DNSName: "192.0.2.7", Receive: `^real1\.example\.org$`}, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0, ptr)} },
			true, "dns PTR 7.2.0.192.in-addr.arpa.: answer real1.example.org matches", "0137013201300331393207696e2d61646472046172706100" + "000c" + "0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, seen := dnsResponder(t, tt.reply)
			c := tt.check
			c.Kind = config.CheckDNS
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
			q := <-seen
			if flags := binary.BigEndian.Uint16(q[2:]); flags != 0x0100 || !bytes.Equal(q[4:12], []byte{0, 1, 0, 0, 0, 0, 0, 0}) {
				t.Errorf("query header %x, want RD set and one question", q[:12])
			}
			if tt.question != "" {
				if got := hex.EncodeToString(q[12:]); got != tt.question {
					t.Errorf("question %s, want %s", got, tt.question)
				}
			}
		})
	}
}

// ldirectord's service=dns goes through negotiate with request= as the name.
func TestDNSCheckerNegotiate(t *testing.T) {
	addr, seen := dnsResponder(t, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 0, dnsRecord(1, []byte{192, 0, 2, 9}))} })
	c := &config.Check{Kind: config.CheckNegotiate, Service: "dns", Request: "/www.example.org", Receive: "192.0.2.9"}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: addr}), checkTimeout), true, "dns A www.example.org: answer 192.0.2.9 matches")
	<-seen
}

func TestDNSCheckerPortUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	c := &config.Check{Kind: config.CheckDNS}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: addr}), checkTimeout), false, "dns reply: connection refused")
}

func TestDecodeNameLoops(t *testing.T) {
	msg := make([]byte, 12)
	msg = append(msg, 0xc0, 12) // points at itself
	if _, _, err := decodeName(msg, 12); err == nil {
		t.Error("a name pointing at itself decoded")
	}
	if _, _, err := decodeName([]byte{5, 'a'}, 0); err == nil {
		t.Error("a truncated label decoded")
	}
}
