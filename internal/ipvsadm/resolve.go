package ipvsadm

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolver turns host and service names into addresses and ports and back, as ipvsadm does
// through the C library (gethostbyname, gethostbyaddr, getservbyname, getservbyport). Tests
// use StaticResolver; the CLI uses SystemResolver.
type Resolver interface {
	// LookupHost returns the first IPv4 address of host name; ok is false when the name has
	// none (gethostbyname: an IPv6-only name does not resolve).
	LookupHost(name string) (addr netip.Addr, ok bool)
	// LookupPort returns the port of service name for proto ("tcp", "udp", "sctp").
	LookupPort(name, proto string) (port uint16, ok bool)
	// HostName returns the canonical name of addr; ok is false when it has none.
	HostName(addr netip.Addr) (name string, ok bool)
	// PortName returns the service name of port for proto; ok is false when it has none.
	PortName(port uint16, proto string) (name string, ok bool)
}

// StaticResolver resolves from fixed tables; names are matched exactly. Hosts lists
// name→address for LookupHost and HostName (the first name listed for an address is its
// canonical name); Services lists "name/proto"→port for LookupPort and PortName (the first
// name listed for a port and proto wins).
type StaticResolver struct {
	Hosts    []HostEntry
	Services []ServiceEntry
}

// HostEntry is one name of an address.
type HostEntry struct {
	Name string
	Addr netip.Addr
}

// ServiceEntry is one name of a port.
type ServiceEntry struct {
	Name  string
	Port  uint16
	Proto string
}

// LookupHost implements Resolver.
func (r StaticResolver) LookupHost(name string) (netip.Addr, bool) {
	for _, h := range r.Hosts {
		if h.Name == name && h.Addr.Is4() {
			return h.Addr, true
		}
	}
	return netip.Addr{}, false
}

// LookupPort implements Resolver.
func (r StaticResolver) LookupPort(name, proto string) (uint16, bool) {
	for _, s := range r.Services {
		if s.Name == name && s.Proto == proto {
			return s.Port, true
		}
	}
	return 0, false
}

// HostName implements Resolver.
func (r StaticResolver) HostName(addr netip.Addr) (string, bool) {
	for _, h := range r.Hosts {
		if h.Addr == addr {
			return h.Name, true
		}
	}
	return "", false
}

// PortName implements Resolver.
func (r StaticResolver) PortName(port uint16, proto string) (string, bool) {
	for _, s := range r.Services {
		if s.Port == port && s.Proto == proto {
			return s.Name, true
		}
	}
	return "", false
}

// SystemResolver resolves as glibc does with "hosts: files dns": a hosts file first (by
// default /etc/hosts), then, for hosts not in it, the system resolver (unless NoDNS);
// services come from a services file (by default /etc/services). Files are read once, at
// the first lookup. The zero value is ready to use; a SystemResolver must not be copied
// after its first use.
type SystemResolver struct {
	HostsFile    string        // default /etc/hosts
	ServicesFile string        // default /etc/services
	NoDNS        bool          // never ask the network
	Timeout      time.Duration // per DNS query; default 5 s

	once     sync.Once
	hosts    StaticResolver
	services StaticResolver
}

func (r *SystemResolver) load() {
	r.once.Do(func() {
		hf, sf := r.HostsFile, r.ServicesFile
		if hf == "" {
			hf = "/etc/hosts"
		}
		if sf == "" {
			sf = "/etc/services"
		}
		r.hosts.Hosts = readHostsFile(hf)
		r.services.Services = readServicesFile(sf)
	})
}

func (r *SystemResolver) ctx() (context.Context, context.CancelFunc) {
	t := r.Timeout
	if t == 0 {
		t = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// LookupHost implements Resolver. Names made only of digits and dots, or holding a colon,
// are never sent to DNS, as glibc's gethostbyname does not send them.
func (r *SystemResolver) LookupHost(name string) (netip.Addr, bool) {
	r.load()
	for _, h := range r.hosts.Hosts {
		if strings.EqualFold(h.Name, name) && h.Addr.Is4() {
			return h.Addr, true
		}
	}
	if r.NoDNS || name == "" || strings.Trim(name, "0123456789.") == "" || strings.Contains(name, ":") {
		return netip.Addr{}, false
	}
	ctx, cancel := r.ctx()
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, false
	}
	return ips[0].Unmap(), true
}

// LookupPort implements Resolver.
func (r *SystemResolver) LookupPort(name, proto string) (uint16, bool) {
	r.load()
	return r.services.LookupPort(name, proto)
}

// HostName implements Resolver.
func (r *SystemResolver) HostName(addr netip.Addr) (string, bool) {
	r.load()
	if n, ok := r.hosts.HostName(addr); ok {
		return n, true
	}
	if r.NoDNS {
		return "", false
	}
	ctx, cancel := r.ctx()
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

// PortName implements Resolver.
func (r *SystemResolver) PortName(port uint16, proto string) (string, bool) {
	r.load()
	return r.services.PortName(port, proto)
}

// eachEntry calls f with the fields of every line of the file at path that has two or
// more, "#" comments removed (the format of hosts(5) and services(5)). A missing file has
// no lines.
func eachEntry(path string, f func(fields []string)) {
	file, err := os.Open(path)
	if err != nil {
		return
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fields := strings.Fields(line); len(fields) >= 2 {
			f(fields)
		}
	}
}

// readHostsFile reads a hosts(5) file: "address name aliases... # comment".
func readHostsFile(path string) []HostEntry {
	var out []HostEntry
	eachEntry(path, func(fields []string) {
		a, err := netip.ParseAddr(fields[0])
		if err != nil || a.Zone() != "" {
			return
		}
		for _, n := range fields[1:] {
			out = append(out, HostEntry{Name: n, Addr: a})
		}
	})
	return out
}

// readServicesFile reads a services(5) file: "name port/proto aliases... # comment".
func readServicesFile(path string) []ServiceEntry {
	var out []ServiceEntry
	eachEntry(path, func(fields []string) {
		p, proto, ok := strings.Cut(fields[1], "/")
		n, err := strconv.ParseUint(p, 10, 16)
		if !ok || err != nil {
			return
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			out = append(out, ServiceEntry{Name: name, Port: uint16(n), Proto: proto})
		}
	})
	return out
}
