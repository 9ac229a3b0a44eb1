#!/bin/bash
# tcpmig-gateway on real Linux: network namespaces, veths, nftables, NFQUEUE.
#
#   netns_test.sh --peer TCPMIG_PEER --gateway TCPMIG_GATEWAY --sim TCPMIG_SIM --source SRC_DIR [CASE...]
#
# Topology (made and removed here; names carry this shell's PID):
#
#   client 10.0.1.1 --- 10.0.1.254 gw 10.0.2.254 (bridge) --- s1 10.0.2.10
#                                                         \--- s2 10.0.2.20
#
# ip_forward=1 in gw, default sysctls elsewhere, offloads left on. The service
# is 10.0.2.10:80; tcpmig-peer plays client and servers. Cases (all by default):
#
#   forward   plain kernel forwarding, no gateway: replies and 50 MB byte-exact
#   seed      10 requests, migration after the 2nd to a server 2 that
#             --on-trigger starts; 2 replies from S1, 8 from S2; record completed;
#             rules present while running, none left after SIGTERM
#   bulk      50 MB download migrated by `ctl migrate all` while it runs, byte-exact
#   lossy     the same with 2% random loss in gw (nftables numgen, own table)
#   back      S1 -> S2 -> S1 by two ctl commands; two completed records
#   refused   target without a listener: migration aborts, flow stays on S1
#   kill9     kill -9 of the gateway before any migration: the connection goes on
#   sim       the seed case in tcpmig-sim and through tcpmig-gateway agree
#   control   ctl flows / stats prometheus / a bad command / cancel of an armed
#             migration: the flow stays on S1, the record says cancelled
#   queues    --queues 2: twelve clients at once, each migrated after its 2nd
#             request; every flow's packets meet one worker both ways, and
#             both workers carry flows
#   hookfail  an --on-trigger command that fails: target down, the migration
#             ends aborted-target-down, every reply from S1
# The seed case also writes --pcap, which tshark must read without a bad
# checksum or malformed packet (tests/check_pcaps.sh).
#
# Exit 0: all passed; 1: a case failed (its logs are printed); 77: network
# namespaces are not available and CI is unset (with CI set that is a failure).
set -uo pipefail

PEER= GATEWAY= SIM= SOURCE=
while [ $# -gt 0 ]; do
  case $1 in
    --peer) PEER=$2; shift 2 ;;
    --gateway) GATEWAY=$2; shift 2 ;;
    --sim) SIM=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "netns_test: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
CASES=("$@")
[ ${#CASES[@]} -eq 0 ] && CASES=(forward seed bulk lossy back refused kill9 sim control queues hookfail)

# shellcheck source-path=SCRIPTDIR source=../skip_or_fail.sh
. "$(dirname "$0")/../skip_or_fail.sh"

[ "$(id -u)" -eq 0 ] || skip_or_fail "must run as root to create network namespaces"
for tool in ip nft iptables-save python3 tshark; do
  command -v $tool >/dev/null 2>&1 || skip_or_fail "$tool is not installed (tools/setup-debian.sh installs it)"
done
for f in "$PEER" "$SIM"; do
  [ -x "$f" ] || { echo "netns_test: not an executable: '$f'" >&2; exit 2; }
done

TAG="tm$$"
WORK=$(mktemp -d "/tmp/tcpmig-netns.$$.XXXXXX")
# shellcheck source=netns_topology.sh
. "$(dirname "$0")/netns_topology.sh"
SERVICE=10.0.2.10:80
S1_ADDR=10.0.2.10:80
S2_ADDR=10.0.2.20:80
QUEUE=7
CTL="$WORK/control.sock"
GW_PID=
FAILED_CASES=()

# ---- cleanup -----------------------------------------------------------------
cleanup() {
  topology_down
  if [ -n "${KEEP_WORK:-}" ]; then echo "netns_test: outputs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "netns_test: interrupted" >&2; exit 130' INT TERM

# ---- helpers -------------------------------------------------------------------
# fail MESSAGE: prints it and every output of the current case ($WORK/<case>.*).
fail() {
  echo "FAIL [$CASE]: $*" >&2
  local f
  for f in "$WORK/$CASE".*; do
    [ -f "$f" ] || continue
    echo "---- $(basename "$f") (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
  return 1
}
log_file() { local f="$WORK/$CASE.$1"; : >"$f"; echo "$f"; }

# start_server NS KIND ADDR NAME: a tcpmig-peer server, waiting until it listens.
start_server() {
  local ns=$1 kind=$2 addr=$3 name=$4 out
  out=$(log_file "$name.out")
  ip netns exec "$ns" "$PEER" "$kind" --listen "$addr" --name "$name" >"$out" 2>&1 &
  wait_for "$out" '^listening' 5 || return 1
}

# start_gateway ARGS...: tcpmig-gateway in gw with the common flags, waiting
# until its control socket answers.
start_gateway() {
  GW_LOG=$(log_file gateway.log)
  GW_RECORDS="$WORK/$CASE.records"
  rm -f "$CTL" "$GW_RECORDS"
  ip netns exec "$NS_G" "$GATEWAY" --queue $QUEUE --service $SERVICE --install-rules \
    --control "$CTL" --records "$GW_RECORDS" "$@" >>"$GW_LOG" 2>&1 &
  GW_PID=$!
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -le $deadline ]; do
    kill -0 $GW_PID 2>/dev/null || { fail "tcpmig-gateway exited at start"; return 1; }
    ctl status >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "tcpmig-gateway's control socket never answered"
}

# gw_rules: gw's packet filter rules, nftables and iptables views.
# (Always status 0: callers grep its output, under pipefail.)
gw_rules() { { ip netns exec "$NS_G" nft list ruleset; ip netns exec "$NS_G" iptables-save; } 2>/dev/null || true; }

ctl() { ip netns exec "$NS_G" "$GATEWAY" ctl --control "$CTL" "$@"; }

# stop_gateway: SIGTERM, expect exit 0 and no tcpmig rule left in gw.
stop_gateway() {
  [ -n "$GW_PID" ] || return 0
  kill -TERM $GW_PID 2>/dev/null
  local rc
  wait $GW_PID
  rc=$?
  GW_PID=
  [ $rc -eq 0 ] || { fail "tcpmig-gateway exited $rc after SIGTERM"; return 1; }
  if gw_rules | grep -i tcpmig >/dev/null; then
    fail "rules left after SIGTERM: $(gw_rules)"
    return 1
  fi
}

# records_check JSON_LINES PYTHON_EXPR: the migration records (one JSON object
# per line, or one JSON array) as `r`, a list; the expression must be true.
records_check() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1]).read().strip()
r = []
if text.startswith('['):
    r = json.loads(text)
else:
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        obj = json.loads(line)
        if isinstance(obj, dict) and isinstance(obj.get("records"), list):
            r.extend(obj["records"])
        elif isinstance(obj, list):
            r.extend(obj)
        else:
            r.append(obj)
ok = eval(sys.argv[2], {"r": r})
if not ok:
    print("records check failed: %s\nrecords: %s" % (sys.argv[2], json.dumps(r, indent=1)), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# The record file the gateway writes, else what `ctl records` answers.
records_text() {
  local out="$WORK/$CASE.records.json"
  if [ -s "$GW_RECORDS" ]; then cp "$GW_RECORDS" "$out"; else ctl records >"$out" 2>&1; fi
  echo "$out"
}

# wait_records PYTHON_EXPR SECONDS: until `ctl records` satisfies the expression.
wait_records() {
  local deadline=$((SECONDS + $2)) f="$WORK/$CASE.ctl-records.json"
  while [ $SECONDS -le $deadline ]; do
    ctl records >"$f" 2>&1 && records_check "$f" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "ctl records never satisfied: $1"
}

# replies FILE: the server names of the reply lines, one per line.
reply_servers() { sed -n 's/^reply [0-9]* from //p' "$1"; }
# runs FILE: the servers in reply order with repeats collapsed: "S1 S2 S1".
reply_runs() { reply_servers "$1" | uniq | tr '\n' ' ' | sed 's/ $//'; }

# ---- cases -----------------------------------------------------------------------

case_forward() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_server "$NS_S2" serve-bulk $S2_ADDR B2 || return 1
  local out bulk
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 5 >"$out" 2>&1 || { fail "request client failed"; return 1; }
  [ "$(reply_servers "$out" | tr '\n' ' ')" = "S1 S1 S1 S1 S1 " ] || { fail "expected 5 replies from S1"; return 1; }
  bulk=$(log_file bulk.out)
  ip netns exec "$NS_C" "$PEER" fetch-bulk --connect $S2_ADDR --bytes 50000000 >"$bulk" 2>&1 || { fail "bulk fetch failed"; return 1; }
  grep -q "^bytes 50000000 chunks 48 checksum $(expected_checksum 50000000)\$" "$bulk" || { fail "bulk summary wrong"; return 1; }
  # The server saw the client's own address: no NAT on the way.
  grep -q "connection from 10.0.1.1:" "$WORK/$CASE.B2.out" || { fail "server did not see 10.0.1.1"; return 1; }
}

expected_checksum() { "$PEER" checksum --bytes "$1" | sed -n 's/^bytes [0-9]* checksum //p'; }

# The on-trigger command of the seed case: start server 2 in s2 and return once it listens.
write_on_trigger() {
  local script="$WORK/start-s2.sh" out="$WORK/$CASE.S2.out"
  cat >"$script" <<EOF
#!/bin/sh
: >"$out"
ip netns exec "$NS_S2" "$PEER" serve --listen $S2_ADDR --name S2 >"$out" 2>&1 </dev/null &
i=0
while ! grep -q '^listening' "$out"; do
  i=\$((i + 1)); [ \$i -gt 100 ] && exit 1
  sleep 0.05
done
echo "on-trigger: S2 listening" >&2
EOF
  chmod +x "$script"
  echo "$script"
}

# The seed experiment through tcpmig-gateway; leaves the client's output in
# $WORK/<case>.client.out and the records in $WORK/<case>.records.json.
run_seed() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  if [ -n "$(ip netns exec "$NS_S2" ss -Htln 2>/dev/null)" ]; then fail "something already listens in s2"; return 1; fi
  local trigger out
  trigger=$(write_on_trigger)
  mkdir -p "$WORK/pcap-$CASE"
  start_gateway --migrate-to $S2_ADDR --after-requests 2 --on-trigger "$trigger" --pcap "$WORK/pcap-$CASE/gateway.pcap" || return 1
  # While running, the gateway's rules are in place.
  gw_rules | grep -i tcpmig >/dev/null || { fail "no tcpmig rule in gw while running"; return 1; }
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 10 --interval-ms 100 --timeout-ms 5000 >"$out" 2>&1 ||
    { fail "request client failed"; return 1; }
  local expected
  expected=$(printf 'reply %s from S1\n' 1 2; printf 'reply %s from S2\n' 1 2 3 4 5 6 7 8)
  [ "$(grep '^reply' "$out")" = "$expected" ] || { fail "replies differ from: $expected"; return 1; }
  local rec
  rec=$(records_text)
  records_check "$rec" 'len(r) == 1 and r[0]["outcome"] == "completed" and r[0]["from"] == "10.0.2.10:80" and r[0]["to"] == "10.0.2.20:80"' ||
    { fail "expected one completed migration 10.0.2.10:80 -> 10.0.2.20:80"; return 1; }
  stop_gateway || return 1
  # What left the gateway, as Wireshark would show it: every packet, checksums right.
  sh "$SOURCE/tests/check_pcaps.sh" "$WORK/pcap-$CASE" >"$WORK/$CASE.tshark" 2>&1 ||
    { fail "tshark found problems in the gateway's pcap"; return 1; }
  [ "$(tshark -r "$WORK/pcap-$CASE/gateway.pcap" -n 2>/dev/null | wc -l)" -ge 30 ] ||
    { fail "the gateway's pcap has fewer packets than the exchange"; return 1; }
}

case_seed() { run_seed; }

# bulk_case LOSS: 50 MB in 1 MiB chunks, migrated by `ctl migrate all` once the
# first chunk from S1 arrived; byte-exact, and both servers served part of it.
# gw sends to the client at 200 Mbit/s (tbf), so the transfer lasts about 2 s
# and the migration lands in the middle of it.
bulk_case() {
  local loss=$1 out pid rc
  start_server "$NS_S1" serve-bulk $S1_ADDR S1 || return 1
  start_server "$NS_S2" serve-bulk $S2_ADDR S2 || return 1
  if [ "$loss" -gt 0 ]; then
    ip netns exec "$NS_G" nft -f - <<EOF || { fail "cannot install the loss table"; return 1; }
table inet netns_test_loss {
  chain forward { type filter hook forward priority -300; policy accept; numgen random mod 100 < $loss counter drop; }
}
EOF
  fi
  ip netns exec "$NS_G" tc qdisc add dev g0 root tbf rate 200mbit burst 256kb latency 100ms ||
    { fail "cannot rate-limit g0"; return 1; }
  start_gateway --migrate-to $S2_ADDR || return 1
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" fetch-bulk --connect $SERVICE --bytes 50000000 --timeout-ms 20000 --report >"$out" 2>&1 &
  pid=$!
  wait_for "$out" '^from S1 at offset 0$' 10 || { fail "no data from S1"; return 1; }
  ctl migrate all $S2_ADDR >"$WORK/$CASE.ctl.out" 2>&1 || { fail "ctl migrate failed"; return 1; }
  wait $pid
  rc=$?
  local dropped=0
  if [ "$loss" -gt 0 ]; then
    dropped=$(ip netns exec "$NS_G" nft list table inet netns_test_loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ip netns exec "$NS_G" nft delete table inet netns_test_loss
    [ "${dropped:-0}" -gt 0 ] || { fail "the loss rule dropped nothing"; return 1; }
  fi
  [ $rc -eq 0 ] || { fail "bulk fetch failed"; return 1; }
  grep -q "^bytes 50000000 chunks 48 checksum $(expected_checksum 50000000)\$" "$out" || { fail "bulk summary wrong"; return 1; }
  local at
  at=$(sed -n 's/^from S2 at offset \([0-9]*\)$/\1/p' "$out")
  [ -n "$at" ] && [ "$at" -gt 0 ] && [ "$at" -lt 50000000 ] || { fail "the transfer did not move to S2 mid-stream"; return 1; }
  [ "$(grep -c '^from ' "$out")" -eq 2 ] || { fail "expected exactly one switch S1 -> S2"; return 1; }
  local note=""
  [ "$loss" -gt 0 ] && note="; the loss rule dropped $dropped packets"
  echo "  [$CASE] moved to S2 at offset $at; $(grep throughput "$out")$note"
  records_check "$(records_text)" 'len(r) == 1 and r[0]["outcome"] == "completed"' || { fail "expected one completed migration"; return 1; }
  stop_gateway || return 1
}

case_bulk() { bulk_case 0; }
case_lossy() { bulk_case 2; }

case_back() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_server "$NS_S2" serve $S2_ADDR S2 || return 1
  start_gateway --migrate-to $S2_ADDR || return 1
  local out pid client
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 30 --interval-ms 50 --timeout-ms 5000 >"$out" 2>&1 &
  pid=$!
  wait_for "$out" '^reply 3 from S1$' 10 || { fail "no third reply from S1"; return 1; }
  client=$(sed -n 's/^connected \([0-9.:]*\) -> .*/\1/p' "$out")
  ctl migrate all $S2_ADDR >>"$WORK/$CASE.ctl.out" 2>&1 || { fail "ctl migrate all failed"; return 1; }
  wait_records 'len(r) == 1 and r[0]["outcome"] == "completed"' 10 || return 1
  wait_for "$out" '^reply 3 from S2$' 10 || { fail "no third reply from S2"; return 1; }
  ctl migrate "$client" $S1_ADDR >>"$WORK/$CASE.ctl.out" 2>&1 || { fail "ctl migrate $client failed"; return 1; }
  wait $pid || { fail "request client failed"; return 1; }
  [ "$(reply_runs "$out")" = "S1 S2 S1" ] || { fail "reply servers: '$(reply_runs "$out")', expected 'S1 S2 S1'"; return 1; }
  [ "$(grep -c '^reply' "$out")" -eq 30 ] || { fail "expected 30 replies"; return 1; }
  records_check "$(records_text)" 'len(r) == 2 and all(x["outcome"] == "completed" for x in r) and r[0]["to"] == "10.0.2.20:80" and r[1]["to"] == "10.0.2.10:80"' ||
    { fail "expected two completed migrations, to S2 and back"; return 1; }
  stop_gateway || return 1
}

case_refused() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  # s2 exists and answers, but nothing listens on port 80: its kernel sends a RST.
  start_gateway --migrate-to $S2_ADDR --after-requests 2 || return 1
  local out
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 10 --interval-ms 50 >"$out" 2>&1 || { fail "request client failed"; return 1; }
  [ "$(reply_runs "$out")" = "S1" ] && [ "$(grep -c '^reply' "$out")" -eq 10 ] || { fail "expected 10 replies, all from S1"; return 1; }
  grep -q '^reply 10 from S1$' "$out" || { fail "S1 did not see all 10 requests on one connection"; return 1; }
  records_check "$(records_text)" 'len(r) == 1 and r[0]["outcome"].startswith("aborted")' || { fail "expected one aborted migration"; return 1; }
  stop_gateway || return 1
}

case_control() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_server "$NS_S2" serve $S2_ADDR S2 || return 1
  start_gateway --migrate-to $S2_ADDR --after-requests 6 || return 1
  local out pid f="$WORK/$CASE.ctl.out"
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 10 --interval-ms 200 --timeout-ms 5000 >"$out" 2>&1 &
  pid=$!
  wait_for "$out" '^reply 2 from S1$' 10 || { fail "no second reply from S1"; return 1; }
  ctl flows >"$f" 2>&1 || { fail "ctl flows failed"; return 1; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["flows"]; assert d["ok"] and d["total"]==1 and f[0]["state"]=="armed" and f[0]["backend"]=="10.0.2.10:80" and f[0]["requests"]>=2, d' "$f" ||
    { fail "ctl flows: expected one armed flow on 10.0.2.10:80"; return 1; }
  ctl stats prometheus >"$f" 2>&1 || { fail "ctl stats prometheus failed"; return 1; }
  grep -q '^tcpmig_gateway_flows_by_state{state="armed"} 1$' "$f" && grep -q '^tcpmig_gateway_rules 1$' "$f" ||
    { fail "stats prometheus: expected one armed flow and one rule"; return 1; }
  # A bad command is an error reply (exit 1) and changes nothing.
  if ctl migrate all nowhere >"$f" 2>&1; then fail "ctl accepted 'migrate all nowhere'"; return 1; fi
  grep -q '"ok":false' "$f" || { fail "no error reply for a bad command"; return 1; }
  if ctl cancel 99 >"$f" 2>&1; then fail "ctl accepted 'cancel 99'"; return 1; fi
  # Request 0 is the --after-requests rule (the gateway's numbering, mapped to each worker's core).
  ctl cancel 0 >"$f" 2>&1 || { fail "ctl cancel 0 failed"; return 1; }
  grep -Eq '"migrations":1[,}]' "$f" && grep -q '"rule":true' "$f" || { fail "cancel: expected one migration and the rule ended"; return 1; }
  wait $pid || { fail "request client failed"; return 1; }
  [ "$(reply_runs "$out")" = "S1" ] && grep -q '^reply 10 from S1$' "$out" || { fail "expected all 10 replies from S1 on one connection"; return 1; }
  records_check "$(records_text)" 'len(r) == 1 and r[0]["outcome"] == "cancelled"' || { fail "expected one cancelled record"; return 1; }
  stop_gateway || return 1
}

case_queues() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_server "$NS_S2" serve $S2_ADDR S2 || return 1
  start_gateway --queues 2 --migrate-to $S2_ADDR --after-requests 2 || return 1
  local i pids=() out n=12
  for i in $(seq $n); do
    out=$(log_file client$i.out)
    ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 8 --interval-ms 50 --timeout-ms 5000 >"$out" 2>&1 &
    pids+=($!)
  done
  for i in $(seq $n); do
    wait "${pids[$((i - 1))]}" || { fail "client $i failed"; return 1; }
    out="$WORK/$CASE.client$i.out"
    [ "$(reply_runs "$out")" = "S1 S2" ] && [ "$(reply_servers "$out" | grep -c S1)" -eq 2 ] &&
      grep -q '^reply 6 from S2$' "$out" || { fail "client $i: expected 2 replies from S1, then 6 from S2"; return 1; }
  done
  records_check "$(records_text)" 'len(r) == 12 and all(x["outcome"] == "completed" for x in r) and len({x["client"] for x in r}) == 12' ||
    { fail "expected twelve completed migrations, one per client"; return 1; }
  # Both workers carried flows (all twelve on one queue: about 1 in 2,000).
  ctl flows >"$WORK/$CASE.flows" 2>&1 &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {f["queue"] for f in d["flows"]} == {7, 8}, d' "$WORK/$CASE.flows" ||
    { fail "ctl flows: expected flows on queues 7 and 8"; return 1; }
  ctl status >"$WORK/$CASE.status" 2>&1 && grep -q '"queues":\[7,8\]' "$WORK/$CASE.status" ||
    { fail "status does not list queues 7 and 8"; return 1; }
  stop_gateway || return 1
}

case_hookfail() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_gateway --migrate-to $S2_ADDR --after-requests 2 --on-trigger "exit 3" || return 1
  local out
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 10 --interval-ms 100 --timeout-ms 5000 >"$out" 2>&1 ||
    { fail "request client failed"; return 1; }
  [ "$(reply_runs "$out")" = "S1" ] && grep -q '^reply 10 from S1$' "$out" || { fail "expected all 10 replies from S1"; return 1; }
  records_check "$(records_text)" 'len(r) == 1 and r[0]["outcome"] == "aborted-target-down"' ||
    { fail "expected one aborted-target-down record"; return 1; }
  grep -q 'failed (exit 3): target down' "$GW_LOG" || { fail "the log does not say the hook failed"; return 1; }
  stop_gateway || return 1
}

case_kill9() {
  start_server "$NS_S1" serve $S1_ADDR S1 || return 1
  start_gateway --migrate-to $S2_ADDR || return 1
  local out pid
  out=$(log_file client.out)
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 20 --interval-ms 50 --timeout-ms 5000 >"$out" 2>&1 &
  pid=$!
  wait_for "$out" '^reply 3 from S1$' 10 || { fail "no third reply"; return 1; }
  kill -KILL $GW_PID
  wait $GW_PID 2>/dev/null
  GW_PID=
  wait $pid || { fail "the connection broke after kill -9 of the gateway"; return 1; }
  [ "$(grep -c '^reply' "$out")" -eq 20 ] && grep -q '^reply 20 from S1$' "$out" || { fail "expected 20 replies from S1"; return 1; }
  # A new connection works too.
  ip netns exec "$NS_C" "$PEER" request --connect $SERVICE --count 2 >>"$out" 2>&1 || { fail "a new connection failed after kill -9"; return 1; }
  # The program could not clean up; remove what it left (an nft table
  # tcpmig_q<N>, or with iptables a chain TCPMIG_Q<N> in mangle).
  local table chain
  for table in $(ip netns exec "$NS_G" nft list tables | sed -n 's/^table \(.*tcpmig.*\)/\1/p' | tr ' ' ':'); do
    echo "  [$CASE] removing the table the killed gateway left: ${table/:/ }"
    ip netns exec "$NS_G" nft delete table ${table/:/ }
  done
  for chain in $(ip netns exec "$NS_G" iptables -t mangle -S 2>/dev/null | sed -n 's/^-N \(TCPMIG.*\)/\1/p'); do
    echo "  [$CASE] removing the iptables chain the killed gateway left: mangle $chain"
    ip netns exec "$NS_G" iptables -t mangle -D PREROUTING -p tcp -j "$chain"
    ip netns exec "$NS_G" iptables -t mangle -F "$chain"
    ip netns exec "$NS_G" iptables -t mangle -X "$chain"
  done
  ! gw_rules | grep -i tcpmig >/dev/null || { fail "tcpmig rules still there"; return 1; }
}

case_sim() {
  local simout="$WORK/sim" simstdout
  simstdout=$(log_file sim.stdout)
  "$SIM" "$SOURCE/scenarios/migrate_mid_stream.xml" --out "$simout" --no-pcap >"$simstdout" 2>&1 ||
    { fail "tcpmig-sim failed"; return 1; }
  run_seed || return 1
  # The client's view: which server answered each request, in order.
  local sim_seq real_seq
  sim_seq=$(sed -n "s/.* client received: Hello, I'm Server \([0-9]*\)\$/S\1/p" "$simstdout" | tr '\n' ' ')
  real_seq=$(reply_servers "$WORK/$CASE.client.out" | tr '\n' ' ')
  [ "$sim_seq" = "S1 S1 S2 S2 S2 S2 S2 S2 S2 S2 " ] || { fail "tcpmig-sim's client saw '$sim_seq'"; return 1; }
  [ "$sim_seq" = "$real_seq" ] || { fail "simulated '$sim_seq' and real '$real_seq' differ"; return 1; }
  # The two migration records agree where both are meaningful.
  python3 - "$simout/summary.json" "$WORK/$CASE.records.json" <<'EOF' || { fail "records differ"; return 1; }
import json, sys
sim = json.load(open(sys.argv[1]))["migrations"]
text = open(sys.argv[2]).read().strip()
real = json.loads(text) if text.startswith('[') else [json.loads(l) for l in text.splitlines() if l.strip()]
if isinstance(real, dict):
    real = real.get("records", [real])
assert len(sim) == 1 and len(real) == 1, (len(sim), len(real))
for key in ("outcome", "syn_sent", "held"):
    print("  [sim] %-8s sim %-10s gateway %s" % (key, sim[0][key], real[0][key]))
    assert sim[0][key] == real[0][key], key
EOF
}

# ---- main ------------------------------------------------------------------------
if [ -z "$GATEWAY" ] || [ ! -x "$GATEWAY" ]; then
  for c in "${CASES[@]}"; do
    [ "$c" = forward ] || { echo "netns_test: case $c needs --gateway (tcpmig-gateway)" >&2; exit 2; }
  done
fi
topology_up || skip_or_fail "cannot create network namespaces: $(cat "$WORK/netns.err")"
start=$SECONDS
for CASE in "${CASES[@]}"; do
  if ! declare -F "case_$CASE" >/dev/null; then echo "netns_test: unknown case $CASE" >&2; exit 2; fi
  t0=$SECONDS
  if "case_$CASE"; then
    echo "ok   $CASE ($((SECONDS - t0)) s)"
  else
    echo "FAIL $CASE ($((SECONDS - t0)) s)"
    FAILED_CASES+=("$CASE")
  fi
  # Whatever the outcome: the gateway and every peer of this case are gone.
  if [ -n "$GW_PID" ]; then kill -TERM "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; GW_PID=; fi
  ns_stop "$NS_C" "$NS_S1" "$NS_S2"
  ip netns exec "$NS_G" tc qdisc del dev g0 root 2>/dev/null
  for t in $(ip netns exec "$NS_G" nft list tables | sed 's/^table //' | tr ' ' ':'); do ip netns exec "$NS_G" nft delete table ${t/:/ }; done
done
echo "netns_test: ${#CASES[@]} cases in $((SECONDS - start)) s, ${#FAILED_CASES[@]} failed ${FAILED_CASES[*]:-}"
[ ${#FAILED_CASES[@]} -eq 0 ]
