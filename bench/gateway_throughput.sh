#!/bin/bash
# Bulk throughput through a Linux gateway, by hand, as root:
#
#   bench/gateway_throughput.sh [BUILD_DIR]        (default build)
#
# Environment: BYTES (default 1000000000) per transfer, RUNS (default 5)
# rounds, CHUNK (default 67108864) bytes per request. A round measures every
# configuration once, in the order below; the figures are the medians over
# the rounds, and the ratios the medians of each round's own ratios (so a
# slow spell of a shared machine does not favour whichever ran first).
#
# Topology (namespaces made and removed here, names carry the PID):
#
#   client 10.0.1.1 --- 10.0.1.254 gw 10.0.2.254 (bridge) --- s1 10.0.2.10 (S1)
#                                                        \--- s2 10.0.2.20 (S2)
# (tests/gateway/netns_topology.sh, shared with the namespace test)
#
# One tcpmig-peer fetch-bulk (one TCP connection, every byte checked) from
# client to S1:80 through gw, which forwards:
#   kernel            plain forwarding, no rule
#   nfq per-packet    tcpmig-nfq-bare, one verdict per packet (GSO packets segmented first)
#   nfq batch         tcpmig-nfq-bare, batched verdicts
#   nfq gso           tcpmig-nfq-bare, batched verdicts + NFQA_CFG_F_GSO
#   nfq mangle        tcpmig-nfq-bare as gso, but every packet's bytes are
#                     handed back with its verdict: what any NFQUEUE loop that
#                     rewrites packets pays at least (the kernel copies the
#                     bytes back into the packet)
#   gateway ...       tcpmig-gateway --queues 1|2, no migration ("before") and
#                     migrated to S2 after the first request ("after")
# The veths keep their default offloads (TSO, GSO, checksum on; GRO off): a
# sender's TSO packets cross the veths whole, so gw forwards packets of up to
# 64 KiB, and NFQUEUE hands them over whole only with NFQA_CFG_F_GSO
# (otherwise it segments them first). The header shows the state it ran with.
# Prints one line per configuration and the ratios gateway-after / best bare
# accept loop, gateway-after / bare mangle loop and mangle / best accept.
set -uo pipefail

BUILD=${1:-build}
PEER=$BUILD/tests/tcpmig-peer
BARE=$BUILD/bench/tcpmig-nfq-bare
GATEWAY=$BUILD/tools/gateway/tcpmig-gateway
BYTES=${BYTES:-1000000000}
RUNS=${RUNS:-5}
CHUNK=${CHUNK:-67108864}
QUEUE=3
HELPER_PID=

[ "$(id -u)" -eq 0 ] || { echo "gateway_throughput: run as root" >&2; exit 1; }
[ -x "$PEER" ] || { echo "gateway_throughput: no $PEER (build the tests)" >&2; exit 1; }

TAG="tb$$"
WORK=$(mktemp -d "/tmp/tcpmig-bench.$$.XXXXXX")
# shellcheck source=../tests/gateway/netns_topology.sh
. "$(dirname "$0")/../tests/gateway/netns_topology.sh"
trap 'topology_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

topology_up || { echo "gateway_throughput: cannot create namespaces: $(cat "$WORK/netns.err")" >&2; exit 1; }
ip netns exec "$NS_S1" "$PEER" serve-bulk --listen 10.0.2.10:80 --name S1 >"$WORK/s1.out" 2>&1 &
ip netns exec "$NS_S2" "$PEER" serve-bulk --listen 10.0.2.20:80 --name S2 >"$WORK/s2.out" 2>&1 &
wait_for "$WORK/s1.out" '^listening' 5 && wait_for "$WORK/s2.out" '^listening' 5 || exit 1

offloads=$(ip netns exec "$NS_G" ethtool -k g0 2>/dev/null |
  awk -F': ' '/^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|tx-checksumming):/ {printf "%s=%s ", $1, $2}')

# One transfer; prints Gbit/s, or "failed".
fetch_once() {
  local out="$WORK/fetch.out"
  if ip netns exec "$NS_C" "$PEER" fetch-bulk --connect 10.0.2.10:80 --bytes "$BYTES" --chunk "$CHUNK" --timeout-ms 20000 \
    --report >"$out" 2>&1; then
    sed -n 's/^throughput_gbps \([0-9.]*\) .*/\1/p' "$out"
  else
    echo "failed: $(tail -1 "$out")" >&2
    echo failed
  fi
}

# once LABEL [SETUP_FN TEARDOWN_FN]: one transfer, its Gbit/s added to
# VALUES[LABEL] (and to ROUND[LABEL] for the ratios of this round).
declare -A VALUES ROUND SERVERS
NOTE_FILE=
once() {
  local label=$1 setup=${2:-} teardown=${3:-} v servers
  if [ -n "$setup" ] && ! $setup; then
    v=failed
  else
    v=$(fetch_once)
    servers=$(grep -o '^from S[12] at offset [0-9]*' "$WORK/fetch.out" | tr '\n' ';')
  fi
  if [ -n "$teardown" ]; then $teardown; fi
  [ -n "$NOTE_FILE" ] && [ -s "$NOTE_FILE" ] && servers="${servers:-} $(tail -1 "$NOTE_FILE")"
  VALUES[$label]="${VALUES[$label]:-} $v"
  ROUND[$label]=$v
  SERVERS[$label]=${servers:-}
}

# median WORDS...: the median of the numbers among them, or "failed".
median() {
  printf '%s\n' "$@" | grep -v -e failed -e '^$' | sort -g |
    awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "failed"}'
}

# NFQUEUE through iptables (xt_NFQUEUE): kernels built without CONFIG_NFT_QUEUE
# have no native nftables `queue` statement.
NFQ_RULE=(FORWARD -p tcp -j NFQUEUE --queue-num $QUEUE)

bare_start() {
  ip netns exec "$NS_G" iptables -A "${NFQ_RULE[@]}" || return 1
  ip netns exec "$NS_G" "$BARE" --queue $QUEUE --mode "$BARE_MODE" >"$WORK/bare.out" 2>"$WORK/bare.err" &
  HELPER_PID=$!
  wait_for "$WORK/bare.out" '^bound' 5
}
bare_stop() {
  kill -TERM "$HELPER_PID" 2>/dev/null
  wait "$HELPER_PID" 2>/dev/null
  HELPER_PID=
  ip netns exec "$NS_G" iptables -D "${NFQ_RULE[@]}"
}

gw_start() {
  rm -f "$WORK/ctl.sock"
  ip netns exec "$NS_G" "$GATEWAY" --queue $QUEUE --queues "$GW_QUEUES" --service 10.0.2.10:80 --migrate-to 10.0.2.20:80 \
    --install-rules --control "$WORK/ctl.sock" $GW_EXTRA >"$WORK/gw.out" 2>"$WORK/gw.err" &
  HELPER_PID=$!
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -le $deadline ]; do
    ip netns exec "$NS_G" "$GATEWAY" ctl --control "$WORK/ctl.sock" status >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "tcpmig-gateway did not start: $(tail -3 "$WORK/gw.err")" >&2
  return 1
}
gw_stop() {
  kill -TERM "$HELPER_PID" 2>/dev/null
  wait "$HELPER_PID" 2>/dev/null
  HELPER_PID=
}

echo "tcpmig gateway throughput: one TCP connection, $BYTES bytes per run in $CHUNK-byte requests, median of $RUNS rounds"
echo "(each round measures every configuration once, so a slow spell of the machine touches all of them alike)"
echo "kernel $(uname -r), $(nproc) CPUs; gw g0 offloads: $offloads"
echo
LABELS=("kernel forwarding")
BARE_MODES=()
if [ -x "$BARE" ]; then
  BARE_MODES=(per-packet batch gso mangle)
  for m in "${BARE_MODES[@]}"; do LABELS+=("nfq-bare $m"); done
else
  echo "(no $BARE: libnetfilter_queue was not found at build time)"
fi
GW_LABELS=()
if [ -x "$GATEWAY" ]; then
  for q in 1 2; do GW_LABELS+=("gateway q$q before migration" "gateway q$q after migration"); done
  LABELS+=("${GW_LABELS[@]}")
else
  echo "(no $GATEWAY)"
fi

# ratio A B: A / B to two places, or nothing when either failed.
ratio() {
  [ -n "$1" ] && [ -n "$2" ] && [ "$1" != failed ] && [ "$2" != failed ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
}
# best_accept: the best bare accept loop of this round (the label).
best_accept() {
  local best=0 label= m v
  for m in per-packet batch gso; do
    v=${ROUND["nfq-bare $m"]:-failed}
    [ "$v" = failed ] && continue
    if awk -v a="$v" -v b="$best" 'BEGIN {exit !(a > b)}'; then best=$v label="nfq-bare $m"; fi
  done
  echo "$label"
}

declare -A RATIO  # per-round ratios, space-separated
for ((round = 0; round < RUNS; round++)); do
  ROUND=()
  once "kernel forwarding"
  NOTE_FILE="$WORK/bare.err"
  for BARE_MODE in "${BARE_MODES[@]}"; do once "nfq-bare $BARE_MODE" bare_start bare_stop; done
  NOTE_FILE=
  if [ ${#GW_LABELS[@]} -gt 0 ]; then
    for GW_QUEUES in 1 2; do
      GW_EXTRA=""
      once "gateway q$GW_QUEUES before migration" gw_start gw_stop
      GW_EXTRA="--after-requests 1"
      once "gateway q$GW_QUEUES after migration" gw_start gw_stop
    done
  fi
  best=$(best_accept)
  if [ -n "$best" ]; then
    for q in 1 2; do
      RATIO["q$q/accept"]="${RATIO["q$q/accept"]:-} $(ratio "${ROUND["gateway q$q after migration"]:-}" "${ROUND[$best]}")"
      RATIO["q$q/mangle"]="${RATIO["q$q/mangle"]:-} $(ratio "${ROUND["gateway q$q after migration"]:-}" "${ROUND["nfq-bare mangle"]:-}")"
    done
    RATIO["mangle/accept"]="${RATIO["mangle/accept"]:-} $(ratio "${ROUND["nfq-bare mangle"]:-}" "${ROUND[$best]}")"
  fi
done

for label in "${LABELS[@]}"; do
  # shellcheck disable=SC2086
  printf '%-28s %10s Gbit/s   runs:%s   %s\n' "$label" "$(median ${VALUES[$label]})" "${VALUES[$label]}" "${SERVERS[$label]:-}"
done
echo
echo "ratios, the median of the rounds' (each round against its own best bare accept loop):"
show_ratio() {
  # shellcheck disable=SC2086
  [ -n "${RATIO[$2]:-}" ] && printf '  %-58s %s   rounds:%s\n' "$1" "$(median ${RATIO[$2]})" "${RATIO[$2]}"
}
show_ratio "gateway q1 after migration / best bare accept loop" q1/accept
show_ratio "gateway q2 after migration / best bare accept loop" q2/accept
show_ratio "gateway q1 after migration / bare mangle loop" q1/mangle
show_ratio "gateway q2 after migration / bare mangle loop" q2/mangle
show_ratio "bare mangle loop / best bare accept loop" mangle/accept
exit 0
