#!/bin/busybox sh
# sched-extra.sh: more real-kernel scheduler decisions than ../shared/tools/ipvs-vm's
# schedulers.sh records: hundreds of client addresses (IPv4 and IPv6) for sh and mh, hundreds
# of destinations for dh, weights changed and reals added or removed mid-sequence, and the
# seeds' and kernel documentation's wrr weights. Runs inside run-in-vm (see scripts/record-kernel);
# writes $OUT/sched-extra-NAME.txt in the line format of testdata/kernel/sched-*.txt, with
# "before -" where counters are not recorded (these schedulers do not read them).
# Args: the schedulers to record (default: rr wrr sh mh dh).
set -u
. "$IPVS_VM_LIB/topo.sh"
OUT=${OUT:-/out}
mkdir -p "$OUT"
PB=20000 # next source port: every connection of the run gets its own

cmd() { echo "cmd $*" >> "$F"; "$@" || echo "cmd-failed $? $*" >> "$F"; }
scenario() { _n=$1; shift; printf '\nscenario %s: %s\n' "$_n" "$*" >> "$F"; }
# probe SRCSPEC DSTSPEC [ROUNDS]: connections from the client namespace, one line each
probe() {
  _out=$(in_ns client vmprobe -src "$1" -dst "$2" -rounds "${3:-1}" -portbase $PB) || echo "probe-failed" >> "$F"
  echo "$_out" >> "$F"
  PB=$((PB + $(echo "$_out" | grep -c '^conn')))
}
# svc KEYOPTS VIPFAMILY SCHED [FLAGS...]: a NAT service with rs1..rs3 weights 1 2 3
svc() {
  _k=$1; _fam=$2; shift 2
  cmd ipvsadm -A $_k -s "$@"
  for _i in 1 2 3; do
    if [ "$_fam" = 6 ]; then _r="[fd01::1$_i]:80"; else _r="10.1.0.1$_i:80"; fi
    cmd ipvsadm -a $_k -r $_r -m -w $_i
  done
}
header() {
  cat > "$F" <<EOF
# IPVS scheduler "$1": more real-kernel decisions, recorded by scripts/kernel/sched-extra.sh
# kernel: Linux $(uname -r) (Debian's, under qemu TCG); $(ipvsadm --version 2>&1 | head -n 1)
#
# Same topology and line format as sched-$1.txt (../shared/tools/ipvs-vm/lib/topo.sh, NAT
# services, rsN = 10.1.0.1N or fd01::1N port 80), but every connection is made by
# scripts/kernel/vmprobe from the client namespace and the real is read from
# /proc/net/ip_vs_conn, so a connection that fails still shows the kernel's choice.
# "before -": counters not recorded; the scheduler does not read them.
# Sources 10.200.0.0/16 and fd00:200::/64 are routed to the client namespace, which answers
# for all of them (local routes); each connection has its own source port.
EOF
}

topo_up 4
ip link set vip0 up
# routed client ranges and IPv6 on both LANs
sysctl -qw net.ipv6.conf.all.forwarding=1
ip route add 10.200.0.0/16 via 10.0.0.2
ip -n client route add local 10.200.0.0/16 dev lo
ip -6 addr add fd00::1/64 dev brc nodad
ip -6 addr add fd01::1/64 dev br0 nodad
ip -n client -6 addr add fd00::2/64 dev eth0 nodad
ip -n client -6 route add default via fd00::1
ip -n client -6 route add local fd00:200::/64 dev lo
in_ns client sysctl -qw net.ipv6.ip_nonlocal_bind=1 # IPv6 bind needs it even with a local route
ip -6 route add fd00:200::/64 via fd00::2
for i in 1 2 3 4; do
  ip -n rs$i -6 addr add fd01::1$i/64 dev eth0 nodad
  ip -n rs$i -6 route add default via fd01::1
done
# fwmark destinations: 10.9.200.0/24 and fd09:200::/120 are local and marked 76 / 77
ip route add local 10.9.200.0/24 dev lo
ip -6 route add local fd09:200::/120 dev lo
nft add table inet ipvsx
nft add chain inet ipvsx pre '{ type filter hook prerouting priority -150; }'
nft add rule inet ipvsx pre ip daddr 10.9.200.0/24 meta mark set 76
nft add rule inet ipvsx pre ip6 daddr fd09:200::/120 meta mark set 77
V=1
# vip / vip6: a new VIP on the director, in $v
vip() { V=$((V + 1)); v=10.9.50.$V; ip addr add $v/32 dev vip0; }
vip6() { V=$((V + 1)); v=fd09::$V; ip -6 addr add $v/128 dev vip0 nodad; }

hash_sched() { # sh or mh
  S=$1; F=$OUT/sched-extra-$S.txt; header $S
  scenario many-v4 "400 sources (10.200.0.1+200, 10.200.7.9+100, 10.200.130.250+100), weights 1 2 3"
  vip; svc "-t $v:80" 4 $S
  probe 10.200.0.1+200,10.200.7.9+100,10.200.130.250+100 $v
  scenario weights "100 sources; rs2 weight 5; 100 more; rs4 (w2) added; 100 more; rs1 weight 0 (no fallback); 60 more"
  vip; svc "-t $v:80" 4 $S
  probe 10.200.1.1+100 $v
  cmd ipvsadm -e -t $v:80 -r 10.1.0.12:80 -m -w 5
  probe 10.200.2.1+100 $v
  cmd ipvsadm -a -t $v:80 -r 10.1.0.14:80 -m -w 2
  probe 10.200.3.1+100 $v
  cmd ipvsadm -e -t $v:80 -r 10.1.0.11:80 -m -w 0
  probe 10.200.4.1+60 $v
  scenario port "-b $S-port: 20 sources, 5 connections each (source ports differ)"
  vip; svc "-t $v:80" 4 $S -b $S-port
  probe 10.200.5.1+20 $v 5
  scenario fallback "-b $S-fallback: rs2 weight 0, then rs3 deleted; 100 sources each"
  vip; svc "-t $v:80" 4 $S -b $S-fallback
  cmd ipvsadm -e -t $v:80 -r 10.1.0.12:80 -m -w 0
  probe 10.200.6.1+100 $v
  cmd ipvsadm -d -t $v:80 -r 10.1.0.13:80
  probe 10.200.6.1+100 $v
  scenario many-v6 "IPv6: 300 sources fd00:200::1+150, fd00:200::ab:1+150; weights 1 2 3"
  vip6; svc "-t [$v]:80" 6 $S
  probe fd00:200::1+150,fd00:200::ab:1+150 "$v"
  echo "# end" >> "$F"
}

dh_sched() {
  S=dh; F=$OUT/sched-extra-dh.txt; header dh
  scenario fwmark-254 "fwmark 76 over 10.9.200.1+254 from 10.0.0.2; weights 1 2 3; then rs4 (w1) added and rs2 weight 0"
  svc "-f 76" 4 dh
  probe 10.0.0.2 10.9.200.1+254
  cmd ipvsadm -a -f 76 -r 10.1.0.14:80 -m -w 1
  cmd ipvsadm -e -f 76 -r 10.1.0.12:80 -m -w 0
  probe 10.0.0.2 10.9.200.1+254
  scenario fwmark-v6 "fwmark 77 (IPv6) over fd09:200::1+200 from fd00::2; weights 1 2 3"
  svc "-f 77 -6" 6 dh
  probe fd00::2 fd09:200::1+200
  echo "# end" >> "$F"
}

list_sched() { # rr or wrr
  S=$1; F=$OUT/sched-extra-$S.txt; header $S
  for ws in "1 3" "4 3 2" "2 4 6" "1 1 1"; do
    scenario "weights-$(echo $ws | tr ' ' '-')" "one source, weights $ws"
    vip
    cmd ipvsadm -A -t $v:80 -s $S
    i=1; for w in $ws; do cmd ipvsadm -a -t $v:80 -r 10.1.0.1$i:80 -m -w $w; i=$((i + 1)); done
    probe 10.0.0.2 $v 24
  done
  scenario midway "weights 1 2 3; 5 conns; rs1 weight 4; 7 conns; rs3 deleted; 5 conns; rs4 (w2) added; 9 conns; rs2 weight 0; 6 conns"
  vip; svc "-t $v:80" 4 $S
  probe 10.0.0.2 $v 5
  cmd ipvsadm -e -t $v:80 -r 10.1.0.11:80 -m -w 4
  probe 10.0.0.2 $v 7
  cmd ipvsadm -d -t $v:80 -r 10.1.0.13:80
  probe 10.0.0.2 $v 5
  cmd ipvsadm -a -t $v:80 -r 10.1.0.14:80 -m -w 2
  probe 10.0.0.2 $v 9
  cmd ipvsadm -e -t $v:80 -r 10.1.0.12:80 -m -w 0
  probe 10.0.0.2 $v 6
  echo "# end" >> "$F"
}

echo "kernel $(uname -r); $(ipvsadm --version 2>&1 | head -n 1)"
for s in ${*:-rr wrr sh mh dh}; do
  t0=$(date +%s)
  case $s in
    sh|mh) hash_sched $s ;;
    dh) dh_sched ;;
    rr|wrr) list_sched $s ;;
    *) echo "unknown scheduler $s"; exit 2 ;;
  esac
  echo "  $s: $(($(date +%s) - t0)) s -> sched-extra-$s.txt ($(grep -c '^conn' "$F") connections, $(grep -c -- '-> NONE' "$F") NONE)"
done
