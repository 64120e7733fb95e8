package ipvsadm

import (
	"net/netip"
	"testing"
)

func TestSystemResolverFiles(t *testing.T) {
	r := &SystemResolver{HostsFile: "testdata/hosts", ServicesFile: "testdata/services", NoDNS: true}
	if a, ok := r.LookupHost("RS1"); !ok || a != rs11() {
		t.Errorf("LookupHost(RS1) = %v, %v", a, ok)
	}
	if _, ok := r.LookupHost("ip6-localhost"); ok {
		t.Error("LookupHost gave an IPv6-only name an address")
	}
	if _, ok := r.LookupHost("no-such-host.invalid"); ok {
		t.Error("LookupHost(no-such-host.invalid) resolved with NoDNS")
	}
	if n, ok := r.HostName(netip.MustParseAddr("::1")); !ok || n != "localhost" {
		t.Errorf("HostName(::1) = %q, %v", n, ok)
	}
	for _, tt := range []struct {
		name, proto string
		port        uint16
		ok          bool
	}{{"http", "tcp", 80, true}, {"www", "tcp", 80, true}, {"webcache", "tcp", 8080, true}, {"mdns", "udp", 5353, true}, {"mdns", "tcp", 0, false}, {"amqp", "sctp", 5672, true}} {
		if p, ok := r.LookupPort(tt.name, tt.proto); p != tt.port || ok != tt.ok {
			t.Errorf("LookupPort(%s/%s) = %d, %v", tt.name, tt.proto, p, ok)
		}
	}
	if n, ok := r.PortName(8080, "tcp"); !ok || n != "http-alt" {
		t.Errorf("PortName(8080/tcp) = %q, %v", n, ok)
	}
	if _, ok := r.PortName(3868, "sctp"); ok {
		t.Error("PortName(3868/sctp) has a name")
	}
	missing := &SystemResolver{HostsFile: "testdata/none", ServicesFile: "testdata/none", NoDNS: true}
	if _, ok := missing.LookupPort("http", "tcp"); ok {
		t.Error("a missing services file gave a port")
	}
}
