// Package ipvsnl is GoLVS's client for the kernel's IPVS generic netlink family ("IPVS",
// version 1): the table of virtual services and their destinations, counters, protocol
// timeouts and connection-sync daemons, as ipvsadm 1.31's libipvs drives them.
//
// The types are netlink-level: plain structs whose fields carry the kernel's values and
// encodings (address families, IPPROTO numbers, IP_VS_SVC_F_* and IP_VS_CONN_F_* bits).
// Translating them to GoLVS's model (package lb) is the ipvs engine's job.
//
// # Wire format
//
// The attributes and their encodings are those of include/uapi/linux/ip_vs.h and of the
// kernel's parsers and fillers in net/netfilter/ipvs/ip_vs_ctl.c (ip_vs_genl_parse_service,
// ip_vs_genl_parse_dest, ip_vs_genl_new_daemon, ip_vs_genl_fill_*):
//
//   - addresses are sent as 16 bytes (union nf_inet_addr), as ipvsadm does; ports
//     (service, destination and GUE tunnel port) travel in network byte order, everything
//     else in host order;
//   - the persistence netmask is a raw 32-bit value: for IPv4 the mask in network byte
//     order, for IPv6 the prefix length in host order. Service.Netmask holds the number
//     (0xffffff00 for 255.255.255.0, 64 for /64) and the codec picks the encoding from the
//     service's family;
//   - service flags travel with a mask (struct ip_vs_flags); the kernel applies
//     (old &^ mask) | (flags & mask) on SetService;
//   - nested attributes carry NLA_F_NESTED, which the kernel's non-strict parser accepts.
//
// Requests that create or change a service carry all of its attributes; other requests
// carry only what identifies the service (family and protocol, address and port, or
// firewall mark), which is all the kernel reads (ip_vs_genl_parse_service with full_entry
// false). A destination deletion likewise carries only the destination's family, address
// and port.
//
// # Errors
//
// Errors keep the kernel's errno visible: a refusal is a *KernelError, errors.Is(err,
// unix.EEXIST) works, and the text names the operation, as in "ipvs: new service tcp
// 10.0.0.1:80: file exists". Open fails wrapping ErrNoIPVS when the kernel has no IPVS family.
//
// Package ipvsnltest is a fake kernel for tests: an in-memory IPVS table behind
// genetlink's genltest.
package ipvsnl
