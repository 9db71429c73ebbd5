#!/usr/bin/env bash
# permessage-deflate (RFC 7692) with a real browser: headless Chromium against
# examples/ws_echo --deflate.
#
# A page served from 127.0.0.1 opens a WebSocket to ws_echo through a byte-counting TCP
# proxy, sends a 1 MiB JSON-like text, a 256 KiB binary, a short non-ASCII text (sent
# uncompressed: under min_compress_size) and an empty text, each waiting for its echo,
# and POSTs back what it got and `ws.extensions`. The check fails unless every echo is
# exact, the browser reports permessage-deflate, and the wire carried under 512 KiB each
# way (over 1.2 MiB of payload each way: both directions compressed).
# Needs Chromium (/usr/bin/chromium, or CHROMIUM=path; .ci/install-browser.sh installs it).
# Chromium is started here and killed on exit, by its process id. Logs: target/deflate-browser/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
TIMEOUT=90
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "check-deflate-browser: no chromium found; run .ci/install-browser.sh (or set CHROMIUM)" >&2
  exit 1
fi

echo "check-deflate-browser: building ws_echo (release, --features deflate)"
cargo build --release --features deflate --example ws_echo
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
out="$repo/target/deflate-browser"
rm -rf "$out" && mkdir -p "$out"

# The driver: HTTP server for the page and the result, the counting proxy, ws_echo and
# Chromium as children; every wait bounded; every child killed by its handle at the end.
exec timeout --kill-after=10 "$((TIMEOUT + 30))" python3 - "$target_dir/release/examples/ws_echo" \
  "$chromium" "$out" "$TIMEOUT" <<'PY'
import asyncio
import json
import socket
import subprocess
import sys
import time

ECHO, CHROMIUM, OUT, TIMEOUT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
WIRE_LIMIT = 512 * 1024

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>pushcodec permessage-deflate</title>
<script>
(async () => {
  const report = { ok: false, checks: [], userAgent: navigator.userAgent };
  const check = (name, ok, detail) => report.checks.push({ name, ok: !!ok, detail: detail || '' });
  try {
    const rows = [];
    for (let i = 0, size = 2; size < (1 << 20); i++) {
      rows.push({ id: i, user: 'user' + (i % 97), active: i % 3 === 0, score: (i * 37) % 1000,
                  tags: ['alpha', 'beta', 'gamma'].slice(0, 1 + (i % 3)), note: 'r\\u00e9sum\\u00e9 \\u2713' });
      size += JSON.stringify(rows[i]).length + 1;
    }
    const json = JSON.stringify(rows);
    const binary = new Uint8Array(256 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
    const ws = new WebSocket('ws://127.0.0.1:@PROXY@/');
    ws.binaryType = 'arraybuffer';
    const queue = [];
    let wake = null;
    ws.onmessage = (e) => { queue.push(e.data); if (wake) wake(); };
    const next = () => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 20 s')), 20000);
      const take = () => { if (queue.length) { clearTimeout(timer); wake = null; resolve(queue.shift()); } };
      wake = take; take();
    });
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('websocket error')); });
    report.extensions = ws.extensions;
    const same = (a, b) => {
      if (typeof a === 'string' || typeof b === 'string') return a === b;
      const x = new Uint8Array(a), y = new Uint8Array(b);
      return x.length === y.length && x.every((v, i) => v === y[i]);
    };
    for (const [name, message] of [['json 1 MiB', json], ['binary 256 KiB', binary.buffer],
                                   ['short text', 'h\\u00e9llo \\u2713 \\ud83d\\ude00'], ['empty text', '']]) {
      ws.send(message);
      const echo = await next();
      check(name, same(echo, message), typeof echo === 'string' ? 'text of ' + echo.length : 'binary of ' + echo.byteLength);
    }
    report.payload = new TextEncoder().encode(json).length + binary.length;
    ws.close(1000, 'done');
    await new Promise((resolve) => { ws.onclose = (e) => { report.close = e.code; resolve(); }; });
    report.ok = report.checks.every((c) => c.ok) && report.close === 1000;
  } catch (e) {
    check('no-exception', false, String(e));
  }
  await fetch('/result', { method: 'POST', body: JSON.stringify(report) });
  document.body.textContent = 'done';
})();
</script>
<body>running</body>
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main():
    loop = asyncio.get_running_loop()
    result = loop.create_future()
    counted = {"to_server": 0, "to_browser": 0}
    echo_port, proxy_port = free_port(), free_port()

    async def pipe(reader, writer, key):
        try:
            while data := await reader.read(65536):
                counted[key] += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def proxy(browser_r, browser_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", echo_port)
        await asyncio.gather(pipe(browser_r, server_w, "to_server"),
                             pipe(server_r, browser_w, "to_browser"))

    async def http(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # Chromium opens spare connections and closes them unused
            return
        first = head.split(b"\r\n", 1)[0].decode()
        length = 0
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        if first.startswith("POST /result"):
            if not result.done():
                result.set_result(json.loads(body))
            reply, kind = b"ok", "text/plain"
        else:
            reply, kind = PAGE.replace("@PROXY@", str(proxy_port)).encode(), "text/html; charset=utf-8"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % (kind.encode(), len(reply)) + reply)
        await writer.drain()
        writer.close()

    echo_log = open(f"{OUT}/ws_echo.log", "w")
    echo = subprocess.Popen([ECHO, "--port", str(echo_port), "--deflate"],
                            stdout=echo_log, stderr=subprocess.STDOUT)
    browser = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", echo_port), 1).close()
                break
            except OSError:
                if echo.poll() is not None or time.monotonic() > deadline:
                    print("check-deflate-browser: ws_echo did not start; see its log", file=sys.stderr)
                    return 1
                await asyncio.sleep(0.2)
        proxy_server = await asyncio.start_server(proxy, "127.0.0.1", proxy_port)
        http_server = await asyncio.start_server(http, "127.0.0.1", 0)
        http_port = http_server.sockets[0].getsockname()[1]
        chromium_log = open(f"{OUT}/chromium.log", "w")
        browser = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--no-proxy-server",
             f"--user-data-dir={OUT}/profile", f"http://127.0.0.1:{http_port}/"],
            stdout=chromium_log, stderr=subprocess.STDOUT)
        try:
            report = await asyncio.wait_for(result, TIMEOUT)
        except asyncio.TimeoutError:
            print(f"check-deflate-browser: no result from Chromium within {TIMEOUT} s; "
                  f"see {OUT}/chromium.log", file=sys.stderr)
            return 1
        await asyncio.sleep(0.5)  # let the proxy count the close handshake
        proxy_server.close()
        http_server.close()
    finally:
        for child in (browser, echo):
            if child is not None:
                child.kill()
                child.wait()
    with open(f"{OUT}/result.json", "w") as f:
        json.dump({"report": report, "wire": counted}, f, indent=2)
    print(f"check-deflate-browser: {report.get('userAgent')}")
    print(f"check-deflate-browser: ws.extensions = {report.get('extensions')!r}")
    for c in report.get("checks", []):
        print(f"check-deflate-browser:   {'ok  ' if c['ok'] else 'FAIL'} {c['name']} ({c['detail']})")
    payload = report.get("payload", 0)
    print(f"check-deflate-browser: payload {payload} bytes each way; on the wire "
          f"{counted['to_server']} to ws_echo, {counted['to_browser']} back")
    failures = []
    if not report.get("ok"):
        failures.append(f"the page's checks failed (close code {report.get('close')})")
    if "permessage-deflate" not in (report.get("extensions") or ""):
        failures.append("the browser did not agree permessage-deflate")
    if not payload or max(counted.values()) >= WIRE_LIMIT:
        failures.append(f"not compressed: over {WIRE_LIMIT} bytes on the wire in a direction")
    for failure in failures:
        print(f"check-deflate-browser: FAIL: {failure}", file=sys.stderr)
    if not failures:
        print("check-deflate-browser: OK")
    return 1 if failures else 0


sys.exit(asyncio.run(main()))
PY
