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
# shellcheck source=.ci/apt.sh
source "$(dirname "$0")/apt.sh"
apt_install install-redis \
  "run 'sudo apt-get install -y redis-server', or set PUSHCODEC_REDIS_SERVER=/path/to/redis-server" \
  redis-server
# Debian's package starts a system service on 6379; the tests start their own servers.
echo "install-redis: installed $(redis-server --version)"
