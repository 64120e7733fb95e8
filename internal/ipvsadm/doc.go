// Package ipvsadm is the ipvsadm 1.31 command-line grammar and output formats, as a pure
// library: Parse turns an argument vector into a Command (or into the exact message and exit
// status ipvsadm gives for it), Printer writes what ipvsadm prints for a listing, a save, the
// help and the version, KernelError (with StrError, libipvs's ipvs_strerror) words a refusal
// from the table the way ipvsadm does, InitError its failure to open IPVS, and ParseRestore
// reads -R input. It opens no sockets and runs no daemon: cmd/lvsadm fetches the
// table, applies the Command and prints with this package.
//
// Compatibility target: ipvsadm 1.31 as Debian 12 ships it (1:1.31-1+b1, built with popt 1.19
// and Debian's patch that lets -w go up to INT_MAX), as recorded from the real binary against
// the real kernel in testdata/kernel/ipvsadm. Where this package follows ipvsadm's source
// rather than a recording, the comment names the function of ipvsadm.c (or popt.c) it
// follows; the code is written anew.
package ipvsadm
