// Package kernelctl runs ipvsadm commands on the kernel's IPVS table directly, as ipvsadm
// itself does, with no lvsd involved: it is what lvsadm --kernel acts on.
//
// Each table change is the generic netlink command libipvs sends for it (-A new-service,
// -E set-service, -D del-service, -C flush, -a new-dest, -e set-dest, -d del-dest, --set
// set-config, -Z zero, --start-daemon new-daemon, --stop-daemon del-daemon), sent at once:
// there is no desired state and no difference computed, so the kernel sees exactly what
// ipvsadm would have sent and answers with the same errno, which ipvsadm.KernelError words
// as ipvsadm does. Listings read the live table, every service whoever added it (ipvsadm,
// keepalived, lvsd), in the kernel's order, with its counters, the timeouts, the sync
// daemons and, when asked, the connection entries of /proc/net/ip_vs_conn.
package kernelctl
