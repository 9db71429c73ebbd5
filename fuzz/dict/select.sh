# shellcheck shell=bash
# Sourced by .ci/check-fuzz.sh and fuzz/fuzz-long.sh: the dictionary of
# each fuzz target.
fuzz_dict() {
  case "$1" in
    ws_handshake_*) echo fuzz/dict/ws_handshake.dict ;;
    ws_*) echo fuzz/dict/ws_frame.dict ;;
    sse_*) echo fuzz/dict/sse.dict ;;
    *) echo "no dictionary for fuzz target $1" >&2; return 1 ;;
  esac
}
