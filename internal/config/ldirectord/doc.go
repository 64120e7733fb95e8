// Package ldirectord reads an ldirectord.cf (the configuration of ldirectord, the Linux
// Virtual Server health checker of the heartbeat/ClusterLabs resource-agents project) into
// the canonical *config.Config, with warnings and errors at file:line.
//
// The reference is ldirectord itself, as Debian ships it (package ldirectord 1:4.12.0-2,
// /usr/sbin/ldirectord), read and run: its read_config, the _ld_read_config_*_resolve,
// add_real_server and parse_fallback routines that read the file, and ld_setup, which
// resolves the defaults. Comments in this package name the routine they follow. Its own
// reader was run as an oracle on the test inputs (testdata/oracle: ldirectord has no option
// to check a file, so harness.pl loads its subroutines and calls read_config and ld_setup);
// oracle_test.go compares Parse with those recordings.
//
// # Grammar
//
// Lines are read one by one. A "virtual=" or "virtual6=" line in the first column opens a
// virtual section; the section is the lines after it that are indented by at least four
// spaces (a tab counts as four) or are comments, and the first other line, blank lines
// included, ends it. Inside a section "#" starts a comment anywhere on a line, even inside
// quotes. Other lines are global directives, which must start in the first column and are
// not stripped of comments. Values are taken as ldirectord's patterns take them: a yes/no
// value must be exactly "yes" or "no" (no trailing space), a number is the first run of
// digits in the value (Parse warns when there is more), quoted strings run to the last
// quote. Global directives apply to every section wherever they appear in the file.
//
// # Mapping
//
//	virtual=IP:PORT | virtual6=[IP6]:PORT   Service (TCP; UDP when the port is 53 or domain)
//	virtual=N | virtual6=N                  firewall-mark Service
//	protocol, scheduler (default wrr), persistent, netmask (only with persistent),
//	schedflags, ops (UDP only)              lb.Service fields, as ld_setup passes them to ipvsadm
//	real=IP[->IP][:PORT] gate|masq|ipip [W] ["REQ", "RCV"] [l:N] [u:N]
//	                                        Real: Route, Masq or Tunnel, weight W (default 1),
//	                                        LThreshold and UThreshold, one per address of a range
//	quiescent=yes (default no, in both      Real.InhibitOnFailure
//	  section and global)
//	fallback=, fallback6=                   Service.Sorry, weight 1, never quiesced; a section's
//	                                        own, else the global one of its family
//	fallbackcommand=                        Service.QuorumDown = "CMD start VIP:PORT PROTO",
//	                                        Service.QuorumUp = "CMD stop VIP:PORT PROTO"
//	checkinterval (default 10)              Check.Interval, and RetryDelay
//	checktimeout (default 5),               Check.Timeout: connect, ping, external, ldap and
//	negotiatetimeout (default 30)           radius take checktimeout, other negotiate checks
//	                                        negotiatetimeout; each defaults to the other
//	failurecount (default 1)                Check.Retries = failurecount - 1
//	checkport                               Check.Port (else the real's port, else the
//	                                        service's well-known port)
//	autoreload, callback                    Global.AutoReload, Global.Callback
//
// Reals start down and come up with their first successful check (Service.Alpha), as
// ldirectord adds every real down at start and checks at once. The sorry server is used
// when no real is up (Service.Quorum 1).
//
// Checks by checktype (default negotiate):
//
//	connect            CheckTCP; on a UDP service CheckPing, as ldirectord pings there
//	ping               CheckPing
//	external           CheckExternal: Command = checkcommand VIP|FWMARK VPORT RIP RPORT,
//	external-perl      the arguments as ldirectord passes them (IPv6 in brackets, quoted)
//	negotiate          by service (default from the virtual port): http, https -> CheckHTTP,
//	                   CheckHTTPS with one URL (request, receive as URL.Regex), virtualhost,
//	                   httpmethod; dns -> CheckDNS (A, or PTR for an address; receive);
//	                   none -> no check (always up); the others, smtp and submission
//	                   included -> CheckNegotiate with Service, and the Request, Receive,
//	                   Login and Password that service uses (the health package runs
//	                   ldirectord's own SMTP conversation for those, looser than CheckSMTP's)
//	N (a number)       ldirectord runs N connect checks, then one negotiate check: here a
//	                   CheckTCP every checkinterval and the negotiate check every N+1
//	                   checkintervals, both of which must pass (0: negotiate only)
//	on                 no check: the reals are always up
//	off                no check, and ldirectord never activates the reals, only the
//	                   fallback: the reals are left out, or kept at weight 0 with quiescent=yes
//
// receive= is a Perl regular expression; it is translated to Go's syntax (see goRegexp) and
// refused, naming the construct, when Go cannot express it.
//
// Accepted with a warning because lvsd does not act on them: logfile, emailalert*, smtp,
// execute, fork (except that a section's checkinterval counts only with fork=yes, as in
// ldirectord), supervised, readdquiescent, cleanstop, maintenancedir, monitorfile,
// servicename, comment, load, database, secret, checkcount. Refused as ldirectord refuses
// them: connecttimeout, timeout, and every unknown directive.
//
// # Differences from ldirectord
//
// Parse reports every error it finds, where ldirectord stops at the first. Beyond that:
//
//   - a duplicate virtual service is reported at its virtual= line (ldirectord names the
//     line after the section);
//   - a zero timeout, interval or count written as "00" is refused, as "0" is;
//   - values ldirectord accepts but ipvsadm or the kernel then refuse (persistent=0, a
//     firewall mark of 0, an unknown scheduler flag, a lower threshold above the upper one,
//     a weight above INT_MAX) are errors here, with ipvsadm's words;
//   - a DNS check without request and receive, an SQL check without login and request, and
//     an HTTP check with httpmethod=HEAD and a receive that needs a body never pass in
//     ldirectord; Parse refuses them;
//   - fallbackcommand runs through /bin/sh -c only when it has shell metacharacters, as
//     Perl's system does; checkcommand is quoted as one word, as ldirectord execs it;
//   - a range of real servers whose first and last address have a different number of
//     decimal digits as integers adds no real in ldirectord (it compares them as strings);
//     Parse adds them all, with a warning;
//   - host names resolve only through Options.LookupHost; service names through
//     Options.LookupPort or a built-in table.
//
// ldirectord's man page and its code disagree in places; Parse follows the code: quiescent
// defaults to no (the man page says yes); checktype=off still installs the fallback server
// (the man page says no fallback is activated); callback runs when the file changes on disk,
// not on real-server changes; a real's own "request", "receive" pair is honoured only when
// the request does not start with "/" (Perl resets the captured receive string when it
// tests for the slash), which Parse reproduces with a warning.
package ldirectord
