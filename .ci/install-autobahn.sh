#!/usr/bin/env bash
# Installs the Autobahn WebSocket testsuite (wstest, autobahntestsuite 25.10.1) for
# .ci/check-autobahn.sh. Needs CPython 2.7 (pyenv's 2.7.18 on this machine kind) and PyPI.
# Idempotent: does nothing when $AUTOBAHN_DIR already holds a working install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=.ci/autobahn/env.sh
. "$here/autobahn/env.sh"

if ! PY27="$(find_python27)"; then
  echo "install-autobahn: no CPython 2.7 found (looked under \$PYENV_ROOT/versions/2.7*, /usr/bin);" \
    "set AUTOBAHN_PYTHON=/path/to/python2.7" >&2
  exit 1
fi

if autobahn_installed; then
  echo "install-autobahn: autobahntestsuite $AUTOBAHN_VERSION already in $AUTOBAHN_DIR"
  exit 0
fi

echo "install-autobahn: installing autobahntestsuite $AUTOBAHN_VERSION into $AUTOBAHN_DIR with $PY27"
# Install beside the final place, then rename, so an interrupted run never leaves a
# half-filled directory that looks installed.
staging="$AUTOBAHN_DIR.partial.$$"
rm -rf "$staging"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$(dirname "$AUTOBAHN_DIR")"
timeout 900 "$PY27" -m pip install --disable-pip-version-check --no-warn-script-location \
  --no-input --retries 5 --timeout 60 \
  --target "$staging" -c "$here/autobahn/constraints-py27.txt" \
  "autobahntestsuite==$AUTOBAHN_VERSION"
echo "$AUTOBAHN_VERSION" >"$staging/.pushcodec-installed"
rm -rf "$AUTOBAHN_DIR"
mv "$staging" "$AUTOBAHN_DIR"
trap - EXIT

if ! autobahn_installed; then
  echo "install-autobahn: installed, but autobahntestsuite does not import from $AUTOBAHN_DIR" >&2
  exit 1
fi
wstest --help >/dev/null
echo "install-autobahn: ok ($AUTOBAHN_DIR)"
