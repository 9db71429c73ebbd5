#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the demo's browser
# test (tests/demo_browser.rs) and .ci/check-deflate-browser.sh. Idempotent: does
# nothing when it is already there. apt needs root, or sudo without a password.
set -euo pipefail
if [ -n "${PUSHCODEC_CHROMIUM:-}" ] && [ -x "$PUSHCODEC_CHROMIUM" ]; then
  echo "install-browser: using PUSHCODEC_CHROMIUM=$PUSHCODEC_CHROMIUM"
  exit 0
fi
if [ -x /usr/bin/chromium ]; then
  echo "install-browser: chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi
# shellcheck source=.ci/apt.sh
source "$(dirname "$0")/apt.sh"
apt_install install-browser \
  "run 'sudo apt-get install -y chromium', or set PUSHCODEC_CHROMIUM=/path/to/chromium" \
  chromium fonts-dejavu-core fonts-noto-color-emoji
echo "install-browser: installed $(/usr/bin/chromium --version)"
