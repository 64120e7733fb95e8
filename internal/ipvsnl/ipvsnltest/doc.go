// Package ipvsnltest is a fake kernel for tests of IPVS clients: an in-memory virtual
// service table that answers the IPVS generic netlink family through genetlink's genltest,
// with the checks and errnos of net/netfilter/ipvs/ip_vs_ctl.c (ip_vs_genl_set_cmd,
// ip_vs_add_service, ip_vs_add_dest, ...). It records every request, so that tests can
// check which commands a client sent.
package ipvsnltest
