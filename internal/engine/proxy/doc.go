// Package proxy is the userspace engine: a full-NAT L4 proxy for TCP and UDP that needs no
// privileges. Each virtual service listens on its VIP:port; a new connection is scheduled by
// the service's kernel-identical scheduler (with persistence templates), connected to the
// chosen real, and relayed both ways, spliced once the transfer is bulk. Masq (-m), FullNAT
// and local reals are forwarded as a full proxy (their port may differ from the service's);
// route (-g) and tunnel (-i) need a packet-level engine and are refused, as are fwmark,
// SCTP and port-0 services and persistence engines (--pe).
//
// # Data paths
//
// TCP services have two data paths (Options.DataPath), which schedule, account and count
// through the same code (conn.go) and differ only in how sockets are watched and bytes
// moved. A UDP service has one socket and one reader goroutine on either; each client
// session is a socket connected to its real with a goroutine that relays replies from the
// VIP socket.
//
// goroutine (the default where epoll is missing): a TCP service has one SO_REUSEPORT listener per GOMAXPROCS
// (IP_FREEBIND, so a VIP not yet on the host can be bound), each with an accept goroutine.
// A connection is served by two goroutines, gone when it closes: one schedules, connects
// and relays real->client, the other relays client->real. Sockets have no TCP keep-alive;
// connect timeouts are enforced by one watchdog goroutine (dialWatch), not by a timer per
// dial. A direction copies through a pooled 16 KiB buffer that it holds only while data is
// ready, and splices once a read fills it.
//
// reactor (the default on Linux): Options.Listeners event loops, each a goroutine with its own epoll set,
// its own SO_REUSEPORT listener per TCP service, and the connections accepted there for
// their whole life; no goroutine, closure or runtime timer per connection. A loop accepts in
// batches, connects to the real with a nonblocking socket on the same loop, and relays with
// edge-triggered events: one read per readiness (a short read means drained), one write at
// once, EPOLLOUT waited for only when a write is refused; bytes left over wait in a pooled
// buffer, and bulk directions splice through small pipes from a bounded per-loop pool (held
// only while bytes sit in them). Connect and FIN timeouts live in a per-loop timing wheel.
// Apply, counters, the periodic sample and Close reach a loop through its command queue and
// eventfd. When it has nothing to do, a loop parks in Go's poller on its epoll descriptor.
//
// # Connection table
//
// Every connection has an entry in a conntrack.Table whose class changes drive the pool's
// ActiveConn, InActConn, PersistConn and OVERLOAD, so that lc, wlc and thresholds decide as
// the kernel would for the same traffic. The sockets stand for the packets: an accepted
// connection is SYN_RECV (active) while its real is connected, then ESTABLISHED; a FIN from
// the client is an INPUT fin (CLOSE_WAIT), one from the real an OUTPUT fin (FIN_WAIT), and
// the second gives TIME_WAIT; a reset gives CLOSE. Entries expire on the engine's clock
// (Options.Now) every second; open connections that moved data refresh theirs every 2 s.
//
// # Counters
//
// Conns counts connection entries (each connect attempt to a real). Bytes are the payload
// the proxy moves, exact; the kernel counts IP packet lengths, headers included. TCP
// packets are the segments of the client-side socket from TCP_INFO (tcpi_segs_in = InPkts,
// tcpi_segs_out = OutPkts), read at close and, for open connections, at each 2 s sample;
// UDP packets are datagrams. Rates come from the kernel's estimator, ticked every 2 s.
//
// # Where the engine differs from kernel IPVS
//
//   - Reals see the director's address, masq ones included (the kernel's NAT keeps the
//     client's): a proxy has two connections.
//   - A connect to a real that is refused or times out removes the entry (the kernel keeps a
//     CLOSE entry for 10 s) and, with Options.Retries, tries other reals; the kernel resets.
//   - An established connection idle for longer than its state's timeout (tcp: 900 s) is
//     reset when its entry expires; the kernel forgets the flow and the client's next segment
//     is answered with a reset. A half-closed one idle for its FIN timeout is closed.
//   - A new connection whose client address and port match a lingering entry (TIME_WAIT)
//     replaces it, as the kernel's conn_reuse_mode does.
//   - Removing a UDP service ends its sessions at once: replies cannot go back without its
//     socket. TCP connections of a removed service finish, as in the kernel.
//   - One-packet (-o) UDP services schedule every datagram on its own and keep no entry, as
//     the kernel; replies to a datagram are still relayed for Options.OnePacketReplyTime
//     (default 5 s) after the client's last datagram to that real, so DNS works.
//   - UDP sessions per service are bounded (Options.MaxUDPSessions); beyond the bound,
//     datagrams from new clients are dropped and counted in the log.
//   - A service removed and added again starts with fresh reals; the kernel may revive the
//     old ones, with their counters, from its trash.
package proxy
