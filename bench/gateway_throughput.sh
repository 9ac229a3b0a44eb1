#!/bin/bash
# Bulk throughput through a Linux gateway, by hand, as root:
#
#   bench/gateway_throughput.sh [BUILD_DIR]        (default build)
#
# Environment: BYTES (default 1000000000) per transfer, RUNS (default 3; the
# median is shown), CHUNK (default 67108864) bytes per request.
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
#   gateway ...       tcpmig-gateway --queues 1|2, no migration ("before") and
#                     migrated to S2 after the first request ("after")
# The veths keep their default offloads (TSO, GSO, checksum on; GRO off): a
# sender's TSO packets cross the veths whole, so gw forwards packets of up to
# 64 KiB, and NFQUEUE hands them over whole only with NFQA_CFG_F_GSO
# (otherwise it segments them first). The header shows the state it ran with.
# Prints one line per configuration and the ratio gateway-after / best bare loop.
set -uo pipefail

BUILD=${1:-build}
PEER=$BUILD/tests/tcpmig-peer
BARE=$BUILD/bench/tcpmig-nfq-bare
GATEWAY=$BUILD/tools/gateway/tcpmig-gateway
BYTES=${BYTES:-1000000000}
RUNS=${RUNS:-3}
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

# measure LABEL [SETUP_FN TEARDOWN_FN]: RUNS transfers, the median.
declare -A RESULT
NOTE_FILE=
ORDER=()
measure() {
  local label=$1 setup=${2:-} teardown=${3:-} i values=() median servers
  for ((i = 0; i < RUNS; i++)); do
    if [ -n "$setup" ]; then $setup || { values+=(failed); continue; }; fi
    values+=("$(fetch_once)")
    servers=$(grep -o '^from S[12] at offset [0-9]*' "$WORK/fetch.out" | tr '\n' ';')
    if [ -n "$teardown" ]; then $teardown; fi
    [ -n "$NOTE_FILE" ] && [ -s "$NOTE_FILE" ] && servers="$servers $(tail -1 "$NOTE_FILE")"
  done
  median=$(printf '%s\n' "${values[@]}" | grep -v failed | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "failed"}')
  RESULT[$label]=$median
  ORDER+=("$label")
  printf '%-28s %10s Gbit/s   runs: %s   %s\n' "$label" "$median" "${values[*]}" "${servers:-}"
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

echo "tcpmig gateway throughput: one TCP connection, $BYTES bytes per run in $CHUNK-byte requests, median of $RUNS"
echo "kernel $(uname -r), $(nproc) CPUs; gw g0 offloads: $offloads"
echo
measure "kernel forwarding"
if [ -x "$BARE" ]; then
  NOTE_FILE="$WORK/bare.err"
  for BARE_MODE in per-packet batch gso; do measure "nfq-bare $BARE_MODE" bare_start bare_stop; done
  NOTE_FILE=
else
  echo "(no $BARE: libnetfilter_queue was not found at build time)"
fi
if [ -x "$GATEWAY" ]; then
  for GW_QUEUES in 1 2; do
    GW_EXTRA=""
    measure "gateway q$GW_QUEUES before migration" gw_start gw_stop
    GW_EXTRA="--after-requests 1"
    measure "gateway q$GW_QUEUES after migration" gw_start gw_stop
  done
else
  echo "(no $GATEWAY)"
fi

best_bare=0 best_label=
for label in "${ORDER[@]}"; do
  case $label in nfq-bare*) ;; *) continue ;; esac
  v=${RESULT[$label]}
  [ "$v" = failed ] && continue
  if awk -v a="$v" -v b="$best_bare" 'BEGIN {exit !(a > b)}'; then best_bare=$v best_label=$label; fi
done
echo
for q in 1 2; do
  v=${RESULT["gateway q$q after migration"]:-}
  if [ -n "$v" ] && [ "$v" != failed ] && [ -n "$best_label" ]; then
    printf 'gateway q%s after migration / best bare loop (%s): %.2f\n' "$q" "$best_label" \
      "$(awk -v a="$v" -v b="$best_bare" 'BEGIN {print a / b}')"
  fi
done
