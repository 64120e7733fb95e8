package ldirectord

// parseCase is one row of the parser's table: an ldirectord.cf, what dump shows for it,
// and its errors and warnings as "LINE: text" (text a substring of the message at LINE).
// Every row is also run through ldirectord itself (testdata/oracle, see oracle_test.go).
type parseCase struct {
	name string
	in   string
	has  []string // substrings of dump's output
	not  []string // not in dump's output
	errs []string // all the errors, in order; none: Parse succeeds
	// warns are some of the warnings.
	warns []string
	// ldirectord says how ldirectord reads in differently; "" when Parse agrees with it.
	ldirectord string
	// unrecorded says why the row is not run through ldirectord.
	unrecorded string
}

const hdr = "virtual=192.0.2.1:80\n"

var parseCases = []parseCase{
	// The file's structure.
	{name: "empty", in: "", has: []string{"global callback=\"\" autoreload=false\n"}},
	{name: "comments and blanks", in: "# a comment\n\n   \n  # indented comment\n"},
	{name: "minimal http", in: hdr + "\treal=10.0.0.1:80 gate\n",
		has: []string{"service -t 192.0.2.1:80 line=1 sched=wrr netmask=0xffffffff quorum=1 hysteresis=0 alpha=true",
			"real 10.0.0.1:80 Route weight=1 line=2 inhibit=false",
			`check http port=80 interval=10s timeout=30s retries=0 retry_delay=10s url="/" method="GET"`}},
	{name: "four spaces indent", in: hdr + "    real=10.0.0.1:80 gate\n", has: []string{"real 10.0.0.1:80"}},
	{name: "three spaces end the section", in: hdr + "   real=10.0.0.1:80 gate\n",
		errs: []string{`2: Unknown command "   real=10.0.0.1:80 gate"`}},
	{name: "blank line ends the section", in: hdr + "\treal=10.0.0.1:80 gate\n\n\tscheduler=rr\n",
		errs: []string{`4: Unknown command "\tscheduler=rr"`}},
	{name: "unindented comment inside a section", in: hdr + "# note\n\treal=10.0.0.1:80 gate\n",
		has: []string{"real 10.0.0.1:80 Route weight=1 line=3"}},
	{name: "comment after a value", in: hdr + "\treal=10.0.0.1:80 gate 3 # three\n", has: []string{"weight=3"}},
	{name: "comment leaves a trailing space", in: hdr + "\tquiescent=yes # yes\n",
		errs: []string{"2: quiescent must be 'yes' or 'no'"}},
	{name: "hash inside quotes is a comment", in: hdr + "\treal=10.0.0.1:80 gate\n\treceive=\"a#b\"\n",
		errs: []string{`3: Unknown command "\treceive=\"a#b\""`}},
	{name: "global lines keep comments", in: "checktimeout=7 # seconds\n" + hdr + "\treal=10.0.0.1:80 gate\n\tchecktype=connect\n",
		has: []string{"check tcp port=80 interval=10s timeout=7s"}, warns: []string{`1: checktimeout: ldirectord reads "7 # seconds" as 7`}},
	{name: "indented global", in: "  checktimeout=7\n", errs: []string{`1: Unknown command "  checktimeout=7"`}},
	{name: "unknown global", in: "bogus=1\n", errs: []string{`1: Unknown command "bogus=1"`}},
	{name: "unknown in section", in: hdr + "\tbogus=1\n", errs: []string{`2: Unknown command "\tbogus=1"`}},
	{name: "crlf", in: "quiescent=yes\r\n", errs: []string{"1: quiescent must be 'yes' or 'no'"}},
	{name: "globals apply from anywhere", in: hdr + "\treal=10.0.0.1:80 gate\nquiescent=yes\ncheckinterval=3\n",
		has: []string{"inhibit=true", "interval=3s"}},
	{name: "two errors", in: "checktimeout=x\nfork=maybe\n",
		errs: []string{"1: invalid check timeout value", "2: fork must be 'yes' or 'no'"}, // ldirectord reports only the first
	},

	// virtual= and virtual6=.
	{name: "virtual with spaces", in: "virtual = 192.0.2.1:80\n\treal=10.0.0.1:80 gate\n", has: []string{"service -t 192.0.2.1:80"}},
	{name: "virtual port name", in: "virtual=192.0.2.1:http\n\treal=10.0.0.1:www gate\n",
		has: []string{"service -t 192.0.2.1:80", "real 10.0.0.1:80", "check http"}},
	{name: "virtual port 53 is udp", in: "virtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n\tchecktype=connect\n",
		has: []string{"service -u 192.0.2.1:53", "check ping"}},
	{name: "virtual domain is udp", in: "virtual=192.0.2.1:domain\n\treal=10.0.0.1:53 gate\n\tchecktype=on\n", has: []string{"service -u 192.0.2.1:53"}},
	{name: "virtual protocol udp", in: hdr + "\treal=10.0.0.1:80 gate\n\tprotocol=udp\n\tchecktype=on\n", has: []string{"service -u 192.0.2.1:80"}},
	{name: "virtual unknown port name", in: "virtual=192.0.2.1:nosuch\n\treal=10.0.0.1:80 gate\n",
		errs: []string{"1: invalid address for virtual service"}},
	{name: "virtual bad address", in: "virtual=#x\n", errs: []string{"1: invalid address for virtual server"}},
	{name: "virtual octal address", in: "virtual=010.0.0.1:80\n\treal=10.0.0.1:80 gate\n",
		has: []string{"service -t 8.0.0.1:80"}, warns: []string{"1: virtual: ldirectord reads 010.0.0.1 as 8.0.0.1"}},
	{name: "virtual without port is a fwmark", in: "virtual=192.0.2.1\n\treal=10.0.0.1 gate\n",
		has: []string{"service -f 192 line=1"}, warns: []string{"1: virtual=192.0.2.1 is read as firewall mark 192"}},
	{name: "virtual host name", in: "virtual=www.example.com:80\n\treal=10.0.0.1:80 gate\n",
		errs: []string{"1: invalid address for virtual service"}}, // recorded offline: ldirectord cannot resolve it either
	{name: "virtual ipv6 needs virtual6", in: "virtual=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n",
		errs: []string{`1: cannot specify an IPv6 address here. please use "virtual6" instead.`, `2: cannot specify "real6" here.  please use "real" instead`}, // ldirectord reports only the first
	},
	{name: "virtual6", in: "virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 masq\n",
		has: []string{"service -t [2001:db8::1]:80", "netmask=128", "real [2001:db8::2]:80 Masq"}},
	{name: "virtual6 bad address", in: "virtual6=[2001:db8::1::2]:80\n", errs: []string{"1: invalid ipv6 address for virtual server"}},
	{name: "virtual6 with ipv4", in: "virtual6=192.0.2.1:80\n\treal6=[2001:db8::2]:80 gate\n", errs: []string{"1: invalid address for virtual service"}},
	{name: "real in virtual6", in: "virtual6=[2001:db8::1]:80\n\treal=[2001:db8::2]:80 gate\n",
		errs: []string{`2: cannot specify "real" here.  please use "real6" instead`}},
	{name: "fwmark", in: "virtual=5\n\treal=10.0.0.1 gate\n\treal=10.0.0.2:8080 gate\n",
		has: []string{"service -f 5 line=1", "real 10.0.0.1:0 Route weight=1 line=2 inhibit=false\n", "real 10.0.0.2:8080 Route"}},
	{name: "fwmark connect without port", in: "virtual=5\n\treal=10.0.0.1 gate\n\treal=10.0.0.2:8080 gate\n\tchecktype=connect\n",
		has:   []string{"check tcp interval=10s", "check tcp port=8080"},
		warns: []string{"2: real server 10.0.0.1 has no port and service none has none"}},
	{name: "fwmark 0", in: "virtual=0\n\treal=10.0.0.1 gate\n", errs: []string{"1: firewall mark 0 out of range"},
		ldirectord: "accepts it; ipvsadm then refuses -f 0"},
	{name: "fwmark6", in: "virtual6=7\n\treal6=[2001:db8::2] gate\n\tchecktype=on\n", has: []string{"service -f 7 -6"}},
	{name: "fwmark protocol", in: "virtual=5\n\treal=10.0.0.1 gate\n\tprotocol=fwm\n\tchecktype=on\n", has: []string{"service -f 5"}},
	{name: "fwmark protocol tcp", in: "virtual=5\n\tprotocol=tcp\n",
		errs: []string{"2: protocol must be fwm if the virtual service is a fwmark (a number)"}},
	{name: "protocol fwm on address", in: hdr + "\tprotocol=fwm\n",
		errs: []string{"2: protocol must be tcp or udp if the virtual service is an address and port"}},
	{name: "protocol empty", in: hdr + "\tprotocol=\n", errs: []string{"2: invalid protocol"}},
	{name: "duplicate virtual", in: hdr + "\treal=10.0.0.1:80 gate\n" + hdr + "\treal=10.0.0.2:80 gate\n",
		errs: []string{"3: duplicate virtual server (first defined at line 1)"}, ldirectord: "names line 4, after the section"},
	{name: "same address tcp and udp", in: hdr + "\treal=10.0.0.1:80 gate\n" + hdr + "\treal=10.0.0.2:80 gate\n\tprotocol=udp\n\tchecktype=on\n",
		has: []string{"service -t 192.0.2.1:80", "service -u 192.0.2.1:80"}},
	{name: "port 0", in: "virtual=192.0.2.1:0\n\treal=10.0.0.1 gate\n",
		errs: []string{"1: virtual service: Zero port specified for non-persistent service"}, ldirectord: "accepts it; ipvsadm refuses it"},
	{name: "port 0 persistent", in: "virtual=192.0.2.1:0\n\treal=10.0.0.1 gate\n\tpersistent=60\n\tchecktype=on\n",
		has: []string{"service -t 192.0.2.1:0 line=1 sched=wrr persistent=60"}},
}
