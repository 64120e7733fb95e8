#!/bin/busybox sh
# payload.sh: GoLVS against the real kernel IPVS and the real ipvsadm 1.31, inside the IPVS VM
# (../shared/tools/ipvs-vm). ipvsvm_test.go runs it with lvsd and lvsadm on PATH and this
# folder's testdata/ at /ipvsvm/testdata; by hand, from the project's root:
#   CGO_ENABLED=0 go build -o /tmp/ipvsvm/ ./cmd/lvsd ./cmd/lvsadm
#   flock /tmp/ipvs-vm.lock ../shared/tools/ipvs-vm/run-in-vm --timeout 400 --add /tmp/ipvsvm/lvsd \
#     --add /tmp/ipvsvm/lvsadm --add test/ipvsvm/testdata:/ipvsvm/testdata test/ipvsvm/payload.sh
# Every check prints one line starting with PASS or FAIL (a FAIL is followed by the difference,
# indented); the last line counts them, and the exit status is 1 when any check failed.
#
#   a. testdata/rules.txt (a service for every scheduler the kernel has, each with a NAT, a DR
#      and a TUN real; persistence with -p and -M, UDP, IPv6, fwmark, thresholds), programmed
#      command by command through lvsd --engine ipvs (lvsadm over its socket), then through
#      lvsadm --kernel: the real ipvsadm -S -n, -L -n and -L -n --thresholds print
#      testdata/rules.save, list.txt and thresholds.txt, as after the real ipvsadm -R.
#   c. traffic (client -> director -> rs1..rs3 of lib/topo.sh): NAT, DR and TUN services, rr,
#      programmed through lvsd; the reals answer in rr's order; lvsadm's listings through lvsd
#      (--stats --exact, -L -n, -c) are the real ipvsadm's.
#   d. sync: lvsd starts the master sync daemon on the director, lvsadm --kernel a backup in
#      netns "backup" (a veth to the director, its own IPVS table); the backup's table
#      receives the director's connections.
#   b. the real ipvsadm programs more services; every listing of lvsadm --kernel (and every
#      refusal: message and exit status) is the real ipvsadm's, byte for byte; -R with bad
#      lines, -Z, -C, --set and the daemons behave as ipvsadm's do.
set -u
. "$IPVS_VM_LIB/topo.sh"
set -f # rules contain [fd00::9]: never expand words as file names
TD=/ipvsvm/testdata
W=/tmp/ipvsvm
mkdir -p $W
npass=0 nfail=0
pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
indent() { sed 's/^/    /'; }
# check_file NAME EXPECTED ACTUAL: the two files have the same bytes
check_file() {
  if cmp -s "$2" "$3"; then pass "$1"; else fail "$1"; diff -u "$2" "$3" | indent; fi
}
# check NAME EXPECTED ACTUAL: two strings are equal
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
# run3 PREFIX CMD...: stdout, stderr and exit status of CMD into PREFIX.out .err .rc
run3() { _p=$1; shift; "$@" > "$_p.out" 2> "$_p.err"; echo $? > "$_p.rc"; }
# same3 A B: the two runs printed the same bytes and exited alike
same3() { cmp -s "$1.out" "$2.out" && cmp -s "$1.err" "$2.err" && cmp -s "$1.rc" "$2.rc"; }
# show3 NAME A B: how run B differs from run A
show3() {
  for _x in out err rc; do cmp -s "$2.$_x" "$3.$_x" || { echo "  $_x (- $1, + lvsadm):"; diff -u "$2.$_x" "$3.$_x" | indent; }; done
}
# compare NAME REF TOOL ARGS...: REF ARGS and TOOL ARGS print the same stdout and stderr and
# exit alike. REF runs before and after TOOL; when its two runs differ (a timer ticked, the
# rate estimator ran), all three run again, up to 6 times.
compare() {
  _name=$1 _ref=$2 _tool=$3; shift 3
  _try=0
  while :; do
    run3 $W/r1 $_ref "$@"; run3 $W/t $_tool "$@"; run3 $W/r2 $_ref "$@"
    same3 $W/r1 $W/r2 && break
    _try=$((_try + 1))
    [ $_try -ge 6 ] && { fail "$_name: ipvsadm's own output kept changing"; return; }
    sleep 0.3
  done
  if same3 $W/r1 $W/t; then pass "$_name"; else fail "$_name"; show3 ipvsadm $W/r1 $W/t; fi
}
# conn_mask FILE: a -c listing with the digits of its expire column (mm:ss) masked
conn_mask() {
  awk 'NR > 2 { p = index($0, " "); e = substr($0, p + 1, 6); gsub(/[0-9]/, "X", e)
    $0 = substr($0, 1, p) e substr($0, p + 7) } { print }' "$1"
}
# compare_conns NAME REF TOOL ARGS...: compare for -c listings. Each entry's expire counts
# down on its own second boundary, so the runs rarely print the same seconds: the listings
# must be the same bytes but for the expire column, and each of TOOL's times must lie between
# REF's two (REF runs before and after TOOL).
compare_conns() {
  _name=$1 _ref=$2 _tool=$3; shift 3
  _try=0
  while :; do
    run3 $W/r1 $_ref "$@"; run3 $W/t $_tool "$@"; run3 $W/r2 $_ref "$@"
    conn_mask $W/r1.out > $W/r1.mask; conn_mask $W/r2.out > $W/r2.mask; conn_mask $W/t.out > $W/t.mask
    cmp -s $W/r1.mask $W/r2.mask && cmp -s $W/r1.err $W/r2.err && cmp -s $W/r1.rc $W/r2.rc && break
    _try=$((_try + 1))
    [ $_try -ge 6 ] && { fail "$_name: ipvsadm's own listing kept changing"; return; }
    sleep 0.3
  done
  _between=$(awk 'function secs(s,  a) { split(s, a, ":"); return a[1] * 60 + a[2] }
    FNR <= 2 { next } FILENAME ~ /r1/ { hi[FNR] = secs($2); next } FILENAME ~ /r2/ { lo[FNR] = secs($2); next }
    { t = secs($2); if (t > hi[FNR] || t < lo[FNR]) print "line " FNR ": " $2 " not within ipvsadm'"'"'s times" }' \
    $W/r1.out $W/r2.out $W/t.out)
  if cmp -s $W/r1.mask $W/t.mask && cmp -s $W/r1.err $W/t.err && cmp -s $W/r1.rc $W/t.rc && [ -z "$_between" ]; then
    pass "$_name ($(($(wc -l < $W/t.out) - 2)) entries)"
  else
    fail "$_name"; show3 ipvsadm $W/r1 $W/t; echo "$_between" | indent
  fi
}
# hold_conn VIP: open a connection from the client that the server holds for 120 s, print
# the server's line about it. topo.sh's hold, with 30 s rather than 10 s for the answer (a
# loaded host slows the guest down); release closes it.
hold_conn() {
  : > $W/hold.out
  nsenter --net=/run/netns/client wget -q -O $W/hold.out "http://$1/cgi-bin/hold?120" < /dev/null > /dev/null 2>&1 &
  echo $! >> /tmp/topo-hold.pids
  _k=0
  while [ ! -s $W/hold.out ] && [ $_k -lt 300 ]; do sleep 0.1; _k=$((_k + 1)); done
  _r=$(head -n 1 $W/hold.out); echo "${_r:-ERR}"
}
K="lvsadm --kernel"
export LVSD_SOCKET=/run/lvsd.sock
LVSD_PID=
lvsd_start() {
  rm -f $LVSD_SOCKET
  lvsd --engine ipvs --socket $LVSD_SOCKET --no-state --log-level warn "$@" > $W/lvsd.log 2>&1 &
  LVSD_PID=$!
  _i=0
  while [ ! -S $LVSD_SOCKET ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
  if [ -S $LVSD_SOCKET ]; then pass "lvsd --engine ipvs started"; else fail "lvsd did not start"; indent < $W/lvsd.log; fi
}
lvsd_stop() {
  kill $LVSD_PID; wait $LVSD_PID
  check "lvsd stopped cleanly" 0 $?
  [ -s $W/lvsd.log ] && { echo "  lvsd's log:"; indent < $W/lvsd.log; }
  LVSD_PID=
}
# program TOOL FILE: each line of FILE as the arguments of one TOOL run; prints the failures
program() {
  _bad=0
  while read -r _line; do
    $1 $_line > $W/p.out 2>&1 || { _bad=$((_bad + 1)); echo "  $1 $_line:"; indent < $W/p.out; }
  done < "$2"
  return $_bad
}
# check_table WHO: ipvsadm shows what rules.txt asked for
check_table() {
  ipvsadm -S -n > $W/save; check_file "a. $1: ipvsadm -S -n = testdata/rules.save" $TD/rules.save $W/save
  ipvsadm -L -n > $W/list; check_file "a. $1: ipvsadm -L -n = testdata/list.txt" $TD/list.txt $W/list
  ipvsadm -L -n --thresholds > $W/thr
  check_file "a. $1: ipvsadm -L -n --thresholds = testdata/thresholds.txt" $TD/thresholds.txt $W/thr
}
T0=$(date +%s)
echo "== ipvsvm: $(uname -r), $(ipvsadm --version 2>&1); lvsadm: $(command -v lvsadm), lvsd: $(command -v lvsd)"
topo_up 3 || { fail "topology"; exit 1; }

echo
echo "== a. every scheduler, NAT/DR/TUN, persistence, fwmark, thresholds"
kscheds=$(tr ' ' '\n' < $IPVS_VM_LIB/modules.load | sed -n 's/^ip_vs_//p' | sort | tr '\n' ' ')
rscheds=$(awk '$1 == "-A" { for (i = 1; i < NF; i++) if ($i == "-s") print $(i + 1) }' $TD/rules.txt | sort -u | tr '\n' ' ')
echo "kernel's schedulers: $kscheds"
missing=
for s in $kscheds; do case " $rscheds " in *" $s "*) ;; *) missing="$missing $s" ;; esac; done
check "a. rules.txt uses every scheduler of the kernel" "" "$missing"
ipvsadm -R < $TD/rules.txt && check_table "reference (the real ipvsadm -R)"
ipvsadm -C
lvsd_start
program lvsadm $TD/rules.txt; check "a. lvsd: every line of rules.txt accepted" 0 $?
check_table "lvsd"
compare "a. lvsd: lvsadm -L -n --thresholds is ipvsadm's" ipvsadm lvsadm -L -n --thresholds
lvsd_stop
check "a. lvsd removed its services when it stopped" "" "$(ipvsadm -S -n)"
program "$K" $TD/rules.txt; check "a. lvsadm --kernel: every line of rules.txt accepted" 0 $?
check_table "lvsadm --kernel"
ipvsadm -C

echo
echo "== c. traffic through lvsd --engine ipvs: NAT, DR, TUN, rr"
VNAT=10.9.0.1 VDR=10.9.0.2 VTUN=10.9.0.3
vip_add $VNAT $VDR $VTUN
rs_dr_vip $VDR
rs_tun_vip $VTUN
lvsd_start
for v in "$VNAT -m" "$VDR -g" "$VTUN -i"; do
  set -- $v
  lvsadm -A -t $1:80 -s rr || fail "c. lvsadm -A -t $1:80"
  for i in 1 2 3; do lvsadm -a -t $1:80 -r 10.1.0.1$i:80 $2 || fail "c. lvsadm -a -t $1:80 -r 10.1.0.1$i $2"; done
done
for v in "NAT $VNAT" "DR $VDR" "TUN $VTUN"; do
  set -- $v
  got=$(get_n 6 $2 | tr '\n' ' ')
  # the kernel keeps reals newest first and rr starts at the head of the list
  check "c. $1: six connections answered in rr's order" "rs3 rs2 rs1 rs3 rs2 rs1 " "$got"
done
info=$(get $VNAT cgi-bin/info)
case "$info" in rs?" saw client 10.0.0.2:"*) pass "c. NAT: the real server saw the client's address ($info)" ;;
  *) fail "c. NAT: the real server saw '$info'" ;; esac
sleep 3 # the estimator folds the per-CPU counters every 2 s
ipvsadm -L -n --stats --exact
compare "c. lvsd: lvsadm -L -n --stats --exact is ipvsadm's" ipvsadm lvsadm -L -n --stats --exact
compare "c. lvsd: lvsadm -L -n is ipvsadm's" ipvsadm lvsadm -L -n
compare_conns "c. lvsd: lvsadm -L -n -c is ipvsadm's" ipvsadm lvsadm -L -n -c
for args in "-A -t $VNAT:80 -s rr" "-a -t $VNAT:80 -r 10.1.0.11:80 -m" "-e -t $VNAT:80 -r 10.1.0.99:80 -m" \
  "-d -t $VNAT:80 -r 10.1.0.99:80" "-a -t 10.9.3.99:80 -r 10.1.0.11:80 -m" "-D -t 10.9.3.99:80" \
  "-a -t $VNAT:80 -r 255.255.255.255:80 -m" "-a -t $VNAT:80 -r 10.1.0.14:80 -m -x 10 -y 20" \
  "-L -n -t 10.9.3.99:80" "--stop-daemon master"; do
  compare "c. lvsd refuses as the kernel does: ipvsadm $args" ipvsadm lvsadm $args
done
conns=$(ipvsadm -L -n --stats --exact -t $VNAT:80 | awk '$1 == "TCP" { print $3 }')
check "c. NAT: the kernel counted 7 connections" 7 "$conns"

echo
echo "== d. connection sync: master through lvsd, backup through lvsadm --kernel in netns backup"
# A veth of its own between the director and the backup: a new port on brc could change brc's
# MAC address (a bridge takes its ports' lowest unless one was set), which cuts the client off
# until its ARP entry of the director expires (about 30 s, seen in this VM).
ip netns add backup
ip -n backup link set lo up
ip link add vsync type veth peer name eth0 netns backup
ip addr add 10.2.0.1/24 dev vsync && ip link set vsync up
ip -n backup addr add 10.2.0.2/24 dev eth0 && ip -n backup link set eth0 up
lvsadm --start-daemon master --mcast-interface vsync --syncid 7; check "d. lvsadm --start-daemon master (lvsd)" 0 $?
for l in "-A -t $VNAT:80 -s rr" "-a -t $VNAT:80 -r 10.1.0.11:80 -m" "-a -t $VNAT:80 -r 10.1.0.12:80 -m" \
  "-a -t $VNAT:80 -r 10.1.0.13:80 -m" "--start-daemon backup --mcast-interface eth0 --syncid 7"; do
  in_ns backup $K $l || fail "d. backup: lvsadm --kernel $l"
done
compare "d. lvsd: lvsadm -L --daemon is ipvsadm's" ipvsadm lvsadm -L --daemon
compare "d. backup: lvsadm --kernel -L --daemon is ipvsadm's" "in_ns backup ipvsadm" "in_ns backup $K" -L --daemon
held=$(hold_conn $VNAT)
case "$held" in rs?" saw client 10.0.0.2:"*) pass "d. a connection held open through the NAT service ($held)" ;;
  *) fail "d. no connection could be held open through the NAT service: '$held'"
    { ipvsadm -L -n -c; echo "a request now: $(get $VNAT cgi-bin/info)"; } | indent ;;
esac
hport=${held##*:}
get_n 3 $VNAT > /dev/null
n=0 synced=
while [ $n -lt 60 ]; do
  in_ns backup ipvsadm -L -n -c > $W/bc
  grep -q "ESTABLISHED 10.0.0.2:$hport *$VNAT:80 " $W/bc && { synced=yes; break; }
  sleep 0.5; n=$((n + 1))
done
indent < $W/bc
check "d. the backup's table got the held connection (10.0.0.2:$hport ESTABLISHED) from the master" yes "$synced"
compare_conns "d. backup: lvsadm --kernel -L -n -c is ipvsadm's" "in_ns backup ipvsadm" "in_ns backup $K" -L -n -c
compare "d. --start-daemon while one runs" ipvsadm "$K" --start-daemon master --mcast-interface vsync
compare "d. lvsd: --start-daemon while one runs" ipvsadm lvsadm --start-daemon master --mcast-interface vsync
compare "d. lvsd: --start-daemon on a missing interface" ipvsadm lvsadm --start-daemon backup --mcast-interface nosuch0
lvsadm --stop-daemon master; check "d. lvsadm --stop-daemon master (lvsd)" 0 $?
in_ns backup $K --stop-daemon backup; check "d. backup: lvsadm --kernel --stop-daemon backup" 0 $?
compare "d. --stop-daemon with none running" ipvsadm "$K" --stop-daemon master
check "d. no daemon left" "" "$(ipvsadm -L --daemon; in_ns backup ipvsadm -L --daemon)"

echo
echo "== b. lvsadm --kernel against the real ipvsadm: the table of c and d plus ipvsadm's own services"
while read -r l; do ipvsadm $l || fail "b. setup: ipvsadm $l"; done <<'EOF'
-A -t 10.9.3.1:80 -s wlc -p
-a -t 10.9.3.1:80 -r 10.1.0.11:80 -m -w 0
-a -t 10.9.3.1:80 -r 10.1.0.12:80 -m -x 50 -y 10
-A -u 10.9.3.2:5060 -s rr -p 60 --pe sip
-a -u 10.9.3.2:5060 -r 10.1.0.13:5060 -m
-A -u 10.9.3.3:53 -s sh -b sh-fallback,sh-port -o
-a -u 10.9.3.3:53 -r 10.1.0.11:53 -m
-A -t 10.9.3.4:80 -s rr
-a -t 10.9.3.4:80 -r 10.1.0.11 -i --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 10.9.3.4:80 -r 10.1.0.12 -i --tun-type gre --tun-csum
-a -t 10.9.3.4:80 -r 10.1.0.13 -i --tun-type gue --tun-port 6081 --tun-remcsum
-A -t [fd00::9]:80 -s rr -p 100 -M 48
-a -t [fd00::9]:80 -r [fd01::11]:80 -m
-a -t [fd00::9]:80 -r 10.1.0.13:80 -i
-A -f 31 -6 -s rr
-a -f 31 -6 -r [fd01::12]:0 -g
-A -f 32 -s lblc -p 30 -M 255.255.255.0
-a -f 32 -r 10.1.0.12:0 -g -w 5
-A --sctp-service 10.9.3.5:3868 -s rr
-a --sctp-service 10.9.3.5:3868 -r 10.1.0.13:3868 -m
-A -t 10.9.3.6:80 -s rr
-a -t 10.9.3.6:80 -r 10.1.0.1:80 -m
-A -t 200.0.0.1:80 -s rr
-a -t 200.0.0.1:80 -r 10.1.0.11:80 -m
EOF
for args in "-L -n" "-L" "-Ln" "" "-L -n --nosort" "-L -n --stats" "-L -n --stats --exact" "-L -n --rate" \
  "-L -n --rate --exact" "-L -n --exact" "-L -n --thresholds" "-L -n --persistent-conn" "-L -n --tun-info" \
  "-L -n -t $VNAT:80" "-L -n --stats -t $VNAT:80" \
  "-L -n -f 32" "-L -n -f 31 -6" "-L -n -t [fd00::9]:80" "-l -n -u 10.9.3.2:5060" "-L --timeout" "-L --daemon" \
  "-S" "-S -n" "-Sn" "-L -n -t 10.9.3.99:80"; do
  compare "b. ipvsadm $args" ipvsadm "$K" $args
done
for args in "-L -n -c" "-L -c" "-L -n -c --persistent-conn"; do
  compare_conns "b. ipvsadm $args" ipvsadm "$K" $args
done
for args in "-A -t $VNAT:80 -s rr" "-A -t 10.9.3.50:80 -s twos" "-A -u 10.9.3.50:5060 -s rr -p 60 --pe foo" \
  "-E -t 10.9.3.99:80 -s rr" "-D -t 10.9.3.99:80" "-a -t 10.9.3.99:80 -r 10.1.0.11:80 -m" \
  "-a -t 10.9.3.1:80 -r 10.1.0.11:80 -m" "-a -t 10.9.3.1:80 -r 10.1.0.14:80 -m -x 10 -y 20" \
  "-a -t 10.9.3.1:80 -r 255.255.255.255:80 -m" "-a -t 10.9.3.1:80 -r 224.0.0.1:80 -m" \
  "-e -t 10.9.3.1:80 -r 10.1.0.99:80 -m" "-d -t 10.9.3.1:80 -r 10.1.0.99:80" "-Z -t 10.9.3.99:80" \
  "--start-daemon master --mcast-interface nosuch0" "--start-daemon master" "--set 99999999 0 0" "-A -t 10.9.0.300:80" "-A -t 10.9.3.50:0 -s rr" \
  "-L -n -w 3" "--foo" "-h" "-v" "--sctp-service 10.9.3.50:3868 -A -s rr"; do
  compare "b. refused or not a change: ipvsadm $args" ipvsadm "$K" $args
done
echo "-- zeroing"
$K -Z -t $VNAT:80; check "b. lvsadm --kernel -Z -t VIP" 0 $?
check "b. ... the service's counters are zero" "0 0" "$(ipvsadm -L -n --stats --exact -t $VNAT:80 | awk '$1 == "TCP" { print $3, $4 }')"
check "b. ... the others' are not" yes "$(ipvsadm -L -n --stats --exact -t $VDR:80 | awk '$1 == "TCP" { print ($3 > 0 ? "yes" : "no") }')"
$K -Z; check "b. lvsadm --kernel -Z" 0 $?
check "b. ... every counter is zero" "" "$(ipvsadm -L -n --stats --exact | awk '$1 == "TCP" && $3 != 0')"
$K --set 1000 0 400; check "b. lvsadm --kernel --set 1000 0 400" 0 $?
check "b. ... ipvsadm sees the timeouts" "Timeout (tcp tcpfin udp): 1000 120 400" "$(ipvsadm -L --timeout)"
$K --set 900 120 300
release

echo
echo "== lvsd stops: its services go, ipvsadm's stay"
ipvsadm -S -n > $W/before
lvsd_stop
ipvsadm -S -n > $W/after
grep -v -e " $VNAT:80 " -e " $VDR:80 " -e " $VTUN:80 " $W/before > $W/want
check_file "lvsd removed exactly its own services" $W/want $W/after

echo
echo "== b. -R, edits and -C: lvsadm --kernel changes the table as ipvsadm does"
# change NAME SETUP CMD [STDIN]: from the table SETUP (a file of ipvsadm -R input) run
# ipvsadm CMD, then lvsadm --kernel CMD: same output, same exit status, same table after
change() {
  _name=$1 _setup=$2 _cmd=$3 _in=${4:-/dev/null}
  ipvsadm -C; ipvsadm -R < "$_setup"; run3 $W/r1 ipvsadm $_cmd < "$_in"; ipvsadm -S -n > $W/r1.table
  ipvsadm -C; ipvsadm -R < "$_setup"; run3 $W/t $K $_cmd < "$_in"; ipvsadm -S -n > $W/t.table
  if same3 $W/r1 $W/t && cmp -s $W/r1.table $W/t.table; then pass "$_name"; else
    fail "$_name"; show3 ipvsadm $W/r1 $W/t; diff -u $W/r1.table $W/t.table | indent
  fi
}
ipvsadm -S -n > $W/base
printf -- '-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -s nosuch\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-mid
printf -- '-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -s nosuch\n' > $W/r-last
printf -- '-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.300:80 -s rr\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-parse
printf -- '-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -Q\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-popt
printf -- '-A -t 10.9.0.60:80 -s rr\n-L -n\n-L -n -t 10.9.0.99:80\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-list
printf -- '-a -t 10.9.0.99:80 -r 10.1.0.1:80 -m\n-A -t 10.9.0.60:80 -s rr\n-e -t 10.9.0.60:80 -r 10.1.0.9:80 -m\n-d -t 10.9.0.60:80 -r 10.1.0.9:80\n-D -t 10.9.0.99:80\n-Z -t 10.9.0.99:80\n--stop-daemon master\n-E -t 10.9.0.99:80 -s rr\n' > $W/r-refusals
printf -- '-A -t 10.9.0.60:80 -s rr\n-v\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-version
printf -- '-A -t 10.9.0.60:80 -s rr\n# a comment\n-A -t 10.9.0.62:80 -s rr\n' > $W/r-comment
: > $W/empty
for r in mid last parse popt list refusals version comment; do
  change "b. -R ($r): $(tr '\n' ';' < $W/r-$r | cut -c1-70)..." $W/empty -R $W/r-$r
done
change "b. -R of ipvsadm -S -n output (round trip)" $W/empty -R $W/base
change "b. -E" $W/base "-E -t 10.9.3.1:80 -s wrr -p 60"
change "b. -e" $W/base "-e -t 10.9.3.1:80 -r 10.1.0.12:80 -m -w 7 -x 0 -y 0"
change "b. -d" $W/base "-d -t 10.9.3.4:80 -r 10.1.0.12:80"
change "b. -D" $W/base "-D -f 31 -6"
change "b. -C" $W/base "-C"
change "b. -a" $W/base "-a -t [fd00::9]:80 -r [fd01::13]:8080 -m -w 4"
ipvsadm -C

echo
echo "== $npass passed, $nfail failed ($(($(date +%s) - T0)) s in the VM)"
[ $nfail = 0 ]
