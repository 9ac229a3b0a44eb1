#!/bin/sh
# Opens every pcap under the given directories with tshark, with IPv4, TCP and
# UDP checksum validation on, and fails if a file cannot be read, holds no
# packet, or has a malformed packet or a bad checksum.
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
bad=0
count=0
for f in $files; do
  count=$((count + 1))
  if ! tshark -r "$f" -c 1 -T fields -e frame.number >/dev/null 2>"$f.tshark-err"; then
    echo "check_pcaps: tshark cannot read $f:" >&2
    cat "$f.tshark-err" >&2
    bad=1
    continue
  fi
  rm -f "$f.tshark-err"
  # Empty captures are allowed (an interface may carry nothing) but must parse.
  problems=$(tshark -r "$f" -n \
      -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
      -Y '_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad"' \
      2>/dev/null)
  if [ -n "$problems" ]; then
    echo "check_pcaps: problems in $f:" >&2
    echo "$problems" | head -20 >&2
    bad=1
  fi
done
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "check_pcaps: $count pcaps read by tshark, no malformed packet, no checksum error"
