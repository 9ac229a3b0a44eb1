# Sourced by tests/gateway/netns_test.sh and bench/gateway_throughput.sh: the
# namespace topology both use, its removal and a wait helper. Bash.
#
#   client 10.0.1.1 --- 10.0.1.254 gw 10.0.2.254 (bridge br0) --- s1 10.0.2.10
#                                                             \--- s2 10.0.2.20
#
# The caller sets TAG (unique: carry the PID) and WORK (a directory it owns).
# Namespace names: $NS_C $NS_G $NS_S1 $NS_S2. ip_forward=1 in gw only; other
# sysctls and the veths' offloads are left at their defaults.

NS_C="$TAG-client" NS_G="$TAG-gw" NS_S1="$TAG-s1" NS_S2="$TAG-s2"
ALL_NS=("$NS_C" "$NS_G" "$NS_S1" "$NS_S2")

# topology_up: returns 1 (with the reason in $WORK/netns.err) when the
# namespaces cannot be made; any later failure exits.
topology_up() {
  local ns link
  for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns" 2>"$WORK/netns.err" || return 1
    ip netns exec "$ns" ip link set lo up 2>>"$WORK/netns.err" || return 1
  done
  (
    set -e
    ip link add c0 netns "$NS_C" type veth peer name g0 netns "$NS_G"
    ip link add eth0 netns "$NS_S1" type veth peer name p1 netns "$NS_G"
    ip link add eth0 netns "$NS_S2" type veth peer name p2 netns "$NS_G"
    ip netns exec "$NS_G" ip link add br0 type bridge
    ip netns exec "$NS_G" ip link set p1 master br0
    ip netns exec "$NS_G" ip link set p2 master br0
    ip netns exec "$NS_C" ip addr add 10.0.1.1/24 dev c0
    ip netns exec "$NS_G" ip addr add 10.0.1.254/24 dev g0
    ip netns exec "$NS_G" ip addr add 10.0.2.254/24 dev br0
    ip netns exec "$NS_S1" ip addr add 10.0.2.10/24 dev eth0
    ip netns exec "$NS_S2" ip addr add 10.0.2.20/24 dev eth0
    for link in "$NS_C c0" "$NS_G g0" "$NS_G p1" "$NS_G p2" "$NS_G br0" "$NS_S1 eth0" "$NS_S2 eth0"; do
      ip netns exec "${link% *}" ip link set "${link#* }" up
    done
    ip netns exec "$NS_C" ip route add default via 10.0.1.254
    ip netns exec "$NS_S1" ip route add default via 10.0.2.254
    ip netns exec "$NS_S2" ip route add default via 10.0.2.254
    ip netns exec "$NS_G" sysctl -qw net.ipv4.ip_forward=1
  ) || { echo "topology: setting up the links failed" >&2; exit 1; }
}

# ns_stop NS...: SIGTERM to every process in those namespaces (only ours: the
# names are unique to this run), SIGKILL after 3 s to what is left.
ns_stop() {
  local ns pid deadline=$((SECONDS + 3))
  for ns in "$@"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
  done
  for ns in "$@"; do
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -le $deadline ]; do sleep 0.05; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
}

# topology_down: stops what runs in the namespaces and removes them.
topology_down() {
  local ns existing=()
  for ns in "${ALL_NS[@]}"; do
    ip netns list 2>/dev/null | grep "^$ns\b" >/dev/null && existing+=("$ns")
  done
  [ ${#existing[@]} -gt 0 ] || return 0
  ns_stop "${existing[@]}"
  wait 2>/dev/null
  for ns in "${existing[@]}"; do ip netns del "$ns" 2>/dev/null; done
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches.
wait_for() {
  local file=$1 regex=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -le $deadline ]; do
    grep -Eq "$regex" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out after $3 s waiting for /$regex/ in $file" >&2
  return 1
}
