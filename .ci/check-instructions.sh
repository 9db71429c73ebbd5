#!/usr/bin/env bash
# The deterministic speed guard (issue 23): instructions per message on the
# hot rows, counted by callgrind, against the figures in
# benches/instructions.txt. Fails when a row costs more than 5 % above its
# figure; prints every row beside its figure. Instruction counts do not move
# with machine noise, so this can gate CI where wall-clock times cannot.
#
# After a change that makes a row cheaper (or, justified, dearer):
#   UPDATE=1 bash .ci/check-instructions.sh   # rewrites the figures
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  echo "installing valgrind (Debian) for callgrind"
  # shellcheck source=.ci/apt.sh
  source .ci/apt.sh
  apt_install check-instructions "run 'sudo apt-get install -y valgrind'" valgrind >/dev/null
fi

bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
figures=benches/instructions.txt

ir() { # total instructions of `bin ROW N`
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    grep -o 'refs: *[0-9,]*' | tr -dc 0-9
}

failed=0
new=$(mktemp)
trap 'rm -f "$new"' EXIT
printf '%-12s %10s %10s %7s\n' row figure now change
while read -r row figure; do
  case "$row" in ''|'#'*) echo "$row $figure" >>"$new"; continue ;; esac
  a=$(ir "$row" 1000)
  b=$(ir "$row" 2000)
  now=$(python3 -c "print(round(($b - $a) / 1000, 1))")
  change=$(python3 -c "print(f'{($now / $figure - 1) * 100:+.1f}%')")
  printf '%-12s %10s %10s %7s\n' "$row" "$figure" "$now" "$change"
  echo "$row $now" >>"$new"
  if python3 -c "import sys; sys.exit(0 if $now > $figure * 1.05 else 1)"; then
    echo "  regression: $row costs more than 5 % over its figure" >&2
    failed=1
  fi
done <"$figures"

if [ "${UPDATE:-0}" = 1 ]; then
  cp "$new" "$figures"
  echo "figures written to $figures"
  exit 0
fi
exit "$failed"
