# shellcheck shell=bash
# Sourced by .ci/install-autobahn.sh and .ci/check-autobahn.sh: where the Autobahn testsuite
# lives and which Python 2.7 runs it. Both can be overridden from the environment.

# Outside the repo so that fresh clones (CI) and `cargo clean` keep it.
AUTOBAHN_DIR="${AUTOBAHN_DIR:-/opt/autobahn-testsuite-25.10.1}"
AUTOBAHN_VERSION=25.10.1

# autobahntestsuite runs on CPython 2.7 only; this machine kind has 2.7.18 under pyenv.
find_python27() {
  if [ -n "${AUTOBAHN_PYTHON:-}" ]; then
    echo "$AUTOBAHN_PYTHON"
    return 0
  fi
  local root="${PYENV_ROOT:-$HOME/.pyenv}" candidate
  for candidate in "$root"/versions/2.7.18/bin/python2.7 "$root"/versions/2.7*/bin/python2.7 \
    /usr/bin/python2.7 /usr/local/bin/python2.7; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Runs wstest with the given arguments (see .ci/autobahn/wstest.py).
wstest() {
  "$PY27" "$(dirname "${BASH_SOURCE[0]}")/wstest.py" "$AUTOBAHN_DIR" "$@"
}

# True when the install in $AUTOBAHN_DIR is complete and importable.
autobahn_installed() {
  [ -f "$AUTOBAHN_DIR/.pushcodec-installed" ] &&
    [ "$(cat "$AUTOBAHN_DIR/.pushcodec-installed")" = "$AUTOBAHN_VERSION" ] &&
    "$PY27" -c "import site, sys; site.addsitedir(sys.argv[1]); import autobahntestsuite.wstest, zope.interface, twisted" \
      "$AUTOBAHN_DIR" 2>/dev/null
}
