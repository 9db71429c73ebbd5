#!/usr/bin/env bash
# Runs one fuzz target for a long time, on one core, with a corpus kept
# between runs in fuzz/corpus/<target>/ (gitignored; started from the
# committed seeds) and the target's dictionary.
#
#   fuzz/fuzz-long.sh TARGET [SECONDS] [-- extra libFuzzer flags]
#   fuzz/fuzz-long.sh ws_connection_server 3600
#   fuzz/fuzz-long.sh sse_decoder 0 -- -runs=10000000
#
# SECONDS defaults to 3600; 0 means no time limit (stop with -runs=N or
# Ctrl-C). Prints libFuzzer's final stats (executions, exec/s). A finding
# stops the run and is saved under fuzz/artifacts/TARGET/: turn it into a
# test in tests/ws/fuzz_regressions.rs.
#
# FUZZ_BUILD_FLAGS passes flags to `cargo fuzz run`, e.g. "-s none" to build
# without AddressSanitizer (the crate forbids unsafe code; about twice the
# executions per second) while keeping debug assertions and overflow checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=fuzz/dict/select.sh
source fuzz/dict/select.sh
target="${1:?usage: fuzz/fuzz-long.sh TARGET [SECONDS] [-- libFuzzer flags]}"
shift
seconds=3600
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  seconds="$1"
  shift
fi
[ "${1:-}" = "--" ] && shift
export RUSTC_BOOTSTRAP=1
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
if [ -d "fuzz/seeds/$target" ]; then
  cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
fi
limit=()
[ "$seconds" != 0 ] && limit=(-max_total_time="$seconds")
# shellcheck disable=SC2086 # FUZZ_BUILD_FLAGS is a list of flags
exec cargo fuzz run ${FUZZ_BUILD_FLAGS:-} "$target" "$corpus" -- "${limit[@]}" -timeout=10 \
  -dict="$(fuzz_dict "$target")" -print_final_stats=1 "$@"
