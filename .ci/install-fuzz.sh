#!/usr/bin/env bash
# Installs cargo-fuzz (from crates.io, with its locked dependencies) when it
# is missing. Idempotent; .ci/run calls it before the tests.
set -euo pipefail
if cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz present: $(cargo fuzz --version)"
  exit 0
fi
echo "installing cargo-fuzz (a few minutes)"
cargo install cargo-fuzz --locked
cargo fuzz --version
