// Package sched holds the fourteen IPVS schedulers (rr wrr lc wlc sed nq dh sh lblc lblcr fo
// ovf mh twos), decision-identical to the Linux kernel's, and the Pool that keeps one virtual
// service's real servers in the kernel's list order with their live connection counters.
//
// A Pool is what an engine holds per virtual service. It calls the Scheduler with the Pool
// locked, so schedulers need no locking of their own; they see the real servers newest first,
// as the kernel's svc->destinations list has them, and get the kernel's add_dest, del_dest and
// upd_dest notifications plus one more, OpCounters, whenever a real's counters or OVERLOAD flag
// change (schedulers that index reals by load use it; the kernel's scan them instead).
package sched
