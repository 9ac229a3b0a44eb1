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
# random loss (nftables `numgen random mod 1000`, so in steps of 0.1%) on TCP
# the router forwards out of its interface towards the receiver, the data's
# path; offloads off; no propagation delay (this kernel has no netem).
# tcpmig-peer serve-bulk on s sends BYTES to fetch-bulk on c. The twin
# scenario: the same hosts, rates, byte-limited queues and loss in tcpmig-sim,
# a bulk-sender on s to a bulk-sink on c.
#
# Two places for the bottleneck (50 Mbit/s, the other link 100 Mbit/s):
#   sender   the sender's own link
#   router   the router's egress towards the receiver
#
# Prints, per case, the mean over the runs of goodput (Mbit/s), completion
# time (s) and the sender's retransmitted segments and RTOs for Linux
# (nstat TcpRetransSegs, TcpExtTCPTimeouts) and the simulator (summary.json),
# then two numbers both sides get from a capture on the receiver's interface
# (Linux: dumpcap -s 128 in the receiver's namespace around each transfer;
# the simulator: its pcap c-eth0.pcap) read by tshark: data segments per ACK
# (data-carrying segments from the sender that reached the receiver, over the
# receiver's pure ACKs: no data, SYN, FIN or RST) and the peak receive window
# (the largest window the receiver advertised, in bytes, scaled); and the
# simulator's difference in % for goodput, time, retransmissions, segments
# per ACK and peak window. Needs nft, dumpcap and tshark (tools/setup-debian.sh).
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
for t in nft dumpcap tshark; do
  command -v "$t" >/dev/null || { echo "tcp_fidelity: no $t (tools/setup-debian.sh installs it)" >&2; exit 1; }
done

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
# The loss rule's chain (the namespace's own ruleset: removed with it).
ip netns exec "$NS_R" nft add table inet tcp_fidelity
ip netns exec "$NS_R" nft add chain inet tcp_fidelity loss '{ type filter hook forward priority 0; policy accept; }'
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
loss_rule() {  # loss_rule add PERCENT | loss_rule del: drop PERCENT of the TCP forwarded out of r0
  local n
  if [ "$1" = del ]; then ip netns exec "$NS_R" nft flush chain inet tcp_fidelity loss; return; fi
  n=$(awk -v p="$2" 'BEGIN {printf "%d", p * 10 + 0.5}')
  [ "$n" = 0 ] && return 0
  ip netns exec "$NS_R" nft add rule inet tcp_fidelity loss oifname r0 meta l4proto tcp numgen random mod 1000 '<' "$n" drop
}
nstat_of() {  # nstat_of COUNTER: the sender namespace's absolute value
  ip netns exec "$NS_S" nstat -az "$1" 2>/dev/null | awk -v c="$1" '$1 == c {print $2}'
}

# seg_stats PCAP SENDER_IP RECEIVER_IP: a capture on the receiver's interface;
# prints "data_segments_per_ack peak_window_bytes" (the window tshark scales
# with the shift from the handshake, which the capture holds).
seg_stats() {
  [ -s "$1" ] || { echo "failed"; return; }
  tshark -r "$1" -T fields -E separator=' ' -e ip.src -e tcp.len -e tcp.window_size \
    -e tcp.flags.syn -e tcp.flags.fin -e tcp.flags.reset -e tcp.flags.ack 2>/dev/null |
    awk -v s="$2" -v r="$3" '
      $1 == s && $2 > 0 {data++}
      $1 == r && $2 == 0 && $4 == 0 && $5 == 0 && $6 == 0 && $7 == 1 {acks++}
      $1 == r && $3 > win {win = $3}
      END {if (acks == 0) print "failed"; else printf "%.3f %d\n", data / acks, win}'
}

# The twin's hosts take the kernel's own buffer and small-queue settings (a
# namespace starts from the host's values), so a newer kernel's defaults
# (Linux 6.18: tcp_rmem max 32 MiB, tcp_limit_output_bytes 4 MiB) are compared
# like with like.
host_tcp_settings() {
  local rmem wmem lob
  rmem=$(ip netns exec "$NS_C" sysctl -n net.ipv4.tcp_rmem | tr -s '\t ' ' ')
  wmem=$(ip netns exec "$NS_S" sysctl -n net.ipv4.tcp_wmem | tr -s '\t ' ' ')
  lob=$(ip netns exec "$NS_S" sysctl -n net.ipv4.tcp_limit_output_bytes)
  echo "rmem=\"$rmem\" wmem=\"$wmem\" limit-output-bytes=\"$lob\""
}

# linux_run: one transfer; prints "goodput_mbps seconds retrans rtos segs_per_ack peak_window".
linux_run() {
  local r0 t0 out cap=$WORK/linux.pcap cap_pid secs stats
  rm -f "$cap" "$WORK/dumpcap.err"
  ip netns exec "$NS_C" dumpcap -q -P -i c0 -s 128 -w "$cap" 2>"$WORK/dumpcap.err" &
  cap_pid=$!
  for _ in $(seq 50); do grep -q '^Capturing on' "$WORK/dumpcap.err" 2>/dev/null && break; sleep 0.1; done
  r0=$(nstat_of TcpRetransSegs)
  t0=$(nstat_of TcpExtTCPTimeouts)
  out=$(ip netns exec "$NS_C" "$PEER" fetch-bulk --connect 10.1.2.2:5001 --bytes "$BYTES" --chunk "$BYTES" \
    --timeout-ms 60000 --report 2>&1) || { kill -INT "$cap_pid"; wait "$cap_pid"; echo "failed"; return; }
  sleep 0.2 # the last ACKs and the FINs
  kill -INT "$cap_pid"
  wait "$cap_pid"
  stats=$(seg_stats "$cap" 10.1.2.2 10.1.1.2)
  [ "$stats" = failed ] && { echo "failed"; return; }
  secs=$(sed -n 's/^throughput_gbps [0-9.]* seconds \([0-9.]*\)$/\1/p' <<<"$out")
  awk -v b="$BYTES" -v s="$secs" -v r="$(($(nstat_of TcpRetransSegs) - r0))" -v t="$(($(nstat_of TcpExtTCPTimeouts) - t0))" \
    -v st="$stats" 'BEGIN {printf "%.3f %.4f %d %d %s\n", b * 8 / s / 1e6, s, r, t, st}'
}

# sim_run CC SENDER_RATE ROUTER_RATE LOSS SEED: the twin; prints the same six numbers.
sim_run() {
  local cc=$1 srate=$2 rrate=$3 loss=$4 seed=$5 xml="$WORK/twin.xml" stats
  cat >"$xml" <<XML
<scenario name="fidelity">
  <topology>
    <host name="s"><tcp congestion-control="$cc" $HOST_TCP/></host>
    <router name="r"/>
    <host name="c"><tcp $HOST_TCP/></host>
    <link a="s" a-addr="10.1.2.2/24" b="r" b-addr="10.1.2.1/24" rate-ab="$srate" rate-ba="100Mbps"
          delay="0s" queue="0" queue-bytes="65536"/>
    <link a="r" a-addr="10.1.1.1/24" b="c" b-addr="10.1.1.2/24" rate-ab="$rrate" rate-ba="100Mbps"
          delay="0s" queue="0" queue-bytes="65536" loss-ab="$loss%"/>
  </topology>
  <apps>
    <bulk-sink node="c" port="5001"/>
    <bulk-sender node="s" server="10.1.1.2" port="5001" bytes="$BYTES" expect="any"/>
  </apps>
  <outputs pcap="true" trace="false" summary="true"/>
</scenario>
XML
  rm -rf "$WORK/sim"
  "$SIM" "$xml" --seed "$seed" --out "$WORK/sim" --quiet >/dev/null 2>"$WORK/sim.err" || { echo "failed"; return; }
  stats=$(seg_stats "$WORK/sim/c-eth0.pcap" 10.1.2.2 10.1.1.2)
  [ "$stats" = failed ] && { echo "failed"; return; }
  python3 - "$WORK/sim/summary.json" "$BYTES" "$stats" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sink = next(a for a in j["apps"] if a["type"] == "bulk-sink")
secs = (sink["finished_ns"] or j["end_time_ns"]) / 1e9
print("%.3f %.4f %d %d %s" % (int(sys.argv[2]) * 8 / secs / 1e6, secs, j["tcp"]["server_retransmits"] + j["tcp"]["client_retransmits"],
                              j["tcp"]["client_timeouts"] + j["tcp"]["server_timeouts"], sys.argv[3]))
PY
}

# mean: the six columns' means (the peak window in whole bytes).
mean() {
  awk '{for (i = 1; i <= NF; ++i) s[i] += $i; n++}
    END {if (!n) {print "no successful run"; exit}
         for (i = 1; i <= 5; ++i) printf "%.3f ", s[i] / n; printf "%.0f\n", s[6] / n}'
}

HOST_TCP=$(host_tcp_settings)
echo "tcpmig TCP fidelity: $BYTES bytes per transfer, mean of $RUNS, kernel $(uname -r); both hosts' <tcp $HOST_TCP>"
printf '%-7s %-6s %-5s | %-46s | %-46s | %s\n' bneck cc loss "Linux Mbit/s  s  retx  RTOs  segs/ACK  rwnd" \
  "sim Mbit/s  s  retx  RTOs  segs/ACK  rwnd" "sim - Linux: goodput, time, retx, segs/ACK, rwnd"
for where in sender router; do
  if [ $where = sender ]; then srate=50mbit rrate=100mbit; else srate=100mbit rrate=50mbit; fi
  shape $srate $rrate
  for cc in $CCS; do
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_congestion_control="$cc" ||
      { echo "tcp_fidelity: cannot use $cc in a namespace" >&2; exit 1; }
    simcc=$cc
    [ "$cc" = reno ] && simcc=newreno
    for loss in $LOSSES; do
      loss_rule add "$loss"
      linux=$(for ((i = 0; i < RUNS; i++)); do linux_run; done | grep -v failed | mean)
      loss_rule del
      sim=$(for ((i = 1; i <= RUNS; i++)); do sim_run "$simcc" "${srate/mbit/Mbps}" "${rrate/mbit/Mbps}" "$loss" "$i"; done | grep -v failed | mean)
      diff=$(awk -v l="$linux" -v s="$sim" 'function pct(i) {return a[i] > 0 ? (b[i] - a[i]) / a[i] * 100 : 0}
        BEGIN {if (split(l, a, " ") < 6 || split(s, b, " ") < 6) {print "-"; exit}
        printf "%+.1f%% %+.1f%% %+.1f%% %+.1f%% %+.1f%%", pct(1), pct(2), pct(3), pct(5), pct(6)}')
      printf '%-7s %-6s %-5s | %-46s | %-46s | %s\n' $where "$cc" "$loss%" "$linux" "$sim" "$diff"
    done
  done
done
