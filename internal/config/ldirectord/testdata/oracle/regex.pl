#!/usr/bin/perl
# Prints 1 or 0 for each "pattern<TAB>subject" line of regex.txt: whether Perl matches
# $subject =~ /$pattern/, as ldirectord matches receive= (the subject unescaped as
# oracle_test.go's unescape does).
use strict;
use warnings;
no warnings 'regexp';
while (my $line = <STDIN>) {
	chomp($line);
	next unless $line =~ /^([^\t]*)\t(.*)$/;
	my ($pattern, $subject) = ($1, $2);
	$subject =~ s/\\(x([0-9a-fA-F]{2})|.)/$2 ? chr(hex($2)) : ({n => "\n", t => "\t", r => "\r"}->{$1} \/\/ $1)/ge;
	print(($subject =~ /$pattern/) ? "1\n" : "0\n");
}
