#!/bin/sh
# record-keepalived.sh: runs the real keepalived's config test (keepalived -t) on every
# testdata/*.conf and testdata/cases/*.conf and records its exit status and messages in
# testdata/keepalived-t.txt, which keepalived_test.go compares with Parse. Run as root on
# Debian 12 with keepalived 2.2.7 installed (apt-get install keepalived):
#
#   sh testdata/record-keepalived.sh
#
# keepalived checks interfaces and scripts against the machine it runs on, so each test runs
# in a fresh network namespace with veth interfaces eth0, eth1 and eth2, and the scripts the
# configs name are not needed (keepalived only warns about their security).
set -eu
cd "$(dirname "$0")"
out=keepalived-t.txt
keepalived --version 2>&1 | head -1 | sed 's/^/# /' > "$out"
runone() {
	unshare -n sh -c '
		ip link set lo up
		for i in eth0 eth1 eth2; do
			ip link add $i type veth peer name p$i && ip link set $i up && ip link set p$i up
		done
		keepalived -t -f "$1" 2>&1; echo "exit $?"' sh "$1"
}
for f in *.conf cases/*.conf; do
	[ -f "$f" ] || continue
	echo "== $f" >> "$out"
	runone "$PWD/$f" | sed "s#$PWD/##" >> "$out"
done
