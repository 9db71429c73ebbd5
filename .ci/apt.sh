# Sourced by the scripts that need Debian packages (install-redis.sh, install-browser.sh,
# check-h3.sh, check-instructions.sh): the one place that knows how to run apt here.
#
# apt_install WHO HINT PACKAGE...
#   Installs PACKAGE... with apt, as root or through passwordless sudo. Without either it
#   prints "WHO: PACKAGE... missing and apt needs root: HINT" and returns 1.
apt_install() {
  local who=$1 hint=$2 sudo=()
  shift 2
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "$who: $* missing and apt needs root: $hint" >&2
      return 1
    fi
  fi
  # `env` rather than an exported variable: sudo resets the environment.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}
