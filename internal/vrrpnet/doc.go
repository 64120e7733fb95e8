// Package vrrpnet is the VRRP packet transport: raw IP sockets for protocol 112 bound to
// one interface, carrying opaque VRRP payloads (IPv4 and IPv6, multicast and unicast).
//
// It does not parse VRRP. The VRRP layer (internal/vrrp) builds and checks payloads,
// including the checksum, which for VRRPv3 (and for every IPv6 packet) covers a pseudo
// header made of the source and destination addresses: Conn.Src gives the source that
// Send uses, and every received Packet carries its source and destination.
//
// The sockets follow keepalived 2.2.7 (keepalived/vrrp/vrrp.c open_vrrp_send_socket and
// open_vrrp_read_socket, keepalived/vrrp/vrrp_if.c if_setsockopt_*), where that matters on
// the wire or for which packets are received:
//
//   - bound to the device (SO_BINDTODEVICE), so instances on different interfaces never
//     see each other's packets;
//   - IPv4: IP_MULTICAST_ALL off, 224.0.0.18 joined on the interface (multicast mode),
//     TTL 255 for unicast and multicast (keepalived writes TTL 255 into the header it
//     builds with IP_HDRINCL; we ask the kernel for it with IP_TTL and IP_MULTICAST_TTL),
//     TOS 0xc0 (IPTOS_PREC_INTERNETCONTROL, if_setsockopt_priority), multicast loop off,
//     outgoing multicast interface set;
//   - IPv6: ff02::12 joined on the interface, hop limit 255 (IPV6_MULTICAST_HOPS and
//     IPV6_UNICAST_HOPS), traffic class 0xc0, multicast loop off, source address and
//     interface given per packet with IPV6_PKTINFO (keepalived's
//     vrrp_build_ancillary_data), IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO on receive;
//   - source address: the interface's primary IPv4 address, or its link-local IPv6
//     address, unless a unicast source (unicast_src_ip) is configured;
//   - in unicast mode (keepalived: unicast_peer non-empty) the socket is bound to the
//     unicast source address, so only packets addressed to it are received; in multicast
//     mode only packets addressed to the VRRP group are delivered.
//
// One deliberate difference: keepalived sets IPV6_CHECKSUM to offset 6 on its IPv6
// sockets (if_setsockopt_ipv6_checksum), so its kernel fills in the checksum on send and
// drops bad ones on receive. Conn turns IPV6_CHECKSUM off (the kernel default for
// protocol 112): the VRRP layer computes the checksum over the IPv6 pseudo header and
// must verify received ones. On the wire the result is the same when the VRRP layer's
// checksum is right.
//
// Not covered: VRRPv2 IPSEC-AH authentication (IP protocol 51), VMAC interfaces, and
// following changes of the interface's addresses after Listen (open a new Conn).
package vrrpnet
