#!/usr/bin/env node
// Node `ws` peer for pushcodec's WebSocket interop tests (tests/peers/ws.rs).
//
//   node peer.js client URL [COMPRESSION]   connect to URL, run the exchange below against an
//                              echo server, print one JSON line, exit 0 only if every check passed
//   node peer.js server PORT [COMPRESSION]  serve one WebSocket connection on 127.0.0.1:PORT (0:
//                              any free port); print {"listening": PORT} once bound, echo every
//                              message as it came (text as text, binary as binary), then print one
//                              JSON line saying what was received and how the peer closed, and exit
//
// COMPRESSION (permessage-deflate, RFC 7692) is one of
//   default     ws's own defaults: the client offers permessage-deflate, the server declines it
//   deflate     on in both roles, context takeover, every message compressed (threshold 0)
//   no-context  on, and asking for no context takeover in both directions: the client offers
//               server_no_context_takeover and client_no_context_takeover, the server answers
//               both whatever the offer
// Both JSON lines carry "extensions": the Sec-WebSocket-Extensions header of the handshake
// response (null when none), so the caller can check what was agreed.
//
// The client exchange, each step waiting for its echo: a text message (non-ASCII), a binary
// message (all 256 byte values), a text message in three fragments split inside a code point
// (send(data, {fin: false})), a 1 MiB binary message, a ping (expects the pong with the same
// payload), then a close with code 4000 and reason "bye" (expects the peer's close reply with
// code 4000). Every wait is bounded; the whole run stops after 60 s. Installed by
// .ci/install-ws-interop.sh (npm ci, pinned by package-lock.json).
'use strict';
const { WebSocket, WebSocketServer } = require('ws');

const PEER = `node-ws/${require('ws/package.json').version}`;
const TEXT = 'hello from node \u2713 \u{1F600}';
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
// "fragmented \u00b5 message" with the two bytes of U+00B5 in different frames.
const FRAGMENTS = [Buffer.from('fragmented \xc2', 'latin1'), Buffer.from('\xb5 mes', 'latin1'), Buffer.from('sage')];
const BIG = Buffer.alloc(1 << 20);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + 3) & 0xff;
const PING = Buffer.from('ping-1');
const STEP_TIMEOUT_MS = 20000;
const TOTAL_TIMEOUT_MS = 60000;
const MAX_PAYLOAD = 64 << 20;
const COMPRESSION = {
  default: undefined,
  deflate: { threshold: 0 },
  'no-context': { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
};

function describe(data, isBinary) {
  return isBinary
    ? `binary of ${data.length} bytes: ${data.subarray(0, 16).toString('hex')}`
    : `text of ${Buffer.byteLength(data)} bytes: ${JSON.stringify(data.toString().slice(0, 40))}`;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Resolves with the next `event` emitted by `emitter`, rejects after STEP_TIMEOUT_MS or on
// close/error.
function next(ws, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new Error(`no ${event} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    const onEvent = (...args) => done(resolve, args);
    const onError = (e) => done(reject, e);
    const onClose = (code, reason) =>
      done(reject, new Error(`closed (${code} ${reason}) while waiting for ${event}`));
    function done(fn, value) {
      clearTimeout(timer);
      ws.off(event, onEvent).off('error', onError);
      if (event !== 'close') ws.off('close', onClose);
      fn(value);
    }
    ws.on(event, onEvent).on('error', onError);
    if (event !== 'close') ws.on('close', onClose);
  });
}

async function runClient(url, compression) {
  const checks = [];
  const check = (name, ok, detail = '') => checks.push({ name, ok: Boolean(ok), detail });
  let close = {};
  let extensions = null;
  const options = { maxPayload: MAX_PAYLOAD, handshakeTimeout: STEP_TIMEOUT_MS };
  if (COMPRESSION[compression] !== undefined) options.perMessageDeflate = COMPRESSION[compression];
  const ws = new WebSocket(url, options);
  ws.on('upgrade', (res) => {
    extensions = res.headers['sec-websocket-extensions'] ?? null;
  });
  try {
    await next(ws, 'open');
    const echo = async (name, send, expected, expectBinary) => {
      const reply = next(ws, 'message');
      send();
      const [data, isBinary] = await reply;
      const want = expectBinary ? expected : expected.toString();
      const got = isBinary ? data : data.toString();
      const ok = isBinary === expectBinary && (isBinary ? Buffer.compare(got, want) === 0 : got === want);
      check(name, ok, ok ? '' : `expected ${describe(expected, expectBinary)}, got ${describe(data, isBinary)}`);
    };
    await echo('text', () => ws.send(TEXT), TEXT, false);
    await echo('binary', () => ws.send(BINARY), BINARY, true);
    await echo('fragmented', () => FRAGMENTS.forEach((f, i) =>
      ws.send(f, { binary: false, fin: i === FRAGMENTS.length - 1 })), Buffer.concat(FRAGMENTS), false);
    await echo('1MiB', () => ws.send(BIG), BIG, true);
    const pong = next(ws, 'pong');
    ws.ping(PING);
    const [payload] = await pong;
    check('ping', Buffer.compare(payload, PING) === 0, `pong payload ${payload.toString('hex')}`);
    const closed = next(ws, 'close');
    ws.close(4000, 'bye');
    const [code, reason] = await closed;
    close = { code, reason: reason.toString() };
    check('close', code === 4000, `peer's close frame: ${JSON.stringify(close)}`);
  } catch (e) {
    check('no-exception', false, String(e && e.stack ? e.message : e));
    ws.terminate();
  }
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  print({ peer: PEER, mode: 'client', ok, checks, close, extensions });
  return ok ? 0 : 1;
}

function runServer(port, compression) {
  return new Promise((resolve) => {
    const summary = { peer: PEER, mode: 'server', messages: [], extensions: null };
    const options = { host: '127.0.0.1', port, maxPayload: MAX_PAYLOAD };
    if (COMPRESSION[compression] !== undefined) options.perMessageDeflate = COMPRESSION[compression];
    const wss = new WebSocketServer(options);
    wss.on('headers', (headers) => {
      const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
      summary.extensions = line ? line.replace(/^[^:]*:\s*/, '') : null;
    });
    wss.on('listening', () => print({ listening: wss.address().port }));
    wss.on('error', (e) => {
      summary.error = String(e);
      finish();
    });
    wss.once('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        summary.messages.push(describe(data, isBinary).slice(0, 60));
        ws.send(data, { binary: isBinary });
      });
      ws.on('error', (e) => {
        summary.error = String(e);
      });
      ws.on('close', (code, reason) => {
        summary.close_code = code;
        summary.close_reason = reason.toString();
        finish();
      });
    });
    function finish() {
      summary.ok = !('error' in summary);
      print(summary);
      wss.close();
      resolve(summary.ok ? 0 : 1);
    }
  });
}

async function main(argv) {
  const compression = argv[2] ?? 'default';
  if (argv.length < 2 || argv.length > 3 || !['client', 'server'].includes(argv[0]) ||
      !(compression in COMPRESSION)) {
    process.stderr.write('usage: node peer.js client URL [default|deflate|no-context] | ' +
      'node peer.js server PORT [default|deflate|no-context]\n');
    return 2;
  }
  const job = argv[0] === 'client' ? runClient(argv[1], compression) : runServer(Number(argv[1]), compression);
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => {
      print({ peer: PEER, mode: argv[0], ok: false, error: `timed out after ${TOTAL_TIMEOUT_MS} ms` });
      resolve(1);
    }, TOTAL_TIMEOUT_MS);
  });
  const code = await Promise.race([job, timeout]);
  clearTimeout(timer);
  return code;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
