package ipvsadm

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/golvs/golvs/internal/lb"
)

// addrPort is addrport_to_anyname: "addr:port", "[v6]:port", with names from the resolver
// unless -n (ports named for proto; other protocols print numbers).
func (p Printer) addrPort(a netip.Addr, port uint16, proto lb.Protocol, f format) string {
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	host := inetNtop(a)
	ps := strconv.Itoa(int(port))
	if !f.Numeric && p.Resolver != nil {
		if n, ok := p.Resolver.HostName(a); ok {
			host = n
		}
		if pn := protoName(proto); pn != "" {
			if n, ok := p.Resolver.PortName(port, pn); ok {
				ps = n
			}
		}
	}
	if is6(a) {
		return "[" + host + "]:" + ps
	}
	return host + ":" + ps
}

// inetNtop formats a as glibc's inet_ntop does. For IPv6 it differs from netip's format only
// for IPv4-compatible addresses (::a.b.c.d), which glibc prints with a dotted quad.
func inetNtop(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := 0; i <= 8; i++ {
		if i < 8 && w[i] == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
			continue
		}
		if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
			bestBase, bestLen = curBase, curLen
		}
		curBase = -1
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			sb.WriteString(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String())
			return sb.String()
		}
		sb.WriteString(strconv.FormatInt(int64(w[i]), 16))
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}

// connProtoName is the kernel's ip_vs_proto_name, the first column of /proc/net/ip_vs_conn.
func connProtoName(p lb.Protocol) string {
	switch p {
	case 0:
		return "IP"
	case lb.TCP:
		return "TCP"
	case lb.UDP:
		return "UDP"
	case lb.SCTP:
		return "SCTP"
	case 1:
		return "ICMP"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	case 58:
		return "ICMPv6"
	}
	return fmt.Sprintf("IP_%d", uint8(p))
}

// conns is list_conn and print_conn. The persistence-engine columns are printed with
// --persistent-conn for entries that have both a PE name and PE data.
func (p Printer) conns(w *bufio.Writer, conns []ConnView, f format) {
	w.WriteString("IPVS connection entries\n")
	if f.PersistentConn {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
	for _, c := range conns {
		proto := c.Protocol
		if proto != lb.TCP && proto != lb.UDP && proto != lb.SCTP {
			proto = 0
		}
		cname := p.addrPort(c.Client.Addr(), c.Client.Port(), proto, f)
		vname := p.addrPort(c.Virtual.Addr(), c.Virtual.Port(), proto, f)
		dname := p.addrPort(c.Dest.Addr(), c.Dest.Port(), proto, f)
		expire := fmt.Sprintf("%02d:%02d", c.Expires/60, c.Expires%60)
		if f.PersistentConn && c.PEName != "" && c.PEData != "" {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n", connProtoName(c.Protocol), expire, c.State, cname, vname, dname, c.PEName, c.PEData)
		} else {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %s\n", connProtoName(c.Protocol), expire, c.State, cname, vname, dname)
		}
	}
}

// daemons is list_daemon.
func (p Printer) daemons(w *bufio.Writer, ds []DaemonView) {
	for _, d := range ds {
		if d.State != DaemonMaster && d.State != DaemonBackup {
			continue
		}
		fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.MCastIfn, d.SyncID)
		if d.SyncMaxLen != 0 {
			fmt.Fprintf(w, ", maxlen=%d", d.SyncMaxLen)
		}
		if d.MCastGroup.IsValid() {
			fmt.Fprintf(w, ", group=%s", inetNtop(d.MCastGroup))
		}
		if d.MCastPort != 0 {
			fmt.Fprintf(w, ", port=%d", d.MCastPort)
		}
		if d.MCastTTL != 0 {
			fmt.Fprintf(w, ", ttl=%d", d.MCastTTL)
		}
		w.WriteString(")\n")
	}
}

// versionLine is what version() prints; the program name in it is always "ipvsadm".
const versionLine = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n"

func (p Printer) version(w *bufio.Writer) { w.WriteString(versionLine) }

// help is usage_exit's text (to stdout for -h), with the program name where ipvsadm puts
// its argv[0].
func (p Printer) help(w *bufio.Writer) {
	p.version(w)
	w.WriteString(strings.ReplaceAll(usageText, "PROG", p.prog()))
}

const usageText = `Usage:
  PROG -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  PROG -D virtual-service
  PROG -C
  PROG -R
  PROG -S [-n]
  PROG -a|e virtual-service -r server-address [options]
  PROG -d virtual-service -r server-address
  PROG -L|l [virtual-service] [options]
  PROG -Z [virtual-service]
  PROG --set tcp tcpfin udp
  PROG --start-daemon {master|backup} [daemon-options]
  PROG --stop-daemon {master|backup}
  PROG -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
`
