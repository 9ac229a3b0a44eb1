#!/bin/sh
# Opens every pcap under the given directories with tshark, with IPv4, TCP and
# UDP checksum validation on, and fails if a file cannot be read, or has a
# malformed packet, a bad checksum or any other error-level expert finding.
# Usage: check_pcaps.sh DIR...
set -u
if ! command -v tshark >/dev/null 2>&1; then
  echo "check_pcaps: tshark not found (run tools/setup-debian.sh)" >&2
  exit 1
fi
list=$(mktemp)
err=$(mktemp)
trap 'rm -f "$list" "$err"' EXIT
find "$@" -name '*.pcap' -type f | sort >"$list"
count=$(grep -c . "$list")
if [ "$count" -eq 0 ]; then
  echo "check_pcaps: no pcap under $*" >&2
  exit 1
fi
bad=0
while IFS= read -r f; do
  # Prints the frames that have a problem; nothing when the file is clean.
  # Payloads are the bulk pattern or text lines: the Thrift heuristic guesses
  # at the pattern and reports its own "errors", which say nothing about the
  # frames, so it is switched off.
  problems=$(tshark -r "$f" -n --disable-protocol thrift \
      -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
      -Y '_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0' \
      2>"$err")
  rc=$?
  if [ "$rc" -ne 0 ] || grep -qv 'Running as user' "$err"; then
    echo "check_pcaps: tshark cannot read $f cleanly (exit $rc):" >&2
    grep -v 'Running as user' "$err" >&2
    bad=1
  elif [ -n "$problems" ]; then
    echo "check_pcaps: problems in $f:" >&2
    printf '%s\n' "$problems" | head -20 >&2
    bad=1
  fi
done <"$list"
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "check_pcaps: $count pcaps read by tshark: no malformed packet, no checksum error, no expert error"
