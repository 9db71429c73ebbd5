#!/usr/bin/env bash
# Installs the third-party SSE parser that tests/peers/sse.rs runs against
# our encoder: npm `eventsource-parser`, pinned by tests/interop/sse/package-lock.json.
# Idempotent: does nothing when the locked version is already installed.
# Needs node >= 20 and npm (eventsource-parser 4 declares node >= 22.12 for its
# TransformStream entry point; the plain parser the test uses runs on 20, so
# the engine check is a warning only).
set -euo pipefail
cd "$(dirname "$0")/../tests/interop/sse"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-sse: node and npm are required (node >= 20); e.g. apt-get install -y nodejs npm" >&2
  exit 1
fi

# npm ci records what it installed in node_modules/.package-lock.json.
if [ -f node_modules/eventsource-parser/package.json ] \
  && [ -f node_modules/.package-lock.json ] \
  && node -e '
    const want = require("./package-lock.json").packages["node_modules/eventsource-parser"].version;
    const have = require("./node_modules/eventsource-parser/package.json").version;
    process.exit(want === have ? 0 : 1);
  '; then
  echo "install-sse: eventsource-parser already installed"
  exit 0
fi

npm ci --no-audit --no-fund
