#!/bin/sh
# Installs every Debian 12 package tcpmig needs to build, test and benchmark.
# Idempotent and non-interactive: when everything is present it installs nothing
# and does not touch the package lists. Must run as root (or through sudo).
set -eu

packages="
  build-essential cmake ninja-build pkg-config
  clang lld libclang-rt-14-dev
  libboost-dev libboost-graph-dev
  libpugixml-dev libcli11-dev doctest-dev libbenchmark-dev
  libnetfilter-queue-dev libmnl-dev
  tshark libxml2-utils
  nftables iptables ethtool iproute2 python3 python3-matplotlib
  slurm-wlm munge parallel
"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "setup: all packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo sh "$0" "$@"
  fi
  echo "setup: missing packages:$missing; run this script as root" >&2
  exit 1
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (unattended-upgrades, a second set-up) may hold the lock: wait for it.
apt-get update -q -o DPkg::Lock::Timeout=600
# wireshark-common asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
