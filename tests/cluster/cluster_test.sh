#!/bin/bash
# The cluster recipes (tools/cluster/) against the unsharded sweep.
#
#   cluster_test.sh --sweep TCPMIG_SWEEP --source SRC_DIR
#
# A tiny grid (migrate_mid_stream.xml, loss 0 and 1%, 3 and 4 requests, 2
# seeds: 8 runs) is swept three ways, and the merged files must be
# byte-identical to the unsharded sweep's runs.csv, summary.csv, sweep.json:
#
#   parallel  tcpmig-sweep-parallel --shards 3 (GNU parallel, this host); a
#             bad sweep flag makes it exit nonzero
#   slurm     a real one-node Slurm made here: its own munged (own key and
#             socket), slurmctld and slurmd on unusual ports, every file in a
#             temporary directory; tcpmig-sweep-slurm --shards 3 --wait (a job
#             array and a merge job that depends on it); then a bad sweep flag:
#             the shards fail, the merge job is cancelled, --wait exits nonzero
#             and no job is left in the queue
#
# The daemons are stopped and the directory removed on every exit.
# Exit 0: all passed; 1: a check failed; 2: bad usage; 77: not root, or GNU
# parallel / Slurm / MUNGE missing, and CI is unset (with CI set that is a failure).
set -uo pipefail

SWEEP='' SOURCE=''
while [ $# -gt 0 ]; do
  case $1 in
    --sweep) SWEEP=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    *) echo "cluster_test: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$SWEEP" ] || { echo "cluster_test: not an executable: '$SWEEP'" >&2; exit 2; }
[ -d "$SOURCE/tools/cluster" ] || { echo "cluster_test: not the source tree: '$SOURCE'" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../skip_or_fail.sh
. "$(dirname "$0")/../skip_or_fail.sh"

[ "$(id -u)" -eq 0 ] || skip_or_fail "must run as root to start slurmd and munged"
for tool in parallel sbatch squeue sinfo slurmctld slurmd munged mungekey; do
  command -v $tool >/dev/null 2>&1 || skip_or_fail "$tool is not installed (tools/setup-debian.sh installs it)"
done

SWEEP=$(realpath "$SWEEP")
TOOLS=$(realpath "$SOURCE/tools/cluster")
SCENARIO=$(realpath "$SOURCE/scenarios/migrate_mid_stream.xml")
GRID=(--vary "loss=0,1%" --vary "requests=3,4" --seeds 2)
FILES=(runs.csv summary.csv sweep.json)

WORK=$(mktemp -d /tmp/tcpmig-cluster.XXXXXX)
DAEMON_PIDS=()
cleanup() {
  local pid
  for pid in "${DAEMON_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${DAEMON_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

FAILED=0
fail() {
  echo "FAIL: $*" >&2
  FAILED=1
}
# same_as_whole DIR: DIR holds the unsharded sweep's three files, byte for byte.
same_as_whole() {
  local f ok=0
  for f in "${FILES[@]}"; do
    cmp "$WORK/whole/$f" "$1/$f" || ok=1
  done
  return $ok
}
show_logs() {
  local f
  for f in "$@"; do
    [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }
  done
}

echo "== unsharded: $(basename "$SWEEP") migrate_mid_stream.xml ${GRID[*]}"
"$SWEEP" "$SCENARIO" "${GRID[@]}" --out "$WORK/whole" >"$WORK/whole.log" 2>&1 ||
  { show_logs "$WORK/whole.log"; fail "the unsharded sweep exited $?"; exit 1; }
for f in "${FILES[@]}"; do
  [ -s "$WORK/whole/$f" ] || { fail "the unsharded sweep wrote no $f"; exit 1; }
done
# runs.csv: a header and one line per run (2 x 2 points x 2 seeds).
lines=$(wc -l <"$WORK/whole/runs.csv")
[ "$lines" -eq 9 ] || { fail "the unsharded runs.csv has $lines lines, not 9 (a header and 8 runs)"; exit 1; }

echo "== GNU parallel: 3 shards"
if "$TOOLS/tcpmig-sweep-parallel" --shards 3 --jobs 2 --out "$WORK/parallel" --sweep "$SWEEP" \
  -- "$SCENARIO" "${GRID[@]}" >"$WORK/parallel.log" 2>&1; then
  same_as_whole "$WORK/parallel" || fail "parallel: the merged files differ from the unsharded sweep's"
else
  show_logs "$WORK/parallel.log" "$WORK"/parallel/logs/*
  fail "parallel: tcpmig-sweep-parallel failed"
fi
echo "== GNU parallel: a bad sweep flag fails"
if "$TOOLS/tcpmig-sweep-parallel" --shards 3 --out "$WORK/parallel-bad" --sweep "$SWEEP" \
  -- "$SCENARIO" "${GRID[@]}" --no-such-flag >"$WORK/parallel-bad.log" 2>&1; then
  fail "parallel: exit 0 although every shard failed"
fi

# ---- a one-node Slurm in $WORK/slurm
S=$WORK/slurm
mkdir -p "$S/state" "$S/spool"
HOST=$(hostname -s)
# Two free TCP ports for slurmctld and slurmd, away from Slurm's 6817/6818.
port_free() { ! ss -Htln "sport = :$1" | grep -q .; }
CTLD_PORT=''
for _ in $(seq 20); do
  p=$((20000 + RANDOM % 20000))
  if port_free "$p" && port_free $((p + 1)); then CTLD_PORT=$p; break; fi
done
[ -n "$CTLD_PORT" ] || { fail "no two free ports for slurmctld and slurmd"; exit 1; }

# MUNGE: a daemon of our own (key, socket, pid, log and seed under $S), so a
# system munged, if any, is neither needed nor touched.
mungekey --create --keyfile="$S/munge.key" >"$S/mungekey.log" 2>&1 ||
  { show_logs "$S/mungekey.log"; fail "mungekey could not create a key"; exit 1; }
munged --foreground --force --key-file="$S/munge.key" --socket="$S/munge.socket" \
  --pid-file="$S/munged.pid" --log-file="$S/munged.log" --seed-file="$S/munged.seed" \
  >"$S/munged.out" 2>&1 &
DAEMON_PIDS+=($!)
for _ in $(seq 50); do [ -S "$S/munge.socket" ] && break; sleep 0.1; done
[ -S "$S/munge.socket" ] || { show_logs "$S/munged.out" "$S/munged.log"; fail "munged did not start"; exit 1; }

# Everything on 127.0.0.1: the host name need not resolve.
cat >"$S/slurm.conf" <<EOF
ClusterName=tcpmigtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$((CTLD_PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge.socket
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurm_logs() { show_logs "$S/slurmctld.log" "$S/slurmd.log" "$S/munged.log"; }

echo "== Slurm: slurmctld and slurmd on $HOST, ports $CTLD_PORT and $((CTLD_PORT + 1))"
slurmctld -D -i >"$S/slurmctld.out" 2>&1 &
DAEMON_PIDS+=($!)
slurmd -D >"$S/slurmd.out" 2>&1 &
DAEMON_PIDS+=($!)
state=''
for _ in $(seq 150); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
if [ "$state" != idle ]; then
  slurm_logs
  show_logs "$S/slurmctld.out" "$S/slurmd.out"
  fail "the Slurm node is '${state:-not known}' after 30 s, not idle"
  exit 1
fi

echo "== Slurm: 3 shards, a job array and a merge job, --wait"
if "$TOOLS/tcpmig-sweep-slurm" --shards 3 --out "$WORK/slurm-out" --sweep "$SWEEP" --wait \
  -- "$SCENARIO" "${GRID[@]}" >"$WORK/slurm-out.log" 2>&1; then
  cat "$WORK/slurm-out.log"
  same_as_whole "$WORK/slurm-out" || fail "slurm: the merged files differ from the unsharded sweep's"
else
  show_logs "$WORK/slurm-out.log" "$WORK"/slurm-out/logs/*.log
  slurm_logs
  fail "slurm: tcpmig-sweep-slurm --wait failed"
fi

echo "== Slurm: a bad sweep flag fails, and the merge job does not stay queued"
if "$TOOLS/tcpmig-sweep-slurm" --shards 3 --out "$WORK/slurm-bad" --sweep "$SWEEP" --wait \
  -- "$SCENARIO" "${GRID[@]}" --no-such-flag >"$WORK/slurm-bad.log" 2>&1; then
  show_logs "$WORK/slurm-bad.log"
  fail "slurm: --wait exited 0 although every shard failed"
fi
left=$(squeue -h -o '%i %T %r')
[ -z "$left" ] || fail "slurm: jobs left in the queue: $left"

if [ "$FAILED" -ne 0 ]; then
  echo "cluster_test: FAILED" >&2
  exit 1
fi
echo "cluster_test: all passed"
