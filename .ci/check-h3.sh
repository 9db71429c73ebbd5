#!/usr/bin/env bash
# RFC 9220 (WebSocket over HTTP/3) end to end on quiche (issue 21): builds the separate crate
# tests/h3/ (its own workspace and Cargo.lock, so the main build never compiles quiche or
# BoringSSL), lints it, and runs its tests: our quiche client and server on loopback UDP, and
# the interop tests against aioquic + wsproto (from PyPI, in tests/h3/.venv).
#
# System packages: quiche's default TLS is BoringSSL, built from source by the boring-sys
# crate: cmake, a C/C++ compiler, and libclang for bindgen (no Go, no ninja). Installed here
# with apt when missing (idempotent; root, or sudo without a password). Python >= 3.10 with
# venv for the interop peer.
#
# Env: CARGO_TARGET_DIR (default tests/h3/target), H3_INTEROP_PYTHON (a python with aioquic
# and wsproto, instead of the venv).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
crate=tests/h3

have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null ||
    compgen -G '/usr/lib/*-linux-gnu/libclang*.so*' >/dev/null
}
missing=()
command -v cmake >/dev/null || missing+=(cmake)
# cmake's default generator; Debian's cmake only recommends it.
command -v make >/dev/null || missing+=(make)
command -v c++ >/dev/null || missing+=(g++)
command -v cc >/dev/null || missing+=(gcc)
have_libclang || missing+=(libclang-dev)
if [ -z "${H3_INTEROP_PYTHON:-}" ]; then
  # The interop peer's venv (below): minimal Debian lacks python3-venv.
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "check-h3: installing ${missing[*]}"
  # shellcheck source=.ci/apt.sh
  source .ci/apt.sh
  apt_install check-h3 "run 'sudo apt-get install -y ${missing[*]}'" "${missing[@]}"
else
  echo "check-h3: cmake, make, a C/C++ compiler, libclang and python3-venv already installed"
fi

# The interop peer: aioquic + wsproto at the versions in requirements.txt.
if [ -z "${H3_INTEROP_PYTHON:-}" ]; then
  venv_py="$crate/.venv/bin/python"
  if [ -x "$venv_py" ] && "$venv_py" -c 'import aioquic, wsproto' 2>/dev/null; then
    echo "check-h3: aioquic and wsproto already in $crate/.venv"
  else
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
      { echo "check-h3: python3 >= 3.10 needed, found $(python3 --version 2>&1)" >&2; exit 1; }
    python3 -m venv "$crate/.venv"
    timeout 600 "$venv_py" -m pip install -q --disable-pip-version-check --no-input --retries 5 \
      -r "$crate/interop/requirements.txt"
    echo "check-h3: installed aioquic and wsproto in $crate/.venv"
  fi
fi
setup=$((SECONDS - start))

export CARGO_TERM_COLOR=never
manifest=(--manifest-path "$crate/Cargo.toml")
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo fmt "${manifest[@]}" -- --check
# Tests first: their build runs BoringSSL's cmake once; clippy reuses that build script's output.
H3_INTEROP_REQUIRED=1 cargo test "${manifest[@]}" --locked 2>&1 | tee "$log"
cargo clippy "${manifest[@]}" --locked --all-targets -q -- -D warnings
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "check-h3: ${passed} passed, ${failed} failed in $((SECONDS - start)) s (setup ${setup} s; quiche $(grep -A1 'name = "quiche"' "$crate/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p'))"
