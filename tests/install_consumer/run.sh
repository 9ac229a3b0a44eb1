#!/bin/sh
# Test install_consumer: installs a tcpmig build tree into a fresh prefix,
# checks the installed layout, then configures, builds and runs the consumer
# project next to this script against that prefix only.
#
# Usage: run.sh BUILD_DIR WORK_DIR CXX_COMPILER GENERATOR BUILD_TYPE "CXX_FLAGS" "LINKER_FLAGS" [PROGRAM...]
#   PROGRAM: programs that must be installed in bin/ (those this build made).
set -eu
build=$1
work=$2
cxx=$3
generator=$4
build_type=$5
cxx_flags=$6
linker_flags=$7
shift 7
here=$(cd "$(dirname "$0")" && pwd)
prefix=$work/prefix

rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

fail() {
  echo "install_consumer: $*" >&2
  exit 1
}
for f in include/tcpmig/wire/tcp.hpp include/tcpmig/wire/ipv4.hpp include/tcpmig/wire/checksum.hpp \
         include/tcpmig/core/migrator.hpp; do
  [ -f "$prefix/$f" ] || fail "missing $f"
done
for d in sim net tcp apps gateway; do
  [ ! -e "$prefix/include/tcpmig/$d" ] || fail "include/tcpmig/$d must not be installed"
done
lib=$(find "$prefix" -name libtcpmig_core.a | head -1)
[ -n "$lib" ] || fail "missing libtcpmig_core.a"
config=$(find "$prefix" -name tcpmigConfig.cmake | head -1)
[ -n "$config" ] || fail "missing tcpmigConfig.cmake"
for p in "$@"; do
  [ -x "$prefix/bin/$p" ] || fail "missing program bin/$p"
done

cmake -S "$here" -B "$work/build" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE="$build_type" -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$linker_flags" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/configure.log" ||
  { cat "$work/configure.log"; fail "configure failed"; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build failed"; }
"$work/build/consumer"
