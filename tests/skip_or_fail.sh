# shellcheck shell=bash
# Sourced by the tests that need root and system tools (gateway/netns_test.sh,
# cluster/cluster_test.sh). skip_or_fail MESSAGE: where the test cannot run,
# exit 77 (ctest's SKIP_RETURN_CODE) with CI unset; with CI set, that is a
# failure (exit 1).
skip_or_fail() {
  if [ -z "${CI:-}" ]; then
    echo "SKIPPED: $*"
    exit 77
  fi
  echo "FAIL: $* (CI is set, so this is not a skip)" >&2
  exit 1
}
