#!/bin/bash
# Builds tcpmig three ways and runs every test; the project's one test command.
#
#   1. gcc,   -O2 (RelWithDebInfo), warnings as errors: unit + CLI tests, tshark on every pcap,
#                                   tcpmig-gateway in network namespaces (root), sweeps through
#                                   GNU parallel and a one-node Slurm (root)
#   2. clang, -O0 (Debug),          warnings as errors: the same tests (traces must match the
#                                   same golden files), then every shipped scenario run by both
#                                   builds must give byte-identical stdout, traces, pcaps, summaries
#   3. clang, ASan + UBSan (-O1):   the same tests under the sanitizers, the namespace test
#                                   included
#   4. clang, libFuzzer:            every fuzz target for a bounded time from its seed corpus
#
# Build trees go to build/test-*; set TCPMIG_FUZZ_SECONDS to change the fuzz time.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${TCPMIG_FUZZ_SECONDS:-30}

step() { printf '\n==== %s\n' "$*"; }
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

# build_and_test DIR CTEST_EXCLUDE CMAKE_ARGS...: CTEST_EXCLUDE is a ctest -E
# regex ('' for none).
build_and_test() {
  dir=$1
  exclude=$2
  shift 2
  step "configure $dir ($*)"
  cmake -S . -B "$dir" -G Ninja -DTCPMIG_WERROR=ON "$@" >/dev/null
  step "build $dir"
  cmake --build "$dir" -j "$jobs"
  step "test $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" ${exclude:+-E "$exclude"} | tee -a "$summary"
}

# tshark reads the pcaps of the gcc build only: the clang build's are
# byte-identical (checked below) and so are the sanitizer build's. The
# namespace test runs with gcc and under the sanitizers. The cluster recipes
# and the plot tool (shell and Python around tcpmig-sweep, whose own tests run
# in every build) run with gcc only.
build_and_test build/test-gcc '' -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
build_and_test build/test-clang '^(tshark_pcaps|netns_gateway|cluster_sweep|plot_tool)$' -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DTCPMIG_BENCH=OFF
# Determinism across compilers: every shipped scenario, run by the gcc -O2 and
# the clang -O0 build, gives byte-identical stdout, trace, pcaps and summary;
# a sweep gives byte-identical files.
step "gcc and clang agree on every shipped scenario"
# (Both write to the same path, which stdout names, then the trees are compared.)
rm -rf build/cross
for cc in gcc clang; do
  mkdir -p build/cross/run
  for scenario in scenarios/*.xml; do
    name=$(basename "$scenario" .xml)
    "build/test-$cc/tools/tcpmig-sim" "$scenario" --out "build/cross/run/$name" >"build/cross/run/$name.stdout"
  done
  # A sweep (its statistics are floating point): the same runs.csv, summary.csv and sweep.json.
  "build/test-$cc/tools/tcpmig-sweep" scenarios/sweep_migration_timing.xml --vary loss=0%:4%:1% \
    --vary delay=1ms,20ms --seeds 10 --quiet --out build/cross/run/sweep 2>/dev/null
  mv build/cross/run "build/cross/$cc"
done
diff -r build/cross/gcc build/cross/clang
echo "identical: $(find build/cross/gcc -type f | wc -l) files of $(ls scenarios/*.xml | wc -l) scenarios and a sweep"

build_and_test build/test-asan '^(tshark_pcaps|cluster_sweep|plot_tool)$' -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DTCPMIG_SANITIZE=ON -DTCPMIG_BENCH=OFF

step "configure build/test-fuzz"
cmake -S . -B build/test-fuzz -G Ninja -DTCPMIG_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPMIG_FUZZ=ON -DTCPMIG_BENCH=OFF -DTCPMIG_TESTS=ON >/dev/null
step "build fuzz targets"
fuzzers=$(find tests/fuzz -maxdepth 1 -name 'fuzz_*.cpp' -exec basename {} .cpp \; | sort)
# shellcheck disable=SC2086
cmake --build build/test-fuzz -j "$jobs" --target $fuzzers
for f in $fuzzers; do
  name=${f#fuzz_}
  step "fuzz $f for ${fuzz_seconds}s"
  work=build/test-fuzz/corpus-$name
  rm -rf "$work"
  mkdir -p "$work"
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -r "tests/fuzz/corpus/$name"/. "$work"/; fi
  "build/test-fuzz/tests/fuzz/$f" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
    -artifact_prefix=build/test-fuzz/ "$work" 2>"build/test-fuzz/$f.log" || {
    tail -50 build/test-fuzz/$f.log
    echo "fuzzer $f found a crash; the input is in build/test-fuzz/crash-*" >&2
    exit 1
  }
  grep -E 'stat::number_of_executed_units|Done' build/test-fuzz/$f.log | tail -2
done

step "all tests passed"
# ctest's "N% tests passed, F tests failed out of T" lines, added up.
awk '/tests passed, .* tests failed out of/ { failed += $4; total += $NF }
     END { printf "ctest: %d passed, %d failed\n", total - failed, failed }' "$summary"
