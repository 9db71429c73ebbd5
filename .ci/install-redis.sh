#!/usr/bin/env bash
# Installs Debian's redis-server for the Redis Streams backplane test (tests/cluster.rs) and
# the example's load run (`cargo run --example cluster --features hyper -- load`). Idempotent:
# does nothing when it is already there. apt needs root, or sudo without a password.
set -euo pipefail
if [ -n "${PUSHCODEC_REDIS_SERVER:-}" ] && [ -x "$PUSHCODEC_REDIS_SERVER" ]; then
  echo "install-redis: using PUSHCODEC_REDIS_SERVER=$PUSHCODEC_REDIS_SERVER"
  exit 0
fi
if command -v redis-server >/dev/null; then
  echo "install-redis: redis-server already installed: $(redis-server --version)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-redis: Debian's redis-server is missing and apt needs root: run" \
      "'sudo apt-get install -y redis-server', or set PUSHCODEC_REDIS_SERVER=/path/to/redis-server" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends redis-server
# Debian's package starts a system service on 6379; the tests start their own servers.
echo "install-redis: installed $(redis-server --version)"
