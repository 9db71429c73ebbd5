#!/usr/bin/env bash
# Without std (issue 20): the crate is `#![no_std]` + alloc with `--no-default-features`.
#   1. The library builds and passes clippy for each protocol without std.
#   2. The pure tests (frames, handshakes, SSE decoder and client, connection scripts, timers,
#      Topic) run without std: time through the `_at` methods (a Duration since the test's
#      origin), masking keys and nonces from a seeded RandomSource (tests/common/clock.rs).
#   3. The dependency graph is std-free: .ci/no-std builds a `#![no_std]` static library with
#      its own panic handler and allocator over the crate, which fails with "duplicate lang
#      item" if anything links std; a control build with the `std` feature must fail so.
# No no-OS target can be installed on this machine kind (rustup has no network, and the
# nightly toolchain has no rust-src for -Z build-std), so (3) is the proof on the host target.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
fail() { echo "check-no-std: FAIL: $*" >&2; exit 1; }

for features in sse,ws sse ws; do
  echo "== no_std: build and clippy, features $features"
  cargo clippy --no-default-features --features "$features" --lib -- -D warnings
done
echo "== no_std: clippy of the pure tests"
cargo clippy --no-default-features --features sse,ws --lib --tests -- -D warnings
echo "== no_std: the pure tests with an injected clock and random source"
cargo test --no-default-features --features sse,ws --lib --tests

echo "== no_std: a #![no_std] static library over the crate links no std"
target="${CARGO_TARGET_DIR:-$(pwd)/target}/no-std-check"
(cd .ci/no-std && CARGO_TARGET_DIR="$target" cargo build --quiet) \
  || fail "the no_std static library did not build (something links std?)"
control="$(mktemp -d)"
trap 'rm -rf "$control"' EXIT
cp -r .ci/no-std/. "$control/"
sed -i 's|path = "../.."|path = "'"$(pwd)"'"|; s|features = \["sse", "ws"\]|features = ["sse", "ws", "std"]|' \
  "$control/Cargo.toml"
if (cd "$control" && CARGO_TARGET_DIR="$target" cargo build --quiet 2>"$control/err"); then
  fail "the control build with std linked (the check could not catch std)"
fi
grep -q "duplicate lang item" "$control/err" || { cat "$control/err"; fail "the control build failed for another reason"; }
echo "check-no-std: ok (no_std builds, pure tests, std-free dependency graph)"
