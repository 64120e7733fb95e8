// Package lb is the virtual-service model of GoLVS: services, real servers, forwarding
// methods, the limits and defaults ipvsadm and the kernel apply, the State snapshot that engines
// receive, and Diff between two states. It is pure: no I/O, no goroutines, no clocks.
//
// Field values use the kernel's encodings (flag bits, forwarding numbers, netmask forms) so
// that every engine, the ipvsadm-compatible CLI and the config adapters translate the same
// way. Validation errors wrap the sentinel errors of this package so that callers can print
// ipvsadm's exact message for each condition.
package lb
