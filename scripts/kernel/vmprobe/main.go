// Command vmprobe opens TCP connections from many source addresses inside the ipvs-vm guest
// and prints, for each, the real server kernel IPVS chose, in the line format of the
// scheduler recordings (testdata/kernel/sched-*.txt):
//
//	conn N SRC:PORT DST before - -> rsY
//
// "before -" says the counters were not recorded: the schedulers recorded this way (sh, dh,
// mh, rr, wrr) do not read them. The real is read from the director's /proc/1/net/ip_vs_conn
// after every connection (pid 1 lives in the director's namespace), so a connection the real
// never answers still shows the kernel's choice; NONE means IPVS created no entry.
//
// Usage (in the client namespace): vmprobe -src SPEC -dst SPEC [-dport P] [-rounds N] [-n START]
// SPEC is a comma-separated list of ADDR or ADDR+COUNT (COUNT consecutive addresses).
// Sources are used in turn; for each source, destinations in turn.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	srcSpec := flag.String("src", "", "source addresses")
	dstSpec := flag.String("dst", "", "destination addresses")
	dport := flag.Uint("dport", 80, "destination port")
	rounds := flag.Int("rounds", 1, "rounds over the sources")
	start := flag.Int("n", 1, "number of the first connection")
	portBase := flag.Int("portbase", 20000, "source port of the first connection; later ones count up")
	flag.Parse()
	srcs, err := expand(*srcSpec)
	if err != nil {
		fatal(err)
	}
	daddrs, err := expand(*dstSpec)
	if err != nil {
		fatal(err)
	}
	var dsts []netip.AddrPort
	for _, a := range daddrs {
		dsts = append(dsts, netip.AddrPortFrom(a, uint16(*dport)))
	}
	n := *start
	for r := 0; r < *rounds; r++ {
		for _, s := range srcs {
			for _, d := range dsts {
				port := uint16(*portBase + n - *start)
				line, err := probe(n, netip.AddrPortFrom(s, port), d)
				if err != nil {
					fatal(err)
				}
				fmt.Println(line)
				n++
			}
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "vmprobe:", err)
	os.Exit(1)
}

// expand turns "10.0.0.3+4,fd00::5" into the listed addresses.
func expand(spec string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(spec, ",") {
		a, cnt, ok := strings.Cut(part, "+")
		n := 1
		if ok {
			var err error
			if n, err = strconv.Atoi(cnt); err != nil {
				return nil, fmt.Errorf("count in %q: %w", part, err)
			}
		}
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			out = append(out, addr)
			addr = addr.Next()
		}
	}
	return out, nil
}

// probe connects from local (a fixed source port, so that it is known even when the
// connection fails) to dst, closes, and finds the IPVS entry of that connection.
func probe(n int, local, dst netip.AddrPort) (string, error) {
	d := net.Dialer{Timeout: 1500 * time.Millisecond, LocalAddr: net.TCPAddrFromAddrPort(local)}
	if c, err := d.Dial("tcp", dst.String()); err == nil {
		c.Close()
	}
	rs, err := lookup(local, dst)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("conn %d %s %s before - -> %s", n, local, dst, rs), nil
}

// lookup finds the connection client->vip in the director's IPVS table and names its real.
func lookup(client, vip netip.AddrPort) (string, error) {
	f, err := os.Open("/proc/1/net/ip_vs_conn")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 7 || fl[0] == "Pro" {
			continue
		}
		c, err1 := procAddr(fl[1], fl[2])
		v, err2 := procAddr(fl[3], fl[4])
		dst, err3 := procAddr(fl[5], fl[6])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if c == client && v == vip {
			return rsName(dst.Addr()), nil
		}
	}
	return "NONE", sc.Err()
}

// procAddr parses /proc/net/ip_vs_conn's address (8 hex digits, or IPv6 text) and hex port.
func procAddr(a, p string) (netip.AddrPort, error) {
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(a) == 8 && !strings.Contains(a, ":") {
		v, err := strconv.ParseUint(a, 16, 32)
		if err != nil {
			return netip.AddrPort{}, err
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), uint16(port)), nil
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// rsName names real server 10.1.0.1N or fd01::1N as rsN.
func rsName(a netip.Addr) string {
	s := a.String()
	i := strings.LastIndexAny(s, ".:")
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 11 {
		return s
	}
	return fmt.Sprintf("rs%d", n-10)
}
