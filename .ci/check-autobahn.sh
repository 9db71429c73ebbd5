#!/usr/bin/env bash
# Runs the Autobahn testsuite against both roles, strictly:
#   cases 1-10 (301 cases), both roles:
#     server: wstest -m fuzzingclient  ->  examples/ws_echo --port PORT
#                                          examples/ws_echo_tokio --port PORT (same state machine, tokio driver)
#                                          examples/ws_echo_tokio --port PORT --direct (the same in the caller's task)
#     client: wstest -m fuzzingserver  <-  examples/ws_client URL AGENT
#   permessage-deflate (RFC 7692, cases 12 and 13), AUTOBAHN_DEFLATE picks how much:
#     ci   (default) server role only, 12.1.* and 13.* (144 cases): ws_echo --deflate
#     full both roles, all of 12.* and 13.* (216 cases each; ~15 min a role):
#          ws_echo --deflate via fuzzingclient, ws_client --deflate via fuzzingserver
#     off  no deflate run
# AUTOBAHN_BASE=0 skips cases 1-10 (for a local deflate-only run).
# .ci/autobahn/check_report.py fails unless every case is OK (7.1.6 and 7.13.x may be
# INFORMATIONAL); it prints the count per outcome. Reports and logs:
# target/autobahn-reports/{server,client,deflate-server,deflate-client}/.
# Needs .ci/install-autobahn.sh to have run. Every process started here is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
# shellcheck source=.ci/autobahn/env.sh
. .ci/autobahn/env.sh

EXPECTED_CASES=301
# Generous bounds: on this machine kind each role of cases 1-10 takes well under a minute.
ROLE_TIMEOUT="${AUTOBAHN_ROLE_TIMEOUT:-900}"
BASE="${AUTOBAHN_BASE:-1}"
DEFLATE="${AUTOBAHN_DEFLATE:-ci}"
case "$DEFLATE" in
  # 12.1: 18 message sizes and fragmentings of a JSON text; 13.1-13.7: the same sizes under
  # each negotiation (context takeover or not, window bits 9 or 15, several offers).
  ci) DEFLATE_CASES='"12.1.*", "13.*"' DEFLATE_EXPECTED=144 DEFLATE_ROLES=server ;;
  # 12.1-12.5: JSON, a bitmap, German text, HTML, a PDF.
  full) DEFLATE_CASES='"12.*", "13.*"' DEFLATE_EXPECTED=216 DEFLATE_ROLES="server client" ;;
  off) DEFLATE_ROLES= ;;
  *)
    echo "check-autobahn: AUTOBAHN_DEFLATE must be ci, full or off, not $DEFLATE" >&2
    exit 2
    ;;
esac
# Cases 12 and 13 send 1000 messages each; the full run takes ~15 min a role.
DEFLATE_TIMEOUT="${AUTOBAHN_DEFLATE_TIMEOUT:-2400}"
# Which roles of the deflate run (default: as AUTOBAHN_DEFLATE says), e.g. to run them apart.
DEFLATE_ROLES="${AUTOBAHN_DEFLATE_ROLES:-$DEFLATE_ROLES}"
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

# One build serves both runs: without --deflate the examples never negotiate the extension.
echo "check-autobahn: building the examples (release, --features deflate,tokio)"
cargo build --release --features deflate,tokio --example ws_echo --example ws_echo_tokio --example ws_client
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
examples="$target_dir/release/examples"

reports="$repo/target/autobahn-reports"
status=0

# run_server_role DIR TEMPLATE TIMEOUT [NAME=VALUE...] -- wstest -m fuzzingclient, whose servers
# are already listening; fails the run (status=1) when wstest fails or times out.
run_server_role() {
  local dir=$1 template=$2 limit=$3 start
  shift 3
  spec "$template" "$dir/fuzzingclient.json" "$dir" "$@"
  start=$SECONDS
  if ! (cd "$dir" && timeout --kill-after=10 "$limit" "$PY27" "$repo/.ci/autobahn/wstest.py" "$AUTOBAHN_DIR" \
    -m fuzzingclient -s "$dir/fuzzingclient.json" >"$dir/wstest.log" 2>&1); then
    echo "check-autobahn: wstest fuzzingclient failed or timed out; tail of $dir/wstest.log:" >&2
    tail -n 30 "$dir/wstest.log" >&2 || true
    status=1
  fi
  echo "check-autobahn: server role ($(basename "$dir")) ran $((SECONDS - start)) s"
}

# run_client_role DIR TEMPLATE TIMEOUT AGENT [CASES] [CLIENT ARGS...] -- ws_client against
# wstest -m fuzzingserver; fails the run (status=1) when ws_client fails or times out.
run_client_role() {
  local dir=$1 template=$2 limit=$3 agent=$4 cases=$5 port start
  shift 5
  port="$(free_port)"
  echo "check-autobahn: client role ($(basename "$dir")): wstest -m fuzzingserver on 127.0.0.1:$port, ws_client $*"
  spec "$template" "$dir/fuzzingserver.json" "$dir" "PORT=$port" "CASES=$cases"
  # --webport 0: no status web server (its default port 8080 clashes with any other run).
  (cd "$dir" && exec "$PY27" "$repo/.ci/autobahn/wstest.py" "$AUTOBAHN_DIR" \
    -m fuzzingserver --webport 0 -s "$dir/fuzzingserver.json" >"$dir/wstest.log" 2>&1) &
  pids+=($!)
  wait_listening "$port" "$!" "$dir/wstest.log"
  start=$SECONDS
  if ! timeout --kill-after=10 "$limit" "$examples/ws_client" "ws://127.0.0.1:$port" "$agent" "$@" \
    >"$dir/ws_client.log" 2>&1; then
    echo "check-autobahn: ws_client failed or timed out; tail of $dir/ws_client.log:" >&2
    tail -n 30 "$dir/ws_client.log" >&2 || true
    status=1
  fi
  echo "check-autobahn: client role ($(basename "$dir")) ran $((SECONDS - start)) s"
  cleanup
}

# --- cases 1-10, server role: wstest's fuzzing client against ws_echo and ws_echo_tokio ---
if [ "$BASE" != 0 ]; then
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
  direct_port="$(free_port)"
  "$examples/ws_echo_tokio" --port "$direct_port" --direct >"$dir/ws_echo_direct.log" 2>&1 &
  pids+=($!)
  wait_listening "$direct_port" "$!" "$dir/ws_echo_direct.log"
  echo "check-autobahn: server role: ws_echo on 127.0.0.1:$echo_port, ws_echo_tokio on" \
    "127.0.0.1:$tokio_port, ws_echo_tokio --direct on 127.0.0.1:$direct_port, wstest -m fuzzingclient"
  run_server_role "$dir" .ci/autobahn/fuzzingclient.json.in "$ROLE_TIMEOUT" \
    "ECHO_PORT=$echo_port" "TOKIO_PORT=$tokio_port" "DIRECT_PORT=$direct_port"
  cleanup
  for agent in pushcodec-ws_echo pushcodec-ws_echo_tokio pushcodec-ws_echo_direct; do
    python3 .ci/autobahn/check_report.py "$dir" "$agent" "$EXPECTED_CASES" "server ($agent)" || status=1
  done

  # --- cases 1-10, client role: ws_client against wstest's fuzzing server ----------------
  dir="$reports/client"
  rm -rf "$dir" && mkdir -p "$dir"
  run_client_role "$dir" .ci/autobahn/fuzzingserver.json.in "$ROLE_TIMEOUT" pushcodec-ws_client ""
  python3 .ci/autobahn/check_report.py "$dir" pushcodec-ws_client "$EXPECTED_CASES" \
    "client (pushcodec-ws_client)" || status=1
fi

# --- permessage-deflate, cases 12 and 13 ---------------------------------------------------
for role in $DEFLATE_ROLES; do
  dir="$reports/deflate-$role"
  rm -rf "$dir" && mkdir -p "$dir"
  if [ "$role" = server ]; then
    agent=pushcodec-ws_echo-deflate
    echo_port="$(free_port)"
    "$examples/ws_echo" --port "$echo_port" --deflate >"$dir/ws_echo.log" 2>&1 &
    pids+=($!)
    wait_listening "$echo_port" "$!" "$dir/ws_echo.log"
    echo "check-autobahn: deflate server role: ws_echo --deflate on 127.0.0.1:$echo_port," \
      "wstest -m fuzzingclient, cases $DEFLATE_CASES"
    run_server_role "$dir" .ci/autobahn/fuzzingclient-deflate.json.in "$DEFLATE_TIMEOUT" \
      "ECHO_PORT=$echo_port" "CASES=$DEFLATE_CASES"
    cleanup
  else
    agent=pushcodec-ws_client-deflate
    run_client_role "$dir" .ci/autobahn/fuzzingserver-deflate.json.in "$DEFLATE_TIMEOUT" "$agent" \
      "$DEFLATE_CASES" --deflate
  fi
  python3 .ci/autobahn/check_report.py "$dir" "$agent" "$DEFLATE_EXPECTED" "deflate $role ($agent)" ||
    status=1
done

if ((status != 0)); then
  echo "check-autobahn: FAILED (reports: $reports/*/index.html)" >&2
fi
exit "$status"
