#!/usr/bin/env python3
"""Python `websockets` peer for pushcodec's WebSocket interop tests (tests/peers/ws.rs).

    peer.py client URL [COMPRESSION]   connect to URL, run the exchange below against an echo
                          server, print one JSON line, exit 0 only if every check passed
    peer.py server PORT [COMPRESSION]  serve one WebSocket connection on 127.0.0.1:PORT (0: any
                          free port); print {"listening": PORT} once bound, echo every message as
                          it came (text as text, binary as binary), then print one JSON line
                          saying what was received and how the peer closed, and exit

COMPRESSION (permessage-deflate, RFC 7692) is one of
    default     websockets' own default (compression="deflate", both roles: window bits 12,
                memLevel 5, context takeover)
    deflate     the same
    no-context  on, asking for no context takeover in both directions: the client offers
                server_no_context_takeover and client_no_context_takeover, the server answers both
                whatever the offer
Both JSON lines carry "extensions": the Sec-WebSocket-Extensions header of the handshake
response (null when none), so the caller can check what was agreed.

The client exchange, each step waiting for its echo: a text message (non-ASCII), a binary
message (all 256 byte values), a text message in three fragments split inside a code point,
a 1 MiB binary message, a ping (expects the pong with the same payload), then a close with
code 4000 and reason "bye" (expects the peer's close reply with code 4000). Every wait is
bounded; the whole run stops after 60 s. Installed by .ci/install-ws-interop.sh.
"""
import asyncio
import json
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

PEER = f"python-websockets/{websockets.__version__}"
TEXT = "hello from python \u2713 \U0001f600"
BINARY = bytes(range(256))
# "fragmented \u00b5 message" with the two bytes of U+00B5 in different frames.
FRAGMENTS = [b"fragmented \xc2", b"\xb5 mes", b"sage"]
BIG = bytes((i * 7 + 3) & 0xFF for i in range(1 << 20))
PING = b"ping-1"
STEP_TIMEOUT = 20
TOTAL_TIMEOUT = 60
MAX_SIZE = 64 << 20
MODES = ("default", "deflate", "no-context")


def compression_options(mode, client):
    """Keyword arguments for connect()/serve() in the given COMPRESSION mode."""
    if mode in ("default", "deflate"):
        return {"compression": "deflate"}
    factory = ClientPerMessageDeflateFactory if client else ServerPerMessageDeflateFactory
    return {"compression": None, "extensions": [factory(
        server_no_context_takeover=True, client_no_context_takeover=True)]}


def extensions_header(ws):
    return ws.response.headers.get("Sec-WebSocket-Extensions") if ws.response else None


def describe(data):
    if isinstance(data, str):
        return f"text of {len(data.encode())} bytes: {data[:40]!r}"
    return f"binary of {len(data)} bytes: {data[:16].hex()}"


async def run_client(url, mode):
    checks = []

    def check(name, ok, detail=""):
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    async def echo(name, send, expected):
        await asyncio.wait_for(send, STEP_TIMEOUT)
        got = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
        ok = got == expected and type(got) is type(expected)
        check(name, ok, "" if ok else f"expected {describe(expected)}, got {describe(got)}")

    close = {}
    extensions = None
    try:
        async with connect(url, max_size=MAX_SIZE, open_timeout=STEP_TIMEOUT,
                           close_timeout=STEP_TIMEOUT,
                           **compression_options(mode, client=True)) as ws:
            extensions = extensions_header(ws)
            await echo("text", ws.send(TEXT), TEXT)
            await echo("binary", ws.send(BINARY), BINARY)
            await echo("fragmented", ws.send(FRAGMENTS, text=True), b"".join(FRAGMENTS).decode())
            await echo("1MiB", ws.send(BIG), BIG)
            pong = await ws.ping(PING)
            await asyncio.wait_for(pong, STEP_TIMEOUT)
            check("ping", True)
            await ws.close(4000, "bye")
            rcvd = ws.protocol.close_rcvd
            close = {"code": rcvd.code if rcvd else None, "reason": rcvd.reason if rcvd else None}
            check("close", rcvd is not None and rcvd.code == 4000,
                  f"peer's close frame: {close}")
    except Exception as e:  # reported in the JSON line, never swallowed
        check("no-exception", False, f"{type(e).__name__}: {e}")
    ok = bool(checks) and all(c["ok"] for c in checks)
    print(json.dumps({"peer": PEER, "mode": "client", "ok": ok, "checks": checks,
                      "close": close, "extensions": extensions},
                     separators=(",", ":")), flush=True)
    return 0 if ok else 1


async def run_server(port, mode):
    done = asyncio.get_running_loop().create_future()
    summary = {"peer": PEER, "mode": "server", "messages": [], "extensions": None}

    async def handler(ws):
        summary["extensions"] = extensions_header(ws)
        try:
            async for message in ws:
                summary["messages"].append(describe(message)[:60])
                await ws.send(message)
        except websockets.exceptions.ConnectionClosed:
            pass  # any close code: the summary reports it and the test judges it
        except Exception as e:
            summary["error"] = f"{type(e).__name__}: {e}"
        rcvd = ws.protocol.close_rcvd
        summary["close_code"] = rcvd.code if rcvd else None
        summary["close_reason"] = rcvd.reason if rcvd else None
        if not done.done():
            done.set_result(None)

    async with serve(handler, "127.0.0.1", port, max_size=MAX_SIZE,
                     **compression_options(mode, client=False)) as server:
        bound = server.sockets[0].getsockname()[1]
        print(json.dumps({"listening": bound}, separators=(",", ":")), flush=True)
        await done
    summary["ok"] = "error" not in summary
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if summary["ok"] else 1


def main(argv):
    mode = argv[3] if len(argv) == 4 else "default"
    if len(argv) not in (3, 4) or argv[1] not in ("client", "server") or mode not in MODES:
        sys.stderr.write(__doc__)
        return 2
    job = (run_client(argv[2], mode) if argv[1] == "client"
           else run_server(int(argv[2]), mode))
    try:
        return asyncio.run(asyncio.wait_for(job, TOTAL_TIMEOUT))
    except asyncio.TimeoutError:
        print(json.dumps({"peer": PEER, "mode": argv[1], "ok": False,
                          "error": f"timed out after {TOTAL_TIMEOUT} s"}), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
