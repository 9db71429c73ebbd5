#!/usr/bin/env bash
# Runs the Autobahn testsuite (cases 1-10, 301 cases) against both roles, strictly:
#   server: wstest -m fuzzingclient  ->  examples/ws_echo --port PORT
#                                        examples/ws_echo_tokio --port PORT (same state machine)
#   client: wstest -m fuzzingserver  <-  examples/ws_client URL AGENT
# then .ci/autobahn/check_report.py fails unless every case is OK (7.1.6 and 7.13.x may be
# INFORMATIONAL). Reports and logs: target/autobahn-reports/{server,client}/.
# Needs .ci/install-autobahn.sh to have run. Every process started here is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source=.ci/autobahn/env.sh
. .ci/autobahn/env.sh

EXPECTED_CASES=301
# Generous bounds: on this machine kind each role takes well under a minute.
ROLE_TIMEOUT="${AUTOBAHN_ROLE_TIMEOUT:-900}"
START_TIMEOUT=30

if ! PY27="$(find_python27)" || ! autobahn_installed; then
  echo "check-autobahn: the Autobahn testsuite is not installed in $AUTOBAHN_DIR; run .ci/install-autobahn.sh" >&2
  exit 1
fi

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # Bounded: a process that ignores SIGTERM gets SIGKILL after 5 s.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PORT PID LOG: until something accepts on 127.0.0.1:PORT, bounded.
wait_listening() {
  local port=$1 pid=$2 log=$3 deadline=$((SECONDS + START_TIMEOUT))
  until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "check-autobahn: process $pid exited before listening on $port; its log ($log):" >&2
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "check-autobahn: nothing listens on 127.0.0.1:$port after ${START_TIMEOUT}s; log ($log):" >&2
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# spec TEMPLATE OUT OUTDIR [NAME=VALUE...]: fills @OUTDIR@ and each @NAME@.
spec() {
  local template=$1 out=$2 args=(-e "s|@OUTDIR@|$3|g") pair
  shift 3
  for pair in "$@"; do args+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${args[@]}" "$template" >"$out"
}

echo "check-autobahn: building the examples (release)"
cargo build --release --example ws_echo --example ws_echo_tokio --example ws_client
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
examples="$target_dir/release/examples"

reports="$repo/target/autobahn-reports"
status=0

# --- server role: wstest's fuzzing client against ws_echo and ws_echo_tokio ------------
dir="$reports/server"
rm -rf "$dir" && mkdir -p "$dir"
echo_port="$(free_port)"
"$examples/ws_echo" --port "$echo_port" >"$dir/ws_echo.log" 2>&1 &
pids+=($!)
wait_listening "$echo_port" "$!" "$dir/ws_echo.log"
tokio_port="$(free_port)"
"$examples/ws_echo_tokio" --port "$tokio_port" >"$dir/ws_echo_tokio.log" 2>&1 &
pids+=($!)
wait_listening "$tokio_port" "$!" "$dir/ws_echo_tokio.log"
echo "check-autobahn: server role: ws_echo on 127.0.0.1:$echo_port, ws_echo_tokio on" \
  "127.0.0.1:$tokio_port, wstest -m fuzzingclient"
spec .ci/autobahn/fuzzingclient.json.in "$dir/fuzzingclient.json" "$dir" \
  "ECHO_PORT=$echo_port" "TOKIO_PORT=$tokio_port"
start=$SECONDS
if ! (cd "$dir" && timeout --kill-after=10 "$ROLE_TIMEOUT" "$PY27" "$repo/.ci/autobahn/wstest.py" "$AUTOBAHN_DIR" \
  -m fuzzingclient -s "$dir/fuzzingclient.json" >"$dir/wstest.log" 2>&1); then
  echo "check-autobahn: wstest fuzzingclient failed or timed out; tail of $dir/wstest.log:" >&2
  tail -n 30 "$dir/wstest.log" >&2 || true
  status=1
fi
echo "check-autobahn: server role ran $((SECONDS - start)) s"
cleanup
for agent in pushcodec-ws_echo pushcodec-ws_echo_tokio; do
  python3 .ci/autobahn/check_report.py "$dir" "$agent" "$EXPECTED_CASES" "server ($agent)" || status=1
done

# --- client role: ws_client against wstest's fuzzing server -----------------------------
dir="$reports/client"
rm -rf "$dir" && mkdir -p "$dir"
agent=pushcodec-ws_client
port="$(free_port)"
echo "check-autobahn: client role: wstest -m fuzzingserver on 127.0.0.1:$port, ws_client"
spec .ci/autobahn/fuzzingserver.json.in "$dir/fuzzingserver.json" "$dir" "PORT=$port"
(cd "$dir" && exec "$PY27" "$repo/.ci/autobahn/wstest.py" "$AUTOBAHN_DIR" \
  -m fuzzingserver -s "$dir/fuzzingserver.json" >"$dir/wstest.log" 2>&1) &
pids+=($!)
wait_listening "$port" "$!" "$dir/wstest.log"
start=$SECONDS
if ! timeout --kill-after=10 "$ROLE_TIMEOUT" "$examples/ws_client" "ws://127.0.0.1:$port" "$agent" \
  >"$dir/ws_client.log" 2>&1; then
  echo "check-autobahn: ws_client failed or timed out; tail of $dir/ws_client.log:" >&2
  tail -n 30 "$dir/ws_client.log" >&2 || true
  status=1
fi
echo "check-autobahn: client role ran $((SECONDS - start)) s"
cleanup
python3 .ci/autobahn/check_report.py "$dir" "$agent" "$EXPECTED_CASES" "client ($agent)" || status=1

if ((status != 0)); then
  echo "check-autobahn: FAILED (reports: $reports/{server,client}/index.html)" >&2
fi
exit "$status"
