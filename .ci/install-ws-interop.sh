#!/usr/bin/env bash
# Installs the WebSocket interop peers that tests/peers/ws.rs starts:
#   Python `websockets` (pinned in tests/interop/ws/requirements.txt) into the venv
#     tests/interop/ws/.venv  (the tests run tests/interop/ws/.venv/bin/python)
#   Node `ws` (pinned by tests/interop/ws/package-lock.json) into
#     tests/interop/ws/node_modules  (the tests run `node` in tests/interop/ws)
# Needs python3 >= 3.10 with venv, node >= 18 and npm, and the PyPI and npm registries.
# Idempotent: skips each peer that is already installed at the pinned version.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/interop/ws"
cd "$dir"

py_version="$(sed -n 's/^websockets==//p' requirements.txt)"
venv_py="$dir/.venv/bin/python"
if [ -x "$venv_py" ] &&
  "$venv_py" -c 'import sys, websockets; sys.exit(websockets.__version__ != sys.argv[1])' "$py_version" 2>/dev/null; then
  echo "install-ws-interop: python websockets $py_version already in $dir/.venv"
else
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    { echo "install-ws-interop: python3 >= 3.10 needed, found $(python3 --version 2>&1)" >&2; exit 1; }
  rm -rf .venv
  python3 -m venv .venv
  timeout 600 "$venv_py" -m pip install --disable-pip-version-check --no-input --retries 5 \
    --timeout 60 -r requirements.txt
  "$venv_py" -c 'import sys, websockets; sys.exit(websockets.__version__ != sys.argv[1])' "$py_version"
  echo "install-ws-interop: python websockets $py_version installed in $dir/.venv"
fi

node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  { echo "install-ws-interop: node >= 18 needed, found $(node --version 2>&1)" >&2; exit 1; }
node_version="$(node -p 'require("./package-lock.json").packages["node_modules/ws"].version')"
if [ "$(node -p 'try { require("./node_modules/ws/package.json").version } catch (e) { "" }')" = "$node_version" ]; then
  echo "install-ws-interop: node ws $node_version already in $dir/node_modules"
else
  timeout 600 npm ci --no-audit --no-fund --ignore-scripts
  echo "install-ws-interop: node ws $node_version installed in $dir/node_modules"
fi
