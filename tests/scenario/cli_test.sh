#!/bin/sh
# Command-line tests of tcpmig-sim. Usage: cli_test.sh CASE TCPMIG_SIM SOURCE_DIR OUT_DIR
#   bad-flag      unknown flag, bad --seed, bad --until, --set without '=': exit 2, nothing created
#   bad-scenario  every tests/scenario/bad/*.xml: exit 2, FILE:LINE:COLUMN on stderr, nothing created
#   unknown-set   --set of an undeclared parameter: exit 2, nothing created
#   missing-file  a scenario file that does not exist: exit 2, nothing created
#   bad-out       --out names a file: exit 2
#   bad-paths     inputs that are directories, endless devices or over the size cap, outputs that
#                 cannot be written even by root: exit 2, one line, nothing created; pipes work
#   cleanup       a runtime error or a failing write after the run: exit 2 and everything the run
#                 created removed; other files of an existing --out directory are kept
#   seed-range    --seed outside 0..2^64-1 or not a plain decimal: exit 2
#   fingerprint-crlf  --expect-trace accepts a fingerprint file with CRLF line ends
#   names         "." and ".." are not names (the scenario name becomes a folder name)
#   scenario-name summary.json and stdout are the same from any working folder and path
#   version       --version prints "tcpmig-sim <version>"
#   determinism   two runs: identical stdout, trace, pcaps and summary.json; trace fingerprints
#   expectations  --expect-trace with a trace / a fingerprint file; failed expectations exit 1
set -u
case_name=$1
sim=$2
src=$3
out=$4
good=$src/tests/scenario/good/migrate_mid_stream.xml
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# expect_rc RC DIR CMD...: runs CMD, checks its exit code and that DIR was not created.
expect_rc_nothing() {
  want=$1
  dir=$2
  shift 2
  rm -rf "$dir"
  "$@" >"$out.stdout" 2>"$out.stderr"
  rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$out.stderr")"
  [ ! -e "$dir" ] || fail "$* created $dir"
}

# expect_bad DIR CMD...: CMD exits 2 within 10 s with one "error: ...; expected ..." line on
# stderr, and DIR does not exist afterwards.
expect_bad() {
  dir=$1
  shift
  rm -rf "$dir"
  timeout 10 "$@" >"$out.stdout" 2>"$out.stderr"
  rc=$?
  [ "$rc" -eq 2 ] || fail "$* exited $rc, expected 2: $(cat "$out.stderr")"
  [ ! -e "$dir" ] || fail "$* left $dir behind"
  { [ "$(wc -l <"$out.stderr")" -eq 1 ] && grep -q "error: .*; expected " "$out.stderr"; } ||
    fail "$*: not one error line: $(cat "$out.stderr")"
}

# A scenario that fails while running: s2 boots first, and its sink continues s1's.
write_runtime_error_scenario() {
  cat >"$1" <<'EOF'
<scenario name="runtime_error">
  <topology>
    <host name="c"/>
    <switch name="sw"/>
    <host name="s1" add-at="20ms"/>
    <host name="s2" add-at="10ms"/>
    <link a="c" a-addr="10.0.0.1/24" b="sw"/>
    <link a="sw" b="s1" b-addr="10.0.0.10/24"/>
    <link a="sw" b="s2" b-addr="10.0.0.20/24"/>
  </topology>
  <apps>
    <bulk-sink node="s1"/>
    <bulk-sink node="s2" continues="s1"/>
  </apps>
</scenario>
EOF
}

mkdir -p "$(dirname "$out")"
case $case_name in
bad-flag)
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --bogus
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --seed x
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --until 5
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --until -1s
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --set loss
  expect_rc_nothing 2 "$out" "$sim" --out "$out"
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --expect-trace "$src/no/such/file"
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --trace "$src/no/such/dir/trace.txt"
  ;;
bad-scenario)
  for f in "$src"/tests/scenario/bad/*.xml; do
    expect_rc_nothing 2 "$out" "$sim" "$f" --out "$out"
    grep -q "^$f:[0-9][0-9]*:[0-9][0-9]*: error: .*; expected " "$out.stderr" || fail "$f: stderr lacks FILE:LINE:COLUMN: $(cat "$out.stderr")"
    [ "$(wc -l <"$out.stderr")" -eq 1 ] || fail "$f: more than one line on stderr"
  done
  # Without --out the default directory out/<name> is not created either.
  (cd "$(dirname "$out")" && rm -rf out && "$sim" "$src/tests/scenario/bad/bad_duration.xml" >/dev/null 2>&1; rc=$?;
   [ "$rc" -eq 2 ] && [ ! -e out ]) || fail "default output directory created for a bad scenario"
  ;;
unknown-set)
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --set nosuch=1
  grep -q "names no parameter of this scenario; expected one of: loss, requests, interval" "$out.stderr" ||
    fail "unknown --set message: $(cat "$out.stderr")"
  expect_rc_nothing 2 "$out" "$sim" "$good" --out "$out" --set loss=2
  grep -q ':[0-9]*:[0-9]*: error: loss="${loss}" (= "2")' "$out.stderr" || fail "bad --set value message: $(cat "$out.stderr")"
  ;;
missing-file)
  expect_rc_nothing 2 "$out" "$sim" "$src/tests/scenario/no-such.xml" --out "$out"
  grep -q "no-such.xml: error: cannot open the file" "$out.stderr" || fail "missing file message: $(cat "$out.stderr")"
  ;;
bad-out)
  rm -rf "$out"
  mkdir -p "$(dirname "$out")"
  : >"$out"
  "$sim" "$good" --out "$out" >/dev/null 2>"$out.stderr"
  [ $? -eq 2 ] || fail "--out naming a file did not exit 2"
  rm -f "$out"
  ;;
bad-paths)
  rm -rf "$out.d" "$out.fifo"
  mkdir -p "$out.d"
  expect_bad "$out" "$sim" "$good" --out "$out" --expect-trace "$out.d"
  expect_bad "$out" "$sim" "$good" --out "$out" --expect-trace /dev/zero
  expect_bad "$out" "$sim" /dev/urandom --out "$out"
  expect_bad "$out" "$sim" "$out.d" --out "$out"
  expect_bad "$out" "$sim" "$good" --out "$out" --trace "$out.d"
  expect_bad "$out" "$sim" "$good" --out "$out" --write-fingerprint "$out.d"
  expect_bad "$out" "$sim" "$good" --out "$out" --trace /proc/version
  expect_bad "$out" "$sim" "$good" --out "$out" --write-fingerprint /proc/version
  expect_bad "$out" "$sim" "$good" --out "$out" --trace /etc/hostname/x
  expect_bad "$out" "$sim" "$good" --out "$out" --trace ""
  expect_bad "$out" "$sim" "$good" --out /proc/tcpmig-x
  expect_bad "$out" "$sim" "$good" --out /etc/hostname/x
  # The output folder and the parents it needed are removed again.
  expect_bad "$out" "$sim" "$good" --out "$out/a/b" --trace /proc/version
  # Pipes (what `<(cmd)` gives) are read, up to the cap.
  mkfifo "$out.fifo"
  timeout 10 sh -c 'cat "$1" >"$2"' - "$good" "$out.fifo" &
  "$sim" "$out.fifo" --out "$out" --quiet --no-pcap --trace "$out.trace" >/dev/null 2>"$out.stderr" ||
    fail "scenario from a pipe: $(cat "$out.stderr")"
  timeout 10 sh -c 'cat "$1" >"$2"' - "$out.trace" "$out.fifo" &
  "$sim" "$good" --out "$out" --quiet --no-pcap --expect-trace "$out.fifo" >/dev/null 2>"$out.stderr" ||
    fail "--expect-trace from a pipe: $(cat "$out.stderr")"
  timeout 10 sh -c 'head -c 67108865 /dev/zero >"$1"' - "$out.fifo" &
  expect_bad "$out" "$sim" "$out.fifo" --out "$out"
  grep -q "more than 64 MiB" "$out.stderr" || fail "scenario cap: $(cat "$out.stderr")"
  wait
  rm -rf "$out" "$out.d" "$out.fifo"
  ;;
cleanup)
  write_runtime_error_scenario "$out.xml"
  expect_bad "$out" "$sim" "$out.xml" --out "$out/a/b"
  grep -q "the sink it continues has not started" "$out.stderr" || fail "runtime error: $(cat "$out.stderr")"
  # Reported like a load error: FILE:LINE:COLUMN: error: ..., one line, no second prefix.
  grep -q "^$out.xml:[0-9]*:[0-9]*: error: " "$out.stderr" || fail "runtime error form: $(cat "$out.stderr")"
  [ "$(wc -l <"$out.stderr")" -eq 1 ] || fail "runtime error: more than one line"
  # A write that fails after the run (stdout).
  rm -rf "$out"
  "$sim" "$good" --out "$out" --trace - >/dev/full 2>"$out.stderr"
  [ $? -eq 2 ] || fail "a failing stdout did not exit 2"
  [ ! -e "$out" ] || fail "a failing stdout left $out behind"
  # An existing directory: on exit 2 the run's own files go (older ones of the
  # same names included) and other files stay; a good run replaces the run's files.
  mkdir -p "$out"
  echo keep >"$out/notes.txt"
  echo old >"$out/trace.txt"
  "$sim" "$out.xml" --out "$out" >/dev/null 2>&1
  [ $? -eq 2 ] || fail "runtime error in an existing directory did not exit 2"
  [ "$(ls -A "$out")" = "notes.txt" ] || fail "after exit 2 the directory holds: $(ls -A "$out")"
  echo old >"$out/trace.txt"
  "$sim" "$good" --out "$out" --quiet >/dev/null 2>&1 || fail "run into an existing directory failed"
  [ "$(cat "$out/notes.txt")" = keep ] || fail "notes.txt changed"
  { [ -s "$out/summary.json" ] && [ "$(head -c 3 "$out/trace.txt")" != old ]; } || fail "outputs not replaced"
  rm -rf "$out" "$out.xml"
  ;;
seed-range)
  for seed in -1 +1 0x10 1e3 1.0 " 1" 18446744073709551616 99999999999999999999 ""; do
    expect_bad "$out" "$sim" "$good" --out "$out" --seed "$seed"
    grep -q "expected a decimal integer from 0 to 18446744073709551615" "$out.stderr" ||
      fail "--seed '$seed': $(cat "$out.stderr")"
  done
  expect_bad "$out" "$sim" "$good" --out "$out" --seed=-1
  "$sim" "$good" --out "$out" --quiet --no-pcap --seed 18446744073709551615 >"$out.stdout" 2>&1 || fail "largest seed"
  grep -q "seed 18446744073709551615," "$out.stdout" || fail "largest seed not used"
  rm -rf "$out"
  ;;
fingerprint-crlf)
  rm -rf "$out"
  "$sim" "$good" --out "$out" --quiet --no-pcap --write-fingerprint "$out.fp" >/dev/null 2>&1 || fail "reference run"
  sed 's/$/\r/' "$out.fp" >"$out.crlf"
  "$sim" "$good" --out "$out" --quiet --no-pcap --expect-trace "$out.crlf" >/dev/null 2>"$out.stderr" ||
    fail "CRLF fingerprint not accepted: $(cat "$out.stderr")"
  grep -q "trace fingerprint matches" "$out.stderr" || fail "CRLF fingerprint not read as one"
  "$sim" "$good" --out "$out" --quiet --no-pcap --seed 2 --expect-trace "$out.crlf" >/dev/null 2>&1
  [ $? -eq 1 ] || fail "different CRLF fingerprint not reported (exit 1)"
  # The header with anything but 16 hex digits after it is bad input, not a trace.
  printf '# tcpmig trace fingerprint\r\nnot 16 hex digits\r\n' >"$out.crlf"
  expect_bad "$out" "$sim" "$good" --out "$out" --expect-trace "$out.crlf"
  rm -rf "$out" "$out.crlf"
  ;;
names)
  # Without --out, a scenario named ".." would write into the working folder.
  rm -rf "$out"
  mkdir -p "$out/cwd"
  for name in . ..; do
    sed "s/<scenario name=\"migrate_mid_stream\"/<scenario name=\"$name\"/" "$good" >"$out/bad.xml"
    (cd "$out/cwd" && timeout 10 "$sim" ../bad.xml >../stdout 2>../stderr)
    [ $? -eq 2 ] || fail "scenario name '$name' did not exit 2"
    [ -z "$(ls -A "$out/cwd")" ] || fail "scenario name '$name' wrote $(ls -A "$out/cwd")"
    grep -q "^\.\./bad\.xml:[0-9]*:[0-9]*: error: name=\"$name\"; expected " "$out/stderr" ||
      fail "name '$name': $(cat "$out/stderr")"
  done
  sed 's/"server1"/".."/g' "$good" >"$out/bad.xml"
  expect_bad "$out/o" "$sim" "$out/bad.xml" --out "$out/o"
  rm -rf "$out"
  ;;
scenario-name)
  # The same run from three working folders, through three paths.
  rm -rf "$out"
  mkdir -p "$out/a/b" "$out/scen" "$out/c"
  cp "$good" "$out/scen/x.xml"
  (cd "$out/a/b" && "$sim" ../../scen/x.xml --out res --no-pcap >stdout 2>&1) || fail "relative path run"
  (cd "$out/scen" && "$sim" ./x.xml --out res --no-pcap >stdout 2>&1) || fail "./ run"
  (cd "$out/c" && "$sim" "$out/scen/x.xml" --out res --no-pcap >stdout 2>&1) || fail "absolute path run"
  for d in "$out/scen" "$out/c"; do
    cmp -s "$out/a/b/res/summary.json" "$d/res/summary.json" || fail "summary.json differs in $d"
    cmp -s "$out/a/b/stdout" "$d/stdout" || fail "stdout differs in $d"
  done
  grep -q '"file": "x.xml"' "$out/c/res/summary.json" || fail "summary.json does not name x.xml"
  # Errors still show the path as typed.
  (cd "$src/tests/scenario" && "$sim" bad/bad_duration.xml --out "$out/bad" >/dev/null 2>"$out.stderr")
  grep -q "^bad/bad_duration.xml:7:11: error: " "$out.stderr" || fail "error path: $(cat "$out.stderr")"
  rm -rf "$out"
  ;;
version)
  v=$("$sim" --version) || fail "--version failed"
  echo "$v" | grep -q '^tcpmig-sim [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*$' || fail "--version printed '$v'"
  ;;
determinism)
  rm -rf "$out" "$out.2"
  "$sim" "$good" --out "$out" --seed 7 >"$out.stdout" 2>"$out.stderr" || fail "first run failed: $(cat "$out.stderr")"
  "$sim" "$good" --out "$out.2" --seed 7 >"$out.2.stdout" 2>&1 || fail "second run failed"
  sed "s|$out|DIR|" "$out.stdout" >"$out.a"
  sed "s|$out.2|DIR|" "$out.2.stdout" >"$out.b"
  cmp -s "$out.a" "$out.b" || fail "stdout differs between runs"
  for f in "$out"/*; do
    cmp -s "$f" "$out.2/$(basename "$f")" || fail "$(basename "$f") differs between runs"
  done
  [ -s "$out/trace.txt" ] || fail "no trace.txt"
  [ -s "$out/summary.json" ] || fail "no summary.json"
  [ -s "$out/gw-eth0.pcap" ] || fail "no gw-eth0.pcap"
  [ -s "$out/server2-eth0.pcap" ] || fail "no pcap for the runtime host"
  grep -q "^trace fingerprint [0-9a-f]\{16\} " "$out.stdout" || fail "no fingerprint line"
  grep -q "completed" "$out.stdout" || fail "migration did not complete"
  [ "$(grep -c "received: Hello, I'm Server 2" "$out.stdout")" -eq 8 ] || fail "expected 8 answers from server2"
  # --quiet prints no application lines; --no-pcap writes no pcap.
  rm -rf "$out.3"
  "$sim" "$good" --out "$out.3" --seed 7 --quiet --no-pcap >"$out.3.stdout" 2>&1 || fail "quiet run failed"
  ! grep -q "received:" "$out.3.stdout" || fail "--quiet printed application lines"
  ! ls "$out.3"/*.pcap >/dev/null 2>&1 || fail "--no-pcap wrote pcaps"
  grep -q "^trace fingerprint " "$out.3.stdout" || fail "--quiet dropped the fingerprint"
  rm -rf "$out.2" "$out.3"
  ;;
expectations)
  rm -rf "$out"
  "$sim" "$good" --out "$out" --quiet --no-pcap --trace "$out.trace" --write-fingerprint "$out.fp" >/dev/null 2>&1 ||
    fail "reference run failed"
  "$sim" "$good" --out "$out" --quiet --no-pcap --expect-trace "$out.trace" >/dev/null 2>&1 || fail "same trace not accepted"
  "$sim" "$good" --out "$out" --quiet --no-pcap --expect-trace "$out.fp" >/dev/null 2>&1 || fail "same fingerprint not accepted"
  head -1 "$out.fp" | grep -qx "# tcpmig trace fingerprint" || fail "fingerprint file header"
  "$sim" "$good" --out "$out" --quiet --no-pcap --seed 2 --expect-trace "$out.trace" >/dev/null 2>"$out.stderr"
  [ $? -eq 1 ] || fail "different trace not reported (exit 1)"
  grep -q "^line [0-9]*:" "$out.stderr" || fail "first differing line not printed"
  "$sim" "$good" --out "$out" --quiet --no-pcap --seed 2 --expect-trace "$out.fp" >/dev/null 2>&1
  [ $? -eq 1 ] || fail "different fingerprint not reported (exit 1)"
  # --until cuts the run before the migration: its expectation fails (exit 1).
  "$sim" "$good" --out "$out" --quiet --no-pcap --until 150ms >"$out.stdout" 2>"$out.stderr"
  [ $? -eq 1 ] || fail "--until before the migration did not exit 1"
  grep -q "expectation failed: migration m1" "$out.stderr" || fail "missing migration expectation: $(cat "$out.stderr")"
  grep -q "ended at 0.150000000" "$out.stdout" || fail "--until did not stop at 150ms"
  ;;
*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
rm -f "$out.stdout" "$out.stderr" "$out.a" "$out.b" "$out.2.stdout" "$out.3.stdout" "$out.trace" "$out.fp"
[ "$fails" -eq 0 ]
