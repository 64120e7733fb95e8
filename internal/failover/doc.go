// Package failover runs the VRRP part of a keepalived.conf on the host: it glues the
// operating-system side (vrrpnet sockets, vip addresses, announcements and link watch,
// notify and track scripts run as processes) to the state machine of internal/vrrp.
//
// A Manager splits the configuration into units: each vrrp_sync_group with its members,
// and each instance outside any group. Every unit runs its own vrrp.Router, so that a
// reload (Manager.Update) keeps a unit whose configuration did not change running as it
// is, and restarts only a unit that changed (see Update for what that costs). Each
// vrrp_script a unit tracks runs once, shared by every unit that tracks it.
//
// What runs, and where keepalived 2.2.7 was checked:
//
//   - one vrrpnet.Conn per instance (Transport); a goroutine per Conn turns Recv into the
//     Packets channel;
//   - AddVIPs and RemoveVIPs put virtual_ipaddress and virtual_ipaddress_excluded on and
//     off their devices (vip.Manager), Announce sends gratuitous ARP / unsolicited NA
//     rounds (vip.Announcer);
//   - notify scripts as keepalived's send_instance_notifies and send_group_notifies
//     (keepalived/vrrp/vrrp_notify.c) run them: the state's own script (notify_master,
//     notify_backup, notify_fault, notify_stop) first, then the generic notify with four
//     more arguments "INSTANCE"|"GROUP" NAME STATE PRIORITY (0 for a group), each split
//     by keepalived's command splitter and run directly (no shell) in its own process
//     group. keepalived (lib/notify.c notify_exec) starts them and does not wait; lvsd
//     runs the commands of one instance or group one after the other so that a
//     notify_backup cannot overtake the notify_master before it, and waits at most
//     NotifyWait for each before it starts the next anyway. STOP scripts are killed
//     after one second, as keepalived kills them (TIMER_HZ in notify_script_exec);
//     others are never killed;
//   - vrrp_script commands (ScriptExecutor.Exec): split the same way, run in their own process
//     group, success is exit status 0; at the timeout the group gets SIGTERM, then
//     SIGKILL two seconds later (vrrp_script_child_thread in vrrp_scheduler.c);
//   - link state (vip.Watch) of each instance's interface, its track_interface list and
//     the devices of its addresses goes to Router.SetLink.
package failover
