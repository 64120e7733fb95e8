#!/bin/sh
# Records what ldirectord itself makes of the test inputs, for oracle_test.go.
#
# Needs Debian's ldirectord package (apt-get install ldirectord; 1:4.12.0-2 was used). Run
# from anywhere; it rewrites testdata/oracle/*.out. The tests only read the recordings.
#
#   cases.txt     -> cases.out      the parser table's rows, "-- name --" before each
#   generated.txt -> generated.out  random files (gen_test.go)
#   ../*.cf       -> NAME.out       the golden inputs
#   regex.txt     -> regex.out      Perl's matches of receive= patterns (regex.pl)
#
# cases.txt and generated.txt are written by: go test -run TestParseTable -export
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" # monitorfile= creates files in the working directory

run() { perl "$here/harness.pl" "$1" 2>/dev/null || echo "HARNESS FAILED"; }

for cf in "$here"/../*.cf; do
	name=$(basename "$cf" .cf)
	run "$cf" >"$here/$name.out"
done

for txt in "$here"/cases.txt "$here"/generated.txt; do
	out="${txt%.txt}.out"
	rm -rf "$tmp/c" && mkdir "$tmp/c"
	: >"$out"
	awk -v dir="$tmp/c" '
		/^-- .* --$/ { name = substr($0, 4, length($0) - 6); file = dir "/" name ".cf"; printf "" > file; print name > (dir "/names"); next }
		{ print >> file }
	' "$txt"
	while read -r name; do
		printf -- '-- %s --\n' "$name" >>"$out"
		run "$tmp/c/$name.cf" >>"$out"
	done <"$tmp/c/names"
	echo "recorded $(grep -c '^-- ' "$out") cases of $(basename "$txt")"
done
echo "recorded $(ls "$here"/../*.cf | wc -l) files"

perl "$here/regex.pl" <"$here/regex.txt" >"$here/regex.out"
echo "recorded $(wc -l <"$here/regex.out") regex matches"
