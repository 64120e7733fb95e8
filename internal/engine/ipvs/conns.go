package ipvs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/lb"
)

// Conns returns the kernel's connection entries and persistence templates, as
// /proc/net/ip_vs_conn of the engine's network namespace lists them (ipvsadm -L -c reads
// the same file). Entries of services the engine does not manage are included: the file
// does not say which service an entry belongs to.
func (e *Engine) Conns() ([]engine.Conn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	path := e.opts.ConnFile
	var data []byte
	err := e.c.InNetNS(func() (err error) {
		data, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ipvs engine: connections: %w", err)
	}
	conns, err := ParseConns(data)
	if err != nil {
		return nil, fmt.Errorf("ipvs engine: connections: %s: %w", path, err)
	}
	return conns, nil
}

// ParseConns reads the lines ip_vs_conn_seq_show (net/netfilter/ipvs/ip_vs_conn.c)
// writes after its header:
//
//	TCP 0A000002 E994 0A090003 0050 0A01000D 0050 TIME_WAIT       113
//	UDP fd00:0000:0000:0000:0000:0000:0000:0002 8A3C fd00:...:0009 0035 0A01000B 0035 UDP 299 sip CALLID
//
// protocol (ip_vs_proto_name: TCP, UDP, SCTP, AH, ESP, or IP for the templates of fwmark
// services), client, virtual and destination addresses and ports in hex (IPv4 as 8 hex
// digits in host order of the value, IPv6 in %pI6's full form; the destination may be of
// the other family, a tunnel real), the state, the seconds left, and the persistence
// engine's name and data when it has some. An entry whose client port is 0 is a
// persistence template: ip_vs_sched_persist creates them with client port 0, and a
// connection never has one. The virtual address of a fwmark template is the mark
// (0.0.0.1 for mark 1).
func ParseConns(data []byte) ([]engine.Conn, error) {
	var out []engine.Conn
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		if n == 1 && len(f) > 0 && f[0] == "Pro" || len(f) == 0 {
			continue
		}
		c, err := parseConn(f)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

func parseConn(f []string) (engine.Conn, error) {
	var c engine.Conn
	if len(f) != 9 && len(f) != 11 {
		return c, fmt.Errorf("%d fields, want 9 or 11", len(f))
	}
	proto, ok := connProtocols[f[0]]
	if !ok {
		return c, fmt.Errorf("protocol %q", f[0])
	}
	c.Protocol = lb.Protocol(proto)
	var err error
	if c.Client, err = hexAddrPort(f[1], f[2]); err != nil {
		return c, err
	}
	if c.Virtual, err = hexAddrPort(f[3], f[4]); err != nil {
		return c, err
	}
	if c.Real, err = hexAddrPort(f[5], f[6]); err != nil {
		return c, err
	}
	c.State = f[7]
	secs, err := strconv.ParseUint(f[8], 10, 32)
	if err != nil {
		return c, fmt.Errorf("expires %q", f[8])
	}
	c.Expires = time.Duration(secs) * time.Second
	if len(f) == 11 {
		c.PE, c.PEData = f[9], f[10]
	}
	c.Template = c.Client.Port() == 0
	return c, nil
}

// connProtocols are ip_vs_proto_name's names.
var connProtocols = map[string]uint8{"IP": 0, "TCP": 6, "UDP": 17, "SCTP": 132, "AH": 51, "ESP": 50}

// hexAddrPort reads an address (8 hex digits, or an IPv6 address) and a 4-digit hex port.
func hexAddrPort(addr, port string) (netip.AddrPort, error) {
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q", port)
	}
	var a netip.Addr
	if strings.Contains(addr, ":") {
		a, err = netip.ParseAddr(addr)
	} else {
		var v uint64
		if v, err = strconv.ParseUint(addr, 16, 32); err == nil && len(addr) == 8 {
			a = netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, uint32(v))))
		}
	}
	if err != nil || !a.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("address %q", addr)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}
