// Package vrrp implements the Virtual Router Redundancy Protocol as keepalived 2.2.7 speaks
// it: the advertisement codec (VRRPv2, RFC 3768, over IPv4; VRRPv3, RFC 5798, over IPv4
// and IPv6) and the per-instance state machine (INIT, BACKUP, MASTER, FAULT) with
// keepalived's preemption, tracking, sync-group and timer rules.
//
// The package does no I/O of its own. A Router owns every instance and runs them on one
// goroutine, driven by an injected Clock; it sends and receives advertisements through a
// Conn per instance, moves virtual addresses and announces them through Actions, and runs
// notify scripts through Actions.Notify. The OS side (raw IP-protocol-112 sockets,
// netlink, gratuitous ARP and unsolicited neighbour advertisements) implements those
// interfaces elsewhere. ScriptRunner runs vrrp_script checks with keepalived's
// interval, timeout, rise and fall on the same injected clock and feeds the Router.
//
// Where the package follows keepalived rather than the RFCs, the doc comment of the
// function says so and names the keepalived function it was checked against
// (keepalived/vrrp/vrrp.c, vrrp_scheduler.c, vrrp_sync.c, vrrp_track.c of the 2.2 series,
// and the strings of the Debian 2.2.7 binary).
package vrrp
