#!/usr/bin/env bash
# What users of the published crate rely on, checked on every run:
#   1. MSRV: the declared rust-version is what the code needs. The library uses let chains
#      (edition 2024, stable since 1.88); clippy's `incompatible_msrv` lint (part of the
#      `clippy -D warnings` step of .ci/run) fails on any std API newer than rust-version; and
#      here every normal dependency, as resolved by Cargo.lock, must declare a rust-version no
#      newer than ours. This machine kind has one stable toolchain (rustup cannot fetch
#      another), so no build with 1.88 itself is possible here.
#   2. Minimal versions: with every direct dependency at the lowest version Cargo.toml
#      allows (`cargo +nightly update -Z direct-minimal-versions`), the library builds and its
#      unit tests pass, for all features and for each protocol alone. Dev-dependencies are
#      left out of that resolution: they are not part of what users build (and a peer such as
#      sse-stream would otherwise pin shared crates above our own lower bounds).
#   3. The feature split: an SSE-only build compiles no sha1, base64 or getrandom (with or
#      without std); only
#      src/tokio/ (feature `tokio`) names tokio, reads the clock or touches sockets; each
#      feature set builds and passes clippy; the SSE-only tests pass.
#   4. The package: `cargo package --list` ships src, README, CHANGELOG and the licences, not
#      CI scripts, screenshots, test peers or their lockfiles; `cargo publish --dry-run`
#      builds the packaged crate; docs.rs's build (nightly, --cfg docsrs, all features)
#      documents without warnings and puts a feature badge on feature-gated items.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export CARGO_TERM_COLOR=never
fail() { echo "check-packaging: FAIL: $*" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
scratch_meta="$scratch/metadata.json"

echo "== 1. MSRV: dependencies' rust-version against ours"
meta="$scratch_meta"
cargo metadata --format-version 1 --all-features --locked >"$meta"
python3 - "$meta" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
pkgs = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
ours = pkgs[root]["rust_version"]
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
def ver(v):
    return tuple(int(x) for x in (v or "0").split("."))
seen, stack, bad = set(), [root], []
while stack:
    node = nodes[stack.pop()]
    for dep in node["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        # Normal and build dependencies: what a user of the crate compiles.
        if node["id"] == root and not (kinds & {None, "build"}):
            continue
        if dep["pkg"] in seen:
            continue
        seen.add(dep["pkg"])
        stack.append(dep["pkg"])
        p = pkgs[dep["pkg"]]
        if ver(p["rust_version"]) > ver(ours):
            bad.append("%s %s needs rust %s" % (p["name"], p["version"], p["rust_version"]))
print("check-packaging: rust-version %s; %d dependencies checked" % (ours, len(seen)))
if bad:
    sys.exit("check-packaging: FAIL: dependencies newer than our rust-version: " + "; ".join(bad))
PY

echo "== 2. minimal versions (cargo +nightly update -Z direct-minimal-versions)"
if ! cargo +nightly --version >/dev/null 2>&1; then
  fail "the nightly toolchain is needed for -Z direct-minimal-versions"
fi
mkdir "$scratch/crate"
cp -r Cargo.toml src "$scratch/crate/"
# The manifest without dev-dependencies and example/bench/test targets.
python3 - "$scratch/crate/Cargo.toml" <<'PY'
import sys
path = sys.argv[1]
keep, skip = [], False
for line in open(path).read().split("\n"):
    if line.startswith("["):
        skip = line.strip() in ("[dev-dependencies]", "[[example]]", "[[bench]]", "[[test]]")
    if not skip:
        keep.append(line)
open(path, "w").write("\n".join(keep))
PY
(
  cd "$scratch/crate"
  export CARGO_TARGET_DIR="$repo/target/minimal-versions"
  cargo +nightly update -Z direct-minimal-versions 2>&1 | grep -E 'Adding|Downgrading|Locking' | head -n 20 || true
  for features in "--all-features" "--no-default-features --features sse" "--no-default-features --features ws"; do
    echo "check-packaging: minimal versions, $features"
    # shellcheck disable=SC2086
    cargo +nightly build --locked --lib $features
  done
  cargo +nightly test --locked --lib --all-features -q
)

echo "== 3. feature split"
tree="$(cargo tree --locked --no-default-features --features sse -e normal --prefix none)"
for crate in sha1 base64 getrandom; do
  if grep -qE "^$crate v" <<<"$tree"; then
    fail "an SSE-only build compiles $crate: $(grep -E "^$crate v" <<<"$tree" | head -n 1)"
  fi
done
echo "check-packaging: SSE-only build compiles: $(awk '{print $1}' <<<"$tree" | sort -u | tr '\n' ' ')"
# Sans-IO: the runtime lives in src/tokio/ (feature `tokio`) and nowhere else; outside it no
# code (comments aside) names tokio or reads the clock, opens a socket or spawns a thread.
# lib.rs may only declare the module behind its feature.
sans_io="$(grep -rnE '(^|[^a-z_])tokio|Instant::now\(\)|std::net|thread::spawn' src --include='*.rs' |
  grep -v '^src/tokio/' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' |
  grep -vxE 'src/lib\.rs:[0-9]+:(#\[cfg\(feature = "tokio"\)\]|pub mod tokio;)' || true)"
[ -z "$sans_io" ] || fail "runtime code outside src/tokio/: $sans_io"
echo "check-packaging: sans-IO: only src/tokio/ uses a runtime"
for features in "sse" "ws" "ws,deflate" "sse,http" "ws,http"; do
  echo "check-packaging: clippy --no-default-features --features $features"
  cargo clippy --locked --no-default-features --features "$features" --lib -- -D warnings
done
# An SSE-only user on std (the SSE-only build without std: .ci/check-no-std.sh).
cargo clippy --locked --no-default-features --features std,sse --all-targets -- -D warnings
echo "check-packaging: the SSE-only tests"
PUSHCODEC_SKIP_INTEROP=1 cargo test --locked --no-default-features --features std,sse -q  # interop: in .ci/test

echo "== 4. the package"
list="$(cargo package --list --locked --allow-dirty 2>/dev/null)"
for want in src/lib.rs README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE; do
  grep -qx "$want" <<<"$list" || fail "the package lacks $want"
done
unwanted="$(grep -E '^(\.ci/|tests/|benches/|examples/|fuzz/)|\.png$|package-lock\.json$|requirements\.txt$' <<<"$list" || true)"
[ -z "$unwanted" ] || fail "the package ships files users do not need: $unwanted"
echo "check-packaging: the package holds $(wc -l <<<"$list") files"
cargo publish --dry-run --locked --allow-dirty 2>&1 | tail -n 3
RUSTDOCFLAGS="--cfg docsrs -D warnings" CARGO_TARGET_DIR="$repo/target/docsrs" \
  cargo +nightly doc --locked --no-deps --all-features
grep -q 'Available on <strong>crate feature <code>deflate</code></strong> only' \
  "$repo/target/docsrs/doc/pushcodec/ws/struct.Connection.html" ||
  fail "docs.rs build: no feature badge on Connection::with_deflate"
echo "check-packaging: OK"
