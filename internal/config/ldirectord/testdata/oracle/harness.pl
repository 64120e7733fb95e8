#!/usr/bin/perl
# Runs ldirectord's own configuration reader on one file and prints what it read.
#
# ldirectord has no "check the configuration" option (its options are -d, -h and -v; with a
# file it starts managing IPVS). This loads the subroutines of /usr/sbin/ldirectord (every
# line before "# command line options" and from "# functions" on, so not its main program),
# replaces its logging and exit with printing, and calls read_config() and ld_setup() -- the
# two steps that read the file and resolve defaults, neither of which touches IPVS -- then
# prints each virtual service with its reals as ldirectord keeps them, or the first error.
# Then it runs ld_start, which builds the initial table, against a fake ipvsadm that keeps
# the table in memory, with the checks left out: TABLE lines are what ldirectord installs
# before its first check (fallback servers, and quiescent reals at weight 0).
#
# Usage: harness.pl FILE   (LDIRECTORD=/path/to/ldirectord to use another copy)
use strict;
use warnings;
no warnings 'redefine';

my $src_path = $ENV{LDIRECTORD} || "/usr/sbin/ldirectord";
open(my $fh, "<", $src_path) or die "open $src_path: $!";
my @lines = <$fh>;
close($fh);
my ($main, $funcs);
for my $i (0..$#lines) {
	$main = $i if !defined($main) && $lines[$i] =~ /^# command line options/;
	$funcs = $i if !defined($funcs) && $lines[$i] =~ /^# functions/;
}
die "cannot find ldirectord's main program" unless defined($main) && defined($funcs);
my $code = join("", @lines[0..$main-1], @lines[$funcs..$#lines]);
$code =~ s/^#!.*\n//;
{
	no strict;
	local $SIG{__WARN__} = sub {};
	eval $code;
	die "load: $@" if $@;
}

package main;
our ($CONFIG, $DAEMON_STATUS, $DAEMON_STATUS_STARTING, $HOSTNAME, @VIRTUAL,
	$CHECKINTERVAL, $FAILURECOUNT, $QUIESCENT, $AUTOCHECK, $CALLBACK, $FALLBACKCOMMAND,
	$FORKING);
{
	no warnings 'once';
	*main::ld_log = sub { };
	*main::ld_openlog = sub { return 0; };
	*main::ld_exit = sub { print "EXIT $_[0]\n"; exit 0; };
	*main::__config_log = sub {
		my ($line, $prefix, $msg) = @_;
		chomp($msg);
		$msg =~ s/\n/\\n/g;
		print "$prefix line $line: $msg\n";
	};
}
$SIG{__WARN__} = sub {};
$HOSTNAME = "director";
$CONFIG = $ARGV[0];
$DAEMON_STATUS = $DAEMON_STATUS_STARTING;
read_config();
ld_setup();

# show quotes a value: backslash and double quote escaped, control characters as \n, \t,
# \r or \xHH; undef for none.
sub show {
	my $v = shift;
	return "undef" unless defined($v);
	$v =~ s/([\\"])/\\$1/g;
	$v =~ s/\n/\\n/g;
	$v =~ s/\t/\\t/g;
	$v =~ s/\r/\\r/g;
	$v =~ s/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord($1))/ge;
	return "\"$v\"";
}
print "OK\n";
print "global checkinterval=$CHECKINTERVAL fork=$FORKING quiescent=$QUIESCENT autoreload=$AUTOCHECK callback=" .
	show($CALLBACK) . " fallbackcommand=" . show($FALLBACKCOMMAND) . "\n";
for my $v (@VIRTUAL) {
	my $interval = $CHECKINTERVAL;
	$interval = $v->{checkinterval} if $FORKING eq "yes" && $v->{checkinterval};
	my $quiescent = defined($v->{quiescent}) ? $v->{quiescent} : $QUIESCENT;
	print "virtual id=" . show(get_virtual_id_str($v)) . " interval=\"$interval\" quiescent=\"$quiescent\" " .
		join(" ", map { "$_=" . show($v->{$_}) } qw(server port fwm scheduler persistent netmask
		schedflags ops checktype num_connects service checkport request receive httpmethod
		virtualhost login passwd checkcommand checktimeout negotiatetimeout failurecount
		fallbackcommand)) . "\n";
	my $fb = fallback_find($v);
	print "  fallback " . (defined($fb) ? join(" ", map { "$_=" . show($fb->{$_}) } qw(server port forward)) : "none") . "\n";
	my $n = scalar(@{$v->{real}});
	if ($n > 100) {
		print "  reals $n\n"; # too many to list
		next;
	}
	for my $r (@{$v->{real}}) {
		print "  real checkport=" . show(ld_checkport($v, $r)) . " " .
			join(" ", map { "$_=" . show($r->{$_}) } qw(server port forward weight l-threshold
			u-threshold request receive url)) . "\n";
	}
}

# The fake ipvsadm: a table of "VIP:PORT proto" (or "MARK fwm", "MARK fwm6") -> real -> weight.
our %TABLE;
my %proto = ("-t" => "tcp", "-u" => "udp", "-f" => "fwm");
my %fwd = ("-g" => "gate", "-m" => "masq", "-i" => "ipip");
{
	no warnings 'once';
	*main::ld_read_ipvsadm = sub {
		my %o;
		for my $s (keys %TABLE) {
			$o{$s} = { scheduler => "wrr", real => { map { $_ => { %{$TABLE{$s}{$_}} } } keys %{$TABLE{$s}} } };
		}
		return \%o;
	};
	*main::system_wrapper = sub {
		my @a = split(" ", join(" ", @_));
		my ($op, $svc, $real, $f, $w, $v6) = ("", "", "", "", 0, 0);
		for (my $i = 0; $i < @a; $i++) {
			if ($a[$i] =~ /^-[AEaed]$/) { $op = $a[$i]; }
			elsif (exists $proto{$a[$i]}) { $svc = $a[$i+1] . " " . $proto{$a[$i]}; $i++; }
			elsif ($a[$i] eq "-6") { $v6 = 1; }
			elsif ($a[$i] eq "-r") { $real = $a[$i+1]; $i++; }
			elsif (exists $fwd{$a[$i]}) { $f = $fwd{$a[$i]}; }
			elsif ($a[$i] eq "-w") { $w = $a[$i+1]; $i++; }
		}
		$svc .= "6" if $v6;
		if ($op eq "-A") { $TABLE{$svc} = {}; }
		elsif ($op eq "-a" or $op eq "-e") {
			$TABLE{$svc}{$real} = { forward => $f, weight => $w, "u-threshold" => 0, "l-threshold" => 0 };
		} elsif ($op eq "-d") { delete $TABLE{$svc}{$real}; }
		return 0;
	};
	*main::_ld_main_check_all = sub { };
	*main::ld_emailalert_send = sub { };
}
# ld_start reads the whole table for every real: skip it for huge ranges.
my $nreal = 0;
$nreal += scalar(@{$_->{real}}) for @VIRTUAL;
exit 0 if $nreal > 1000;
ld_start();
for my $s (sort keys %TABLE) {
	print "TABLE $s: " . join(", ", map { "$_ w=$TABLE{$s}{$_}{weight}" } sort keys %{$TABLE{$s}}) . "\n";
}
