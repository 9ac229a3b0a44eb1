#!/bin/bash
# The TCP model against real Linux TCP on the same work, by hand, as root:
#
#   bench/tcp_fidelity.sh [BUILD_DIR]        (default build)
#
# Environment: BYTES (default 20000000) per transfer, RUNS (default 3: Linux
# runs, and seeds 1..RUNS in the simulator), LOSSES (default "0 1 3", %),
# CCS (default "reno cubic"; the simulator's names are newreno and cubic).
#
# Topology (namespaces made and removed here, names carry the PID):
#
#   sender s 10.1.2.2 --- 10.1.2.1 router r 10.1.1.1 --- 10.1.1.2 receiver c
#
# Every egress is shaped by tbf (a rate and a 64 KiB byte limit: drop-tail);
# random loss (iptables statistic) on the router's egress towards the
# receiver, the data's path; offloads off; no propagation delay (this kernel
# has no netem). tcpmig-peer serve-bulk on s sends BYTES to fetch-bulk on c.
# The twin scenario: the same hosts, rates, byte-limited queues and loss in
# tcpmig-sim, a bulk-sender on s to a bulk-sink on c.
#
# Two places for the bottleneck (50 Mbit/s, the other link 100 Mbit/s):
#   sender   the sender's own link
#   router   the router's egress towards the receiver
#
# Prints, per case, the mean over the runs of goodput (Mbit/s), completion
# time (s) and the sender's retransmitted segments and RTOs for Linux
# (nstat TcpRetransSegs, TcpExtTCPTimeouts) and the simulator (summary.json),
# and the simulator's difference in %.
set -uo pipefail

BUILD=${1:-build}
SIM=$BUILD/tools/tcpmig-sim
PEER=$BUILD/tests/tcpmig-peer
BYTES=${BYTES:-20000000}
RUNS=${RUNS:-3}
LOSSES=${LOSSES:-"0 1 3"}
CCS=${CCS:-"reno cubic"}

[ "$(id -u)" -eq 0 ] || { echo "tcp_fidelity: run as root" >&2; exit 1; }
for f in "$SIM" "$PEER"; do [ -x "$f" ] || { echo "tcp_fidelity: no $f (build the project with its tests)" >&2; exit 1; }; done

TAG="tf$$"
NS_S="$TAG-s" NS_R="$TAG-r" NS_C="$TAG-c"
WORK=$(mktemp -d "/tmp/tcpmig-fidelity.$$.XXXXXX")
# A namespace may only pick an algorithm the host allows (a global list):
# each of CCS is added for the run, and the list restored afterwards.
ALLOWED_BEFORE=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
cleanup() {
  sysctl -qw net.ipv4.tcp_allowed_congestion_control="$ALLOWED_BEFORE" 2>/dev/null
  for ns in "$NS_S" "$NS_R" "$NS_C"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

set -e
# shellcheck disable=SC2086
sysctl -qw net.ipv4.tcp_allowed_congestion_control="$(echo $ALLOWED_BEFORE $CCS | tr ' ' '\n' | sort -u | tr '\n' ' ')"
for ns in "$NS_S" "$NS_R" "$NS_C"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add s0 netns "$NS_S" type veth peer name r1 netns "$NS_R"
ip link add c0 netns "$NS_C" type veth peer name r0 netns "$NS_R"
ip -n "$NS_S" addr add 10.1.2.2/24 dev s0
ip -n "$NS_R" addr add 10.1.2.1/24 dev r1
ip -n "$NS_R" addr add 10.1.1.1/24 dev r0
ip -n "$NS_C" addr add 10.1.1.2/24 dev c0
for l in "$NS_S s0" "$NS_R r1" "$NS_R r0" "$NS_C c0"; do
  ip -n "${l% *}" link set "${l#* }" up
  ip netns exec "${l% *}" ethtool -K "${l#* }" tso off gso off gro off >/dev/null 2>&1 || true
done
ip -n "$NS_S" route add default via 10.1.2.1
ip -n "$NS_C" route add default via 10.1.1.1
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
set +e

ip netns exec "$NS_S" "$PEER" serve-bulk --listen 10.1.2.2:5001 --name S >"$WORK/serve.out" 2>&1 &
for _ in $(seq 50); do grep -q '^listening' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done

# shape SENDER_RATE ROUTER_RATE: tbf on the four egresses (64 KiB drop-tail).
shape() {
  local l dev rate
  for l in "$NS_S s0 $1" "$NS_R r1 100mbit" "$NS_R r0 $2" "$NS_C c0 100mbit"; do
    read -r ns dev rate <<<"$l"
    ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "$rate" burst 16kb limit 65536
  done
}
loss_rule() {  # loss_rule -A|-D PERCENT
  [ "$2" = 0 ] && return 0
  ip netns exec "$NS_R" iptables "$1" FORWARD -o r0 -m statistic --mode random \
    --probability "$(awk -v p="$2" 'BEGIN {printf "%.4f", p / 100}')" -j DROP
}
nstat_of() {  # nstat_of COUNTER: the sender namespace's absolute value
  ip netns exec "$NS_S" nstat -az "$1" 2>/dev/null | awk -v c="$1" '$1 == c {print $2}'
}

# linux_run: one transfer; prints "goodput_mbps seconds retrans rtos".
linux_run() {
  local r0 t0 out
  r0=$(nstat_of TcpRetransSegs)
  t0=$(nstat_of TcpExtTCPTimeouts)
  out=$(ip netns exec "$NS_C" "$PEER" fetch-bulk --connect 10.1.2.2:5001 --bytes "$BYTES" --chunk "$BYTES" \
    --timeout-ms 60000 --report 2>&1) || { echo "failed"; return; }
  local secs
  secs=$(sed -n 's/^throughput_gbps [0-9.]* seconds \([0-9.]*\)$/\1/p' <<<"$out")
  awk -v b="$BYTES" -v s="$secs" -v r="$(($(nstat_of TcpRetransSegs) - r0))" -v t="$(($(nstat_of TcpExtTCPTimeouts) - t0))" \
    'BEGIN {printf "%.3f %.4f %d %d\n", b * 8 / s / 1e6, s, r, t}'
}

# sim_run CC SENDER_RATE ROUTER_RATE LOSS SEED: the twin; prints the same four numbers.
sim_run() {
  local cc=$1 srate=$2 rrate=$3 loss=$4 seed=$5 xml="$WORK/twin.xml"
  cat >"$xml" <<XML
<scenario name="fidelity">
  <topology>
    <host name="s"><tcp congestion-control="$cc"/></host>
    <router name="r"/>
    <host name="c"/>
    <link a="s" a-addr="10.1.2.2/24" b="r" b-addr="10.1.2.1/24" rate-ab="$srate" rate-ba="100Mbps"
          delay="0s" queue="0" queue-bytes="65536"/>
    <link a="r" a-addr="10.1.1.1/24" b="c" b-addr="10.1.1.2/24" rate-ab="$rrate" rate-ba="100Mbps"
          delay="0s" queue="0" queue-bytes="65536" loss-ab="$loss%"/>
  </topology>
  <apps>
    <bulk-sink node="c" port="5001"/>
    <bulk-sender node="s" server="10.1.1.2" port="5001" bytes="$BYTES" expect="any"/>
  </apps>
  <outputs pcap="false" trace="false" summary="true"/>
</scenario>
XML
  "$SIM" "$xml" --seed "$seed" --out "$WORK/sim" --quiet >/dev/null 2>"$WORK/sim.err" || { echo "failed"; return; }
  python3 - "$WORK/sim/summary.json" "$BYTES" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sink = next(a for a in j["apps"] if a["type"] == "bulk-sink")
secs = (sink["finished_ns"] or j["end_time_ns"]) / 1e9
print("%.3f %.4f %d %d" % (int(sys.argv[2]) * 8 / secs / 1e6, secs, j["tcp"]["server_retransmits"] + j["tcp"]["client_retransmits"],
                           j["tcp"]["client_timeouts"] + j["tcp"]["server_timeouts"]))
PY
}

mean() { awk '{for (i = 1; i <= NF; ++i) s[i] += $i; n++} END {for (i = 1; i <= 4; ++i) printf "%s%.3f", (i > 1 ? " " : ""), s[i] / n; print ""}'; }

echo "tcpmig TCP fidelity: $BYTES bytes per transfer, mean of $RUNS, kernel $(uname -r)"
printf '%-7s %-6s %-5s | %-30s | %-30s | %s\n' bneck cc loss "Linux Mbit/s  s  retx  RTOs" "sim Mbit/s  s  retx  RTOs" "sim - Linux: goodput, time, retx"
for where in sender router; do
  if [ $where = sender ]; then srate=50mbit rrate=100mbit; else srate=100mbit rrate=50mbit; fi
  shape $srate $rrate
  for cc in $CCS; do
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_congestion_control="$cc" ||
      { echo "tcp_fidelity: cannot use $cc in a namespace" >&2; exit 1; }
    simcc=$cc
    [ "$cc" = reno ] && simcc=newreno
    for loss in $LOSSES; do
      loss_rule -A "$loss"
      linux=$(for ((i = 0; i < RUNS; i++)); do linux_run; done | grep -v failed | mean)
      loss_rule -D "$loss"
      sim=$(for ((i = 1; i <= RUNS; i++)); do sim_run "$simcc" "${srate/mbit/Mbps}" "${rrate/mbit/Mbps}" "$loss" "$i"; done | grep -v failed | mean)
      diff=$(awk -v l="$linux" -v s="$sim" 'BEGIN {split(l, a, " "); split(s, b, " ");
        printf "%+.1f%% %+.1f%% %+.1f%%", (b[1] - a[1]) / a[1] * 100, (b[2] - a[2]) / a[2] * 100,
          (a[3] > 0 ? (b[3] - a[3]) / a[3] * 100 : 0)}')
      printf '%-7s %-6s %-5s | %-30s | %-30s | %s\n' $where "$cc" "$loss%" "$linux" "$sim" "$diff"
    done
  done
done
