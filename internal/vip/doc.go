// Package vip is the operating-system side of VRRP virtual addresses: it adds and removes
// VIPs on interfaces through netlink, announces them to the segment with gratuitous ARP
// (IPv4) and unsolicited neighbour advertisements (IPv6), watches interface links for
// track_interface and the host's addresses for ha_suspend. Everything can run in another
// network namespace.
//
// It follows keepalived 2.2.7 where the kernel or the wire sees the difference:
//
//   - addresses (keepalived/vrrp/vrrp_ipaddress.c netlink_ipaddress): IFA_LOCAL and the
//     prefix length, IFA_LABEL for IPv4 ("label eth0:1"), the scope, no broadcast address
//     unless one is configured (GoLVS has none to configure); IPv6 VIPs get IFA_F_NODAD,
//     and a /128 gets preferred lifetime 0 (deprecated, so it is never picked as a source
//     address) with an infinite valid lifetime. keepalived ignores label and scope on IPv6
//     VIPs, and so does this package;
//   - gratuitous ARP (keepalived/vrrp/vrrp_arp.c send_gratuitous_arp_immediate): an ARP
//     request to the Ethernet broadcast address, sender and target IP both the VIP, sender
//     hardware address the interface's, target hardware address ff:ff:ff:ff:ff:ff, sent
//     through a packet socket; none on IFF_NOARP interfaces (vrrp_send_link_update);
//   - unsolicited neighbour advertisement (keepalived/vrrp/vrrp_ndisc.c
//     ndisc_send_unsolicited_na_immediate): from the VIP to ff02::1 (Ethernet
//     33:33:00:00:00:01), hop limit 255, override flag set, solicited flag clear, router
//     flag set when IPv6 forwarding is on for the interface, target link-layer address
//     option with the interface's MAC;
//   - the announcement schedule (garp_master_repeat 5, garp_master_delay 5 s,
//     garp_master_refresh 0 = off, garp_master_refresh_repeat 1: VRRP_GARP_REP,
//     VRRP_GARP_DELAY, VRRP_GARP_REFRESH, VRRP_GARP_REFRESH_REP in keepalived's vrrp.h);
//   - link state (keepalived's IF_FLAGS_UP in vrrp_if.h): a link is up when both IFF_UP
//     and IFF_RUNNING are set.
//
// Only Ethernet-like interfaces (6-byte hardware addresses) can be announced; keepalived
// also handles InfiniBand, which this package does not.
package vip
