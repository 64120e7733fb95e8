// Package ipvs is the kernel IPVS engine ("ipvs"): it makes the Linux kernel's IP Virtual
// Server table match the desired lb.State through the IPVS generic netlink family
// (package ipvsnl), and reads counters, connection entries and sync daemons back from it.
// The kernel forwards; the engine only edits its table, as ipvsadm and keepalived do.
//
// # Applying a state
//
// Apply reads the kernel's table (one dump of services, one dump of destinations per
// service of the state that exists) and the timeouts, and sends only the difference:
// new-service with its destinations for a service the kernel lacks, set-service when the
// scheduler, flags, persistence timeout, netmask or persistence engine differ, and per real
// server new-dest, set-dest or del-dest. A service whose settings and reals match is not
// touched, so its connections, counters and scheduler state stay; nothing is ever flushed
// and refilled. Protocol timeouts are set when a non-zero timeout of the state differs from
// the kernel's (zero leaves the kernel's value, as ipvsadm --set 0 does).
//
// Before sending anything, Apply checks the whole state: the model's own rules
// (lb.ValidateService, lb.ValidateReal, duplicates), FullNAT reals (refused with
// engine.ErrNotSupported: the kernel has no such method; the xdp and proxy engines do), and
// schedulers and persistence engines whose module the kernel does not have (refused with
// engine.ErrNotSupported and lb.ErrNoScheduler; ip_vs_twos is missing from Debian 12's
// kernel). Everything else the model expresses, the kernel does: TCP, UDP, SCTP and
// fwmark services, IPv4 and IPv6, every scheduler with its flags (-b), persistence with
// netmask, one-packet scheduling, persistence engines, and masq, local, route and tunnel
// (ipip, gue, gre, with checksum flags) reals, IPv4 tunnel reals of IPv6 services included.
//
// # Whose services
//
// Like keepalived, the engine manages the services of the states it is given and leaves
// the others alone: a service in the kernel that no applied state named (added with
// ipvsadm, or by a previous lvsd) stays as it is, and is not reported by Counters. A
// service of the state that already exists in the kernel is taken over: its settings and
// reals are made to match the state (reals the state does not list are removed). A service
// that a previous Apply installed and the new state drops is removed. With
// Options.OwnTable the engine owns the whole table instead: the first Apply also removes
// the services it found in the kernel at New that the state does not name.
//
// Close removes the engine's services and stops the sync daemons it started, as keepalived
// does at shutdown, unless Options.KeepOnClose keeps them (so that forwarding goes on
// while lvsd restarts). Established connections then live on in the kernel until they
// expire either way.
//
// # Reading
//
// Counters dumps the kernel's counters (64-bit) and connection counts, reals in the
// kernel's order (newest first). Conns parses /proc/net/ip_vs_conn of the engine's network
// namespace, which is what ipvsadm -L -c prints; entries whose client port is 0 are
// persistence templates (the kernel creates templates with client port 0, ip_vs_sched_persist).
// The engine implements engine.Syncer with the kernel's sync daemons.
package ipvs
