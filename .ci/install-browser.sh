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
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-browser: Debian's chromium is missing and apt needs root: run" \
      "'sudo apt-get install -y chromium', or set PUSHCODEC_CHROMIUM=/path/to/chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji
echo "install-browser: installed $(/usr/bin/chromium --version)"
