// Package conntrack is GoLVS's connection table: the connection entries and persistence
// templates of every virtual service, with the Linux IPVS state machines, per-state timeouts,
// active/inactive accounting and expiry, for engines that forward in user space (the proxy)
// or keep a shadow of a data plane's table.
//
// # Model
//
// An entry is keyed by protocol, client address and port, and virtual address and port, and
// is bound to a real server (a Dest, identified by the engine's DestID). It follows the
// kernel's net/netfilter/ipvs (checked against the 5.x-6.1 sources):
//
//   - ip_vs_conn_new / ip_vs_bind_dest: a new connection is counted as InActConn;
//   - ip_vs_proto_tcp.c: the TCP state table (NextTCPState), per-state timeouts, and the
//     active states ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK (tcp_state_active_table);
//   - ip_vs_proto_udp.c: one state, "UDP", always inactive; ip_vs_proto_sctp.c: state names,
//     timeouts, only ESTABLISHED active;
//   - ip_vs_core.c ip_vs_sched_persist: persistence templates (TemplateKey), which count as
//     PersistConn, live while they have connections, and are checked as ip_vs_check_template
//     does (LookupTemplate);
//   - ip_vs_conn_expire: expiry, with templates outliving their connections;
//   - ip_vs_ctl.c ip_vs_set_timeout: SetTimeouts (ipvsadm --set).
//
// Every change of how an entry counts against its real goes to the table's Accountant, so
// that the engine can keep sched.Pool's counters and OVERLOAD flag as the kernel keeps them.
//
// # Time
//
// The table reads an injected clock (Config.Now) and expires entries only when the engine
// calls Expire: there is no goroutine or timer per entry, or at all. Tests step a fake clock.
//
// # Concurrency and memory
//
// All methods are safe for concurrent use. Entries live in a fixed number of shards, each
// with its own lock, slab of fixed-size pointer-free entries (96 bytes, not scanned by the
// garbage collector), open-addressing index of 32-bit slots, and timing wheel threaded through
// the entries. An operation locks one shard at a time; work a change causes on a template in
// another shard is done after the first lock is released.
package conntrack
