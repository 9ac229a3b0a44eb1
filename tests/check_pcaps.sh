#!/bin/sh
# Opens every pcap under the given directories with tshark, with IPv4, TCP and
# UDP checksum validation on, and fails if a file cannot be read or has a
# malformed packet or a bad checksum.
# Usage: check_pcaps.sh DIR...
set -u
if ! command -v tshark >/dev/null 2>&1; then
  echo "check_pcaps: tshark not found (run tools/setup-debian.sh)" >&2
  exit 1
fi
files=$(find "$@" -name '*.pcap' -type f | sort)
if [ -z "$files" ]; then
  echo "check_pcaps: no pcap under $*" >&2
  exit 1
fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT
bad=0
count=0
frames=0
for f in $files; do
  count=$((count + 1))
  # One line per frame: its number and whether it is a problem.
  out=$(tshark -r "$f" -n \
      -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
      -T fields -e frame.number \
      -e _ws.malformed -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status \
      2>"$err")
  rc=$?
  if [ "$rc" -ne 0 ] || grep -qv 'Running as user' "$err"; then
    echo "check_pcaps: tshark cannot read $f (exit $rc):" >&2
    grep -v 'Running as user' "$err" >&2
    bad=1
    continue
  fi
  n=$(printf '%s\n' "$out" | grep -c .)
  frames=$((frames + n))
  # Malformed frames have a _ws.malformed field; checksum status 0 is "Bad".
  problems=$(printf '%s\n' "$out" | awk -F'\t' '$2 != "" || $3 == "0" || $4 == "0" || $5 == "0"')
  if [ -n "$problems" ]; then
    echo "check_pcaps: problems in $f (frame, malformed, ip/tcp/udp checksum status):" >&2
    printf '%s\n' "$problems" | head -20 >&2
    bad=1
  fi
done
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "check_pcaps: $count pcaps, $frames frames read by tshark: no malformed packet, no checksum error"
