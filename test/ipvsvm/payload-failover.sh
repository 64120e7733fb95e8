#!/bin/busybox sh
# payload-failover.sh: a director pair of lvsd --engine ipvs with VRRP and lvs_sync_daemon, in
# the IPVS VM (../shared/tools/ipvs-vm); a client's TCP connection through the VIP survives
# the master's death. ipvsvm_test.go (TestFailoverVM) runs it with lvsd on PATH; by hand, from
# the project's root:
#   CGO_ENABLED=0 go build -o /tmp/ipvsvm/ ./cmd/lvsd
#   flock /tmp/ipvs-vm.lock ../shared/tools/ipvs-vm/run-in-vm --timeout 200 \
#     --add /tmp/ipvsvm/lvsd test/ipvsvm/payload-failover.sh
#
#   [netns client] 10.0.0.2    [netns rs] 10.0.0.21, VIP on lo (LVS-DR), echo server on :7
#          |                          |
#   ==== lan (bridge in the root netns) ==========================================
#          |                          |
#   [netns d1] eth0 10.0.0.11   [netns d2] eth0 10.0.0.12     each its own IPVS table,
#   priority 150 (MASTER)       priority 100 (BACKUP)         each running lvsd -f dN.conf
#          sync0 10.2.0.1 ====== sync0 10.2.0.2   (a veth: the sync daemons' link)
#
# Both lvsd run the same virtual_server (VIP 10.0.0.100:7, DR, TCP_CHECK) and vrrp_instance
# VI_1 (VIP 10.0.0.100/24, advert_int 1) with `lvs_sync_daemon sync0 VI_1 id 42 port 8849
# group 224.0.0.82`. The client opens one TCP connection to the VIP and keeps it; the backup's
# table receives it from the master's sync daemon; then d1's lvsd is killed with SIGKILL and
# d1 is cut off the LAN (its link down: a dead director; SIGKILL alone would leave the VIP and
# the IPVS table of d1's kernel serving). d2 takes over (VIP, gratuitous ARP, master sync
# daemon) and the same client connection goes on through d2. Prints PASS/FAIL lines, the
# time from the kill to d2 holding the VIP and to the connection echoing again; exit 1 on
# any FAIL.
set -u
. "$IPVS_VM_LIB/topo.sh" # ip() and in_ns(); its topology is not used
W=/tmp/failover
mkdir -p $W
VIP=10.0.0.100
npass=0 nfail=0
pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
indent() { sed 's/^/    /'; }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
# now: centiseconds since boot
now() { read -r _up _ < /proc/uptime; echo "${_up%.*}${_up#*.}"; }
# secs CS: centiseconds as seconds with two decimals
secs() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }
# wait_for CS CMD...: run CMD every 0.1 s until it succeeds or CS centiseconds passed
wait_for() {
  _end=$(($(now) + $1)); shift
  until "$@"; do [ "$(now)" -ge $_end ] && return 1; sleep 0.1; done
}
finish() {
  echo
  echo "== $npass passed, $nfail failed"
  [ $nfail -eq 0 ]
  exit $?
}

echo "== ipvsvm-failover: $(uname -r); lvsd: $(command -v lvsd)"
echo "== topology: client, rs, directors d1 and d2 on bridge lan; sync0 between d1 and d2"
ip link add lan type bridge && ip link set lan up
for ns in client rs d1 d2; do
  ip netns add $ns
  ip -n $ns link set lo up
  ip link add v$ns type veth peer name eth0 netns $ns
  ip link set v$ns master lan up
done
ip -n client addr add 10.0.0.2/24 dev eth0
ip -n rs addr add 10.0.0.21/24 dev eth0
ip -n d1 addr add 10.0.0.11/24 dev eth0
ip -n d2 addr add 10.0.0.12/24 dev eth0
for ns in client rs d1 d2; do ip -n $ns link set eth0 up; done
ip link add sync0 netns d1 type veth peer name sync0 netns d2
ip -n d1 addr add 10.2.0.1/24 dev sync0 && ip -n d1 link set sync0 up
ip -n d2 addr add 10.2.0.2/24 dev sync0 && ip -n d2 link set sync0 up
# the real server: the VIP on lo, never answering ARP for it (LVS-DR); an echo server on :7
ip -n rs addr add $VIP/32 dev lo
in_ns rs sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
  net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
in_ns rs nc -ll -p 7 -e cat &
for d in d1 d2; do in_ns $d sysctl -qw net.ipv4.ip_forward=1; done

# conf NAME PRIORITY STATE: one director's keepalived.conf
conf() {
  cat <<EOF
global_defs {
    router_id $1
    lvs_sync_daemon sync0 VI_1 id 42 port 8849 group 224.0.0.82
}
vrrp_instance VI_1 {
    state $3
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    garp_master_delay 1
    virtual_ipaddress {
        $VIP/24
    }
}
virtual_server $VIP 7 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.21 7 {
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
EOF
}
conf d1 150 MASTER > $W/d1.conf
conf d2 100 BACKUP > $W/d2.conf
lvsd -t -f $W/d1.conf > $W/t.out 2>&1; check "lvsd -t accepts the director's keepalived.conf" 0 $?
indent < $W/t.out

# start_lvsd DIR: lvsd --engine ipvs -f DIR.conf in netns DIR; its pid in LVSD_DIR
start_lvsd() {
  in_ns $1 lvsd --engine ipvs -f $W/$1.conf --socket /run/lvsd-$1.sock --no-state --log-level info \
    > $W/$1.log 2>&1 &
  eval LVSD_$1=$!
}
has_vip() { ip -n $1 -4 addr show dev eth0 | grep -q "inet $VIP/24"; }
daemon_is() { in_ns $1 ipvsadm -L --daemon 2>/dev/null | grep -q "^$2 sync daemon (mcast=sync0, syncid=42"; }
has_service() { in_ns $1 ipvsadm -L -n 2>/dev/null | grep -q "10.0.0.21:7 *Route"; }

echo
echo "== the pair starts: d1 MASTER, d2 BACKUP"
start_lvsd d1
if wait_for 3000 has_vip d1; then pass "d1 is MASTER: it holds the VIP"; else fail "d1 did not take the VIP"; indent < $W/d1.log; finish; fi
start_lvsd d2
wait_for 3000 daemon_is d2 backup
for d in d1 d2; do
  wait_for 1000 has_service $d; check "$d: lvsd programmed the DR service in its netns' IPVS table" 0 $?
done
daemon_is d1 master; check "d1 runs the master sync daemon (syncid 42 from lvs_sync_daemon's id)" 0 $?
daemon_is d2 backup; check "d2 runs the backup sync daemon" 0 $?
in_ns d1 ipvsadm -L --daemon | indent
in_ns d2 ipvsadm -L --daemon | indent
in_ns d2 ipvsadm -L --daemon | grep -q "group=224.0.0.82, port=8849"
check "the daemons use lvs_sync_daemon's group and port" 0 $?
has_vip d2; check "d2 does not hold the VIP" 1 $?

echo
echo "== a client connection through the VIP, synced to d2"
mkfifo $W/in
in_ns client nc $VIP 7 < $W/in > $W/out 2>$W/nc.err &
NC=$!
exec 3> $W/in # the client's stdin stays open: one long-lived connection
got() { grep -qx "$1" $W/out; }
echo hello-1 >&3
if wait_for 1000 got hello-1; then pass "the echo server answered through d1 (hello-1)"
else fail "no echo through d1"; { cat $W/nc.err; in_ns d1 ipvsadm -L -n -c; } | indent; fi
cport=$(in_ns client netstat -tn 2>/dev/null | awk -v v="$VIP:7" '$5 == v && $6 == "ESTABLISHED" { split($4, a, ":"); print a[2]; exit }')
echo "    client port $cport"
synced() { in_ns d2 ipvsadm -L -n -c | grep -q "ESTABLISHED 10.0.0.2:$cport *$VIP:7 *10.0.0.21:7"; }
wait_for 1500 synced
check "d2's table got the connection 10.0.0.2:$cport from d1's sync daemon (ipvsadm -L -n -c)" 0 $?
in_ns d2 ipvsadm -L -n -c | indent

echo
echo "== d1 dies: SIGKILL to its lvsd, its LAN link down"
in_ns d1 ipvsadm -L -n --stats --exact | indent
t0=$(now)
eval kill -KILL \$LVSD_d1
ip -n d1 link set eth0 down
echo hello-2 >&3
wait_for 3000 has_vip d2; rc=$?
t1=$(now)
check "d2 took over the VIP (after $(secs $((t1 - t0))) s)" 0 $rc
wait_for 3000 got hello-2; rc=$?
t2=$(now)
check "the SAME client connection echoed again through d2 (hello-2)" 0 $rc
echo "FAILOVER kill->VIP on d2: $(secs $((t1 - t0))) s; kill->connection working: $(secs $((t2 - t0))) s"
echo hello-3 >&3
wait_for 500 got hello-3; check "and goes on (hello-3)" 0 $?
kill -0 $NC 2>/dev/null; check "the client's nc is still connected" 0 $?
wait_for 500 daemon_is d2 master; check "d2 now runs the master sync daemon" 0 $?
daemon_is d2 backup; check "d2 stopped its backup sync daemon" 1 $?
d2mac=$(ip -n d2 link show eth0 | awk '/link\/ether/ { print $2 }')
cmac=$(ip -n client neigh show $VIP | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
check "the client's ARP entry for the VIP is d2's MAC" "$d2mac" "$cmac"
# the kernel folds its per-CPU counters into the listed ones every 2 s (the estimator)
d2stats() { set -- $(in_ns d2 ipvsadm -L -n --stats --exact -t $VIP:7 | awk '$1 == "TCP" { print $3, $4 }'); conns=${1:-none} inpkts=${2:-0}; [ "$inpkts" -gt 0 ]; }
wait_for 500 d2stats; check "d2's IPVS forwarded the connection's packets (InPkts $inpkts)" 0 $?
check "d2 scheduled no connection: the packets followed the synced entry (Conns)" 0 "$conns"
in_ns d2 ipvsadm -L -n -c | indent
got hello-1 && got hello-2 && got hello-3
check "the client got every line once, in order" "hello-1 hello-2 hello-3" "$(tr '\n' ' ' < $W/out | sed 's/ $//')"

exec 3>&-
eval kill \$LVSD_d2
echo "== d2's lvsd log"
grep -i "vrrp\|sync\|error" $W/d2.log | tail -n 12 | indent
finish
