#!/bin/bash
# tools/tcpmig-plot: time-sequence graphs of a tcpmig-sim run and sweep plots
# of the summary CSV fixture (tests/plot/summary.csv), in PNG and SVG; bad
# CSVs exit 2 with one clear line and leave no file. The drawing checks need
# matplotlib: without it they are skipped (exit 77) unless CI is set.
# It also plots a real tcpmig-sweep of scenarios/sweep_migration_timing.xml
# (stall_ms against loss, one line per delay): the README's sweep figure is
# $OUT_DIR/sweep-stall-vs-loss.svg.
# Usage: plot_test.sh TCPMIG_SIM SOURCE_DIR OUT_DIR TCPMIG_SWEEP
set -u
sim=$1
src=$2
out=$3
sweep=$4
plot=$src/tools/tcpmig-plot
fixture=$src/tests/plot/summary.csv
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

rm -rf "$out"
mkdir -p "$out" || exit 1

# Exit 2, one line on stderr naming the file, the given words, no traceback, no output file.
expect_error() {  # expect_error WORDS OUTFILE ARGS...
  local words=$1 file=$2
  shift 2
  "$plot" "$@" >"$out/stdout" 2>"$out/stderr"
  local rc=$?
  [ "$rc" -eq 2 ] || fail "$*: exit $rc, expected 2"
  grep -q "^tcpmig-plot: .*$words" "$out/stderr" || fail "$*: stderr lacks '$words': $(cat "$out/stderr")"
  [ "$(wc -l <"$out/stderr")" -eq 1 ] || fail "$*: more than one line on stderr: $(cat "$out/stderr")"
  ! grep -q Traceback "$out/stderr" || fail "$*: a traceback"
  [ ! -e "$file" ] || fail "$*: left $file behind"
}

# Bad input (needs no matplotlib: the input is read before anything is drawn).
head -1 "$fixture" | sed 's/,p95//' >"$out/no-p95.csv"
tail -n +2 "$fixture" | cut -d, -f1-10,12- >>"$out/no-p95.csv"
expect_error "no-p95.csv:1: missing column p95" "$out/bad1.png" \
  sweep "$out/no-p95.csv" --metric stall_ms --x delay --lines loss --out "$out/bad1.png"
sed '5s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,\)[^,]*/\1fast/' "$fixture" >"$out/bad-mean.csv"
expect_error "bad-mean.csv:5: mean 'fast' is not a number" "$out/bad2.svg" \
  sweep "$out/bad-mean.csv" --metric stall_ms --x delay --lines loss --out "$out/bad2.svg"
expect_error "no metric 'nope'" "$out/bad3.png" sweep "$fixture" --metric nope --x delay --out "$out/bad3.png"
expect_error "--x size: no such parameter" "$out/bad4.png" sweep "$fixture" --metric stall_ms --x size --out "$out/bad4.png"
expect_error "parameter 'loss' takes 3 values" "$out/bad5.png" sweep "$fixture" --metric stall_ms --x delay --out "$out/bad5.png"
expect_error "--where loss=7%: no such value" "$out/bad6.png" \
  sweep "$fixture" --metric stall_ms --x delay --where loss=7% --out "$out/bad6.png"
expect_error "missing.csv: cannot open" "$out/bad7.png" sweep "$out/missing.csv" --metric stall_ms --x delay --out "$out/bad7.png"
expect_error "no-run: no such file" "$out/bad8.png" tsg "$out/no-run" --out "$out/bad8.png"

if ! python3 -c 'import matplotlib' 2>/dev/null && ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  if [ -z "${CI:-}" ]; then
    echo "plot_test: matplotlib missing (apt-get install python3-matplotlib): drawing checks skipped" >&2
    [ "$failures" -eq 0 ] || exit 1
    exit 77
  fi
  fail "matplotlib missing and CI is set"
fi

check_png() {
  [ -s "$1" ] || { fail "$1 missing or empty"; return; }
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1: no PNG signature"
}
check_svg() {
  [ -s "$1" ] || { fail "$1 missing or empty"; return; }
  xmllint --noout "$1" || fail "$1: not well-formed XML"
}
run() {
  "$plot" "$@" >/dev/null 2>"$out/stderr" || fail "tcpmig-plot $*: exit $?: $(cat "$out/stderr")"
}

# Time-sequence graphs of a migrated connection.
"$sim" "$src/scenarios/migrate_mid_stream.xml" --quiet --no-pcap --out "$out/run" >/dev/null || fail "tcpmig-sim failed"
"$sim" "$src/scenarios/migrate_mid_stream.xml" --quiet --out "$out/run-pcap" >/dev/null || fail "tcpmig-sim failed"
run tsg "$out/run" --out "$out/tsg.png"
check_png "$out/tsg.png"
run tsg "$out/run/trace.txt" --out "$out/tsg.svg"
check_svg "$out/tsg.svg"
run tsg "$out/run-pcap" --pcap "$out/run-pcap/client-eth0.pcap" --out "$out/tsg-pcap.png"
check_png "$out/tsg-pcap.png"
run tsg "$out/run" --node gw --iface eth1 --time 1:3 --out "$out/tsg-gw.svg"
check_svg "$out/tsg-gw.svg"
expect_error "passes node 'gw' on eth0, eth1" "$out/bad9.png" tsg "$out/run" --node gw --out "$out/bad9.png"

# Sweep plots from the fixture.
run sweep "$fixture" --metric stall_ms --x delay --lines loss --out "$out/sweep.png"
check_png "$out/sweep.png"
run sweep "$fixture" --metric syns_sent --x loss --lines delay --band minmax --out "$out/sweep.svg"
check_svg "$out/sweep.svg"
run sweep "$fixture" --metric stall_ms --x loss --where delay=0.01s --band none --out "$out/sweep-where.svg"
check_svg "$out/sweep-where.svg"

# A real sweep, plotted (the README's figure).
"$sweep" "$src/scenarios/sweep_migration_timing.xml" --vary loss=0%:5%:1% --vary delay=1ms,10ms,50ms --seeds 20 \
  --quiet --out "$out/sweep-run" 2>/dev/null || fail "tcpmig-sweep failed"
run sweep "$out/sweep-run/summary.csv" --metric stall_ms --x loss --lines delay \
  --title "stall_ms vs loss, seed experiment, 20 seeds per point" --out "$out/sweep-stall-vs-loss.svg"
check_svg "$out/sweep-stall-vs-loss.svg"
run sweep "$out/sweep-run/summary.csv" --metric completion_ms --x loss --lines delay --out "$out/sweep-completion.png"
check_png "$out/sweep-completion.png"

# The same inputs, the same bytes.
run sweep "$fixture" --metric stall_ms --x delay --lines loss --out "$out/sweep-again.png"
cmp -s "$out/sweep.png" "$out/sweep-again.png" || fail "sweep PNG differs between two runs"
run tsg "$out/run" --out "$out/tsg-again.svg"
cmp -s "$out/tsg.svg" "$out/tsg-again.svg" || fail "tsg SVG differs between two runs"

if [ "$failures" -ne 0 ]; then
  echo "plot_test: $failures failure(s)" >&2
  exit 1
fi
echo "plot_test: ok"
