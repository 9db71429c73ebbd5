"""A third-party RFC 9220 peer for tests/h3/tests/interop.rs: aioquic's QUIC
and HTTP/3 (extended CONNECT with `:protocol`; it always sends
SETTINGS_ENABLE_CONNECT_PROTOCOL = 1) carrying RFC 6455 frames from wsproto's
FrameProtocol (masking, fragmentation, close parsing), no pushcodec code.

  client HOST PORT CAFILE    WebSocket client against pushcodec's server
  server CERT KEY            echo server on a loopback port, printed first

Each mode checks what it sees, prints one `ok: ...` line and exits 0, or
exits non-zero with the reason. Bounded by a 20 s timeout.
"""

import asyncio
import sys

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.h3.connection import H3_ALPN, H3Connection, Setting
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent
from wsproto.frame_protocol import FrameProtocol, Opcode

LIMIT = 20.0
TEXT = "héllo from aioquic — 🦀"
BINARY = bytes(i * 13 % 256 for i in range(200_000))


class Peer(QuicConnectionProtocol):
    """aioquic's protocol with an H3Connection whose events go to a queue."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.events: asyncio.Queue = asyncio.Queue()

    def quic_event_received(self, event: QuicEvent) -> None:
        for ev in self.h3.handle_event(event):
            self.events.put_nowait(ev)
        # SETTINGS arrive as a QUIC event too: wake anyone waiting for them.
        self.events.put_nowait(None)


class Messages:
    """Whole messages out of wsproto's frames, which may come in pieces."""

    def __init__(self, fp: FrameProtocol):
        self.fp = fp
        self.parts = []
        self.opcode = None

    def feed(self, data: bytes):
        self.fp.receive_bytes(data)
        for frame in self.fp.received_frames():
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                self.opcode = frame.opcode
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                self.parts.append(frame.payload)
                if frame.message_finished:
                    payload = "".join(self.parts) if self.opcode == Opcode.TEXT else b"".join(self.parts)
                    self.parts = []
                    yield (self.opcode, payload)
            else:
                yield (frame.opcode, frame.payload)


async def run_client(host: str, port: int, cafile: str) -> str:
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    config.load_verify_locations(cafile)
    async with connect(host, port, configuration=config, create_protocol=Peer) as peer:
        # RFC 9220 §3: no :protocol before the server's SETTINGS enabled it.
        while peer.h3.received_settings is None:
            await peer.events.get()
        assert peer.h3.received_settings.get(Setting.ENABLE_CONNECT_PROTOCOL) == 1, peer.h3.received_settings
        sid = peer._quic.get_next_available_stream_id()
        peer.h3.send_headers(
            sid,
            [
                (b":method", b"CONNECT"),
                (b":protocol", b"websocket"),
                (b":scheme", b"https"),
                (b":authority", f"localhost:{port}".encode()),
                (b":path", b"/interop?from=aioquic"),
                (b"sec-websocket-version", b"13"),
                (b"sec-websocket-protocol", b"chat, echo"),
            ],
            end_stream=False,
        )
        peer.transmit()
        ev = None
        while not isinstance(ev, HeadersReceived):
            ev = await peer.events.get()
        headers = dict(ev.headers)
        assert headers[b":status"] == b"200", ev.headers
        assert headers.get(b"sec-websocket-protocol") == b"echo", ev.headers
        for forbidden in (b"sec-websocket-accept", b"upgrade", b"connection"):
            assert forbidden not in headers, ev.headers

        fp = FrameProtocol(client=True, extensions=[])
        messages = Messages(fp)

        def send(data: bytes, end: bool = False):
            peer.h3.send_data(sid, bytes(data), end_stream=end)
            peer.transmit()

        send(fp.send_data(TEXT, fin=True))
        send(fp.send_data(BINARY, fin=True))
        send(fp.ping(b"aioquic"))
        got, server_fin = [], False
        while not server_fin:
            ev = await peer.events.get()
            if not isinstance(ev, DataReceived) or ev.stream_id != sid:
                continue
            for opcode, payload in messages.feed(ev.data):
                got.append((opcode, payload))
                if len([g for g in got if g[0] in (Opcode.TEXT, Opcode.BINARY, Opcode.PONG)]) == 3 and not any(
                    g[0] == "sent-close" for g in got
                ):
                    send(fp.close(4001, "interop bye"))
                    got.append(("sent-close", None))
            server_fin = ev.stream_ended
        # The server closed its side (FIN) after the close handshake; ours follows.
        send(b"", end=True)
        kinds = [g[0] for g in got]
        assert (Opcode.TEXT, TEXT) in got, kinds
        assert (Opcode.BINARY, BINARY) in got, kinds
        assert (Opcode.PONG, b"aioquic") in got, kinds
        close = [g for g in got if g[0] == Opcode.CLOSE]
        assert close and close[0][1] == (4001, "interop bye"), close
        await asyncio.sleep(0.05)  # let the FIN go out before the close
        peer._quic.close(error_code=0x100)
        peer.transmit()
        return f"ok: client echoed text, {len(BINARY)} bytes binary, pong, close 4001 and FIN"


async def run_server(cert: str, key: str) -> str:
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    config.load_cert_chain(cert, key)
    done: asyncio.Future = asyncio.get_running_loop().create_future()

    class Server(Peer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            asyncio.ensure_future(self.serve())

        async def serve(self):
            try:
                done.set_result(await self.session())
            except Exception as e:  # the test reads the reason
                if not done.done():
                    done.set_exception(e)

        async def session(self) -> str:
            ev = None
            while not isinstance(ev, HeadersReceived):
                ev = await self.events.get()
            sid, headers = ev.stream_id, dict(ev.headers)
            assert headers[b":method"] == b"CONNECT", ev.headers
            assert headers[b":protocol"] == b"websocket", ev.headers
            assert headers[b"sec-websocket-version"] == b"13", ev.headers
            assert b"sec-websocket-key" not in headers, ev.headers
            offered = [p.strip() for p in headers.get(b"sec-websocket-protocol", b"").split(b",")]
            reply = [(b":status", b"200")]
            if b"echo" in offered:
                reply.append((b"sec-websocket-protocol", b"echo"))
            self.h3.send_headers(sid, reply, end_stream=False)
            self.transmit()
            fp = FrameProtocol(client=False, extensions=[])
            messages = Messages(fp)
            echoed, close = 0, None
            while True:
                ev = await self.events.get()
                if not isinstance(ev, DataReceived) or ev.stream_id != sid:
                    continue
                for opcode, payload in messages.feed(ev.data):
                    if opcode in (Opcode.TEXT, Opcode.BINARY):
                        self.h3.send_data(sid, bytes(fp.send_data(payload, fin=True)), end_stream=False)
                        echoed += 1
                    elif opcode == Opcode.PING:
                        self.h3.send_data(sid, bytes(fp.pong(payload)), end_stream=False)
                    elif opcode == Opcode.CLOSE and close is None:
                        close = payload
                        # Answer the Close, then FIN first: the server ends
                        # the transport (RFC 6455 §7.1.1).
                        code, reason = payload
                        self.h3.send_data(sid, bytes(fp.close(code, reason)), end_stream=True)
                self.transmit()
                if ev.stream_ended:
                    assert close is not None, "FIN before the Close"
                    return f"ok: server echoed {echoed} messages, close {close[0]} {close[1]!r}, FIN both ways"

    server = await serve("127.0.0.1", 0, configuration=config, create_protocol=Server)
    port = server._transport.get_extra_info("sockname")[1]
    print(f"port {port}", flush=True)
    try:
        return await done
    finally:
        await asyncio.sleep(0.1)  # let the last acks go out
        server.close()


def main() -> int:
    mode = sys.argv[1]
    if mode == "client":
        work = run_client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "server":
        work = run_server(sys.argv[2], sys.argv[3])
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(asyncio.wait_for(work, LIMIT)), flush=True)
    except AssertionError as e:
        print(f"failed: {e!r}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
