#!/usr/bin/env bash
# Runs every criterion bench once in test mode (each row's output is checked
# against the expected result; no timing is asserted) and the per-message
# overhead table in its quick mode, so the benches never rot.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --benches --all-features
cargo run --example overhead --all-features -- --quick
