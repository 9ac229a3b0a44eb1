#!/bin/bash
# tcpmig-sweep from the command line. Usage: cli_test.sh TCPMIG_SWEEP SOURCE_DIR OUT_DIR
#   - the same sweep with --jobs 1 and --jobs 2: byte-identical files
#   - shards 1/3, 2/3, 3/3 merged (in any order): the unsharded files
#   - every flag's bad input: exit 2, one line on stderr naming the problem, no output folder
#   - bad merges (missing, repeated shard; not a shard folder): exit 2
#   - a range with units and a --set that switches the trigger kind; --vary before the scenario
set -u
sweep=$1
src=$2
out=$3
scenario=$src/scenarios/sweep_migration_timing.xml
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
rm -rf "$out"
mkdir -p "$out"

grid=(--vary after=1:3:1 --vary loss=0%,3% --seeds 3 --quiet)
"$sweep" "$scenario" "${grid[@]}" --jobs 1 --out "$out/j1" || fail "sweep --jobs 1 exited $?"
"$sweep" "$scenario" "${grid[@]}" --jobs 2 --out "$out/j2" || fail "sweep --jobs 2 exited $?"
for f in runs.csv summary.csv sweep.json; do
  cmp -s "$out/j1/$f" "$out/j2/$f" || fail "$f differs between --jobs 1 and --jobs 2"
done
[ "$(wc -l <"$out/j1/runs.csv")" -eq 19 ] || fail "runs.csv has $(wc -l <"$out/j1/runs.csv") lines, expected 1 + 18"
# With 3% loss some seed must see retransmissions; without loss none may.
awk -F, 'NR > 1 && $4 == "0%" && ($13 != 0 || $14 != 0) {exit 1}' "$out/j1/runs.csv" || fail "retransmissions without loss"
awk -F, 'NR > 1 && $4 == "3%" && ($13 + $14) > 0 {found = 1} END {exit !found}' "$out/j1/runs.csv" ||
  fail "no retransmission with 3% loss"

for k in 1 2 3; do
  "$sweep" "$scenario" "${grid[@]}" --shard "$k/3" --out "$out/shard-$k" || fail "shard $k/3 exited $?"
done
"$sweep" merge "$out/shard-3" "$out/shard-1" "$out/shard-2" --out "$out/merged" 2>"$out/merge.err" ||
  fail "merge exited $?: $(cat "$out/merge.err")"
for f in runs.csv summary.csv sweep.json; do
  cmp -s "$out/j1/$f" "$out/merged/$f" || fail "merged $f differs from the unsharded one"
done

# expect_bad NAME PATTERN ARGS...: exit 2, stderr one line matching PATTERN, no folder $out/bad.
expect_bad() {
  local name=$1 pattern=$2
  shift 2
  rm -rf "$out/bad"
  "$sweep" "$@" >"$out/bad.stdout" 2>"$out/bad.stderr"
  local rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2 ($(cat "$out/bad.stderr"))"
  [ "$(wc -l <"$out/bad.stderr")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$out/bad.stderr")"
  grep -q -- "$pattern" "$out/bad.stderr" || fail "$name: stderr lacks '$pattern': $(cat "$out/bad.stderr")"
  [ ! -e "$out/bad" ] || fail "$name: the output folder was created"
}
o=(--out "$out/bad" --quiet)
expect_bad "unknown param" "nope" "$scenario" --vary nope=1,2 "${o[@]}"
expect_bad "bad value" "(at after=1, loss=120%)" "$scenario" --vary after=1,2 --vary loss=0%,120% "${o[@]}"
expect_bad "bad range" "mixes" "$scenario" --vary delay=0:2s:100ms "${o[@]}"
expect_bad "empty list item" "empty value" "$scenario" --vary after=1,,2 "${o[@]}"
expect_bad "zero step" "step 0" "$scenario" --vary delay=0ms:1s:0ms "${o[@]}"
expect_bad "no name" "NAME=SPEC" "$scenario" --vary =1,2 "${o[@]}"
expect_bad "vary twice" "twice" "$scenario" --vary after=1 --vary after=2 "${o[@]}"
expect_bad "set and vary" "one or the other" "$scenario" --vary after=1 --set after=2 "${o[@]}"
expect_bad "set without =" "NAME=VALUE" "$scenario" --set after "${o[@]}"
expect_bad "set unknown" "nope" "$scenario" --set nope=1 "${o[@]}"
expect_bad "seeds 0" "--seeds '0'" "$scenario" --seeds 0 "${o[@]}"
expect_bad "seeds word" "--seeds 'x'" "$scenario" --seeds x "${o[@]}"
expect_bad "jobs 0" "--jobs '0'" "$scenario" --jobs 0 "${o[@]}"
expect_bad "jobs word" "--jobs '-1'" "$scenario" --jobs=-1 "${o[@]}"
expect_bad "shard 0/3" "K/N" "$scenario" --shard 0/3 "${o[@]}"
expect_bad "shard 4/3" "K/N" "$scenario" --shard 4/3 "${o[@]}"
expect_bad "shard word" "K/N" "$scenario" --shard half "${o[@]}"
expect_bad "metrics unknown" "unknown metric 'nope'" "$scenario" --metrics stall_ms,nope "${o[@]}"
expect_bad "metrics twice" "twice" "$scenario" --metrics stall_ms,stall_ms "${o[@]}"
expect_bad "huge range" "at most" "$scenario" --vary delay=0ns:18446744073709551615ns:1ns "${o[@]}"
expect_bad "one value per --vary" "not expected: requests=2" "$scenario" --vary after=1 requests=2 "${o[@]}"
expect_bad "empty out" "--out ''" "$scenario" --out "" --quiet
expect_bad "missing scenario" "no-such.xml" "$out/no-such.xml" "${o[@]}"
expect_bad "unknown flag" "--frobnicate" "$scenario" --frobnicate "${o[@]}"
expect_bad "bad scenario" "error:" "$src/tests/scenario/bad/$(ls "$src/tests/scenario/bad" | head -1)" "${o[@]}"
expect_bad "merge missing shard" "missing" merge "$out/shard-1" "$out/shard-2" "${o[@]:0:2}"
expect_bad "merge shard twice" "again" merge "$out/shard-1" "$out/shard-1" "$out/shard-2" "${o[@]:0:2}"
expect_bad "merge unsharded" "shard" merge "$out/j1" "${o[@]:0:2}"
expect_bad "merge nothing there" "sweep.json" merge "$out/nowhere" "${o[@]:0:2}"
expect_bad "merge no --out" "--out" merge "$out/shard-1"

# A flag before the scenario takes one value, so the scenario is still found.
"$sweep" --vary after=1,2 "$scenario" --quiet --out "$out/before" 2>/dev/null || fail "--vary before the scenario exited $?"

# --set switches the trigger kind; --metrics picks columns.
"$sweep" "$scenario" --set trigger=at --set after= --vary at=500ms:1500ms:500ms --metrics outcome,switch_latency_ms \
  --quiet --out "$out/at" || fail "trigger=at sweep exited $?"
[ "$(head -1 "$out/at/runs.csv")" = "point,seed,at,outcome,switch_latency_ms,error" ] ||
  fail "--metrics header: $(head -1 "$out/at/runs.csv")"
[ "$(cut -d, -f3 "$out/at/runs.csv" | tr '\n' ' ')" = "at 500ms 1000ms 1500ms " ] ||
  fail "range values: $(cut -d, -f3 "$out/at/runs.csv" | tr '\n' ' ')"
grep -q ',completed,' "$out/at/runs.csv" || fail "trigger=at runs did not complete"

[ $fails -eq 0 ] || exit 1
echo "tcpmig-sweep CLI: all cases passed"
