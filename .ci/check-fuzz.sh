#!/usr/bin/env bash
# Builds every fuzz target once and runs each for a short fixed time, from
# its committed seeds (fuzz/seeds/<target>/, copied into a scratch corpus)
# with its dictionary. Fails if any target finds a crash, a broken
# invariant, a timeout or an out-of-memory; prints the artifact's path and
# its bytes in hex. cargo-fuzz comes from .ci/install-fuzz.sh.
#
# FUZZ_SECONDS (default 20) sets the time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=fuzz/dict/select.sh
source fuzz/dict/select.sh
seconds="${FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: run .ci/install-fuzz.sh" >&2
  exit 1
fi
# cargo-fuzz needs nightly flags (-Zsanitizer); this lets stable take them.
export RUSTC_BOOTSTRAP=1

echo "== cargo fuzz build"
cargo fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $(cargo fuzz list); do
  corpus="$scratch/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  if [ -d "fuzz/seeds/$target" ]; then
    cp fuzz/seeds/"$target"/* "$corpus"/
  fi
  dict="$(fuzz_dict "$target")"
  log="$scratch/$target.log"
  echo "== fuzz $target (${seconds}s, $(find "$corpus" -type f | wc -l) seeds, $dict)"
  # One process (one core); -timeout turns a hang into a finding.
  if cargo fuzz run "$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -dict="$dict" -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^#[0-9]+[[:space:]]+DONE' "$log" || true
  else
    failed+=("$target")
    echo "!! $target: finding" >&2
    grep -E -A12 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -40 >&2 || tail -40 "$log" >&2
    grep -oE "fuzz/artifacts/$target/(crash|timeout|oom|leak|slow-unit)-[0-9a-f]+" "$log" |
      sort -u | while read -r artifact; do
        echo "artifact: $artifact" >&2
        echo "hex: $(od -An -v -tx1 "$artifact" | tr -d ' \n')" >&2
        echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target $artifact" >&2
      done
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "== all fuzz targets ran ${seconds}s without a finding"
