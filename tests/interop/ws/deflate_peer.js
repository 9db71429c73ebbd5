#!/usr/bin/env node
// Node `ws` side of benches/deflate.rs (issue 10): the permessage-deflate rows timed by Node
// itself, in the same `cargo bench` run as pushcodec's. The bench starts one `node deflate_peer.js`
// and talks to it over stdin/stdout; nothing else is written to stdout.
//
// What is measured is ws's own code path for one connection, minus the socket:
//   compress  a server-side `Sender` (the class `WebSocket#send` uses) with ws's
//             `PerMessageDeflate` negotiated, sending every message of the batch as text
//             (`send(buf, {binary: false, compress: true, fin: true})`, all sends issued at once,
//             as an application bursting them does; ws queues them while one is deflating).
//             Frames go to an in-memory sink that counts them (the bench's check collects them).
//             The time runs until the last message's frame has been handed to the sink.
//   decode    a server-side `Receiver` (the Writable `WebSocket` pipes its socket into) with the
//             same extension, fed the masked compressed client frames in writes of at most
//             64 KiB; every message is unmasked, inflated, concatenated, UTF-8 validated and
//             emitted. The time runs until the last message has been emitted. The Receiver
//             unmasks in place, so each batch gets a fresh copy of the wire, made before its
//             clock starts (a socket hands ws fresh buffers too).
// Both use ws's defaults otherwise: zlib level 6 (Z_DEFAULT_COMPRESSION), memLevel 8, 15-bit
// windows, context takeover unless the row says no-context-takeover (then both directions), and
// `threshold: 0` so that every message is compressed, as pushcodec's rows do. Node's zlib calls
// run on libuv's thread pool, as they do under ws in production.
//
// Only in the no-context-takeover groups, a limit row without ws:
//   zlib_compress / zlib_decode  Node's zlib alone, synchronously on the main thread, one
//             `zlib.deflateRawSync(msg, {finishFlush: Z_SYNC_FLUSH})` (minus the 4-byte tail) or
//             `zlib.inflateRawSync(payload + tail)` per message: the same compression work with a
//             fresh context per message, without ws's framing, queueing and thread-pool round
//             trips. (Node has no synchronous API that keeps a context between calls.)
//
// Protocol: each request is [u32 LE length][u32 LE JSON length][JSON][binary data]; each reply is
// [u32 LE length][body]. Requests:
//   {"op":"hello"}                                  -> JSON {"ws": version, "node": version}
//   {"op":"load"} + messages as [u32 LE len][bytes]...
//   {"op":"wire","nct":bool} + masked client frames -> the decode input for that setting
//   {"op":"payloads","nct":bool} + compressed payloads with the tail, as [u32 LE len][bytes]...
//   {"op":"run","row":"compress"|"decode"|"zlib_compress"|"zlib_decode","nct":bool,"iters":n,"fresh":bool,"collect":bool}
//     -> [u64 LE nanoseconds for n batches][u64 LE nanoseconds of process CPU time (user + system,
//        all threads) over the same calls][collected output of the first batch]
//     (compress: the wire bytes; decode and zlib_*: each message as [u32 LE len][bytes]). `fresh` starts a
//     new connection for the row (the bench's check does); otherwise the row's connection lives
//     on across calls, as pushcodec's does across criterion's iterations.
'use strict';
const path = require('path');
const zlib = require('zlib');
const WS_DIR = path.join(__dirname, 'node_modules', 'ws');
const { Sender, Receiver, PerMessageDeflate } = require(WS_DIR);

const READ = 64 * 1024;
const MAX_PAYLOAD = 64 << 20; // pushcodec's default max_message_size

let messages = [];
const wires = { true: null, false: null };
const payloads = { true: [], false: [] };
const rows = new Map();

function extension(nct) {
  const pmd = new PerMessageDeflate({
    threshold: 0,
    serverNoContextTakeover: nct,
    clientNoContextTakeover: nct,
    isServer: true,
    maxPayload: MAX_PAYLOAD,
  });
  // A client offer of plain `permessage-deflate`; ws adds the no-context-takeover answers.
  pmd.accept([{}]);
  return { [PerMessageDeflate.extensionName]: pmd };
}

// The socket the Sender writes to: counts bytes, collects them only for the check.
class Sink {
  constructor() {
    this.destroyed = false;
    this.bytes = 0;
    this.collect = null;
  }
  cork() {}
  uncork() {}
  write(buf, cb) {
    this.bytes += buf.length;
    if (this.collect) this.collect.push(Buffer.from(buf));
    if (cb) cb();
    return true;
  }
}

function compressRow(nct) {
  const sink = new Sink();
  const sender = new Sender(sink, extension(nct));
  const opts = { binary: false, compress: true, fin: true, mask: false };
  return {
    sink,
    batch() {
      return new Promise((resolve, reject) => {
        const last = messages.length - 1;
        for (let i = 0; i <= last; i++) {
          sender.send(messages[i], opts, i === last ? (err) => (err ? reject(err) : resolve()) : undefined);
        }
      });
    },
  };
}

function decodeRow(nct) {
  const receiver = new Receiver({
    extensions: extension(nct),
    isServer: true,
    maxPayload: MAX_PAYLOAD,
  });
  const state = { n: 0, want: 0, out: null, resolve: null, reject: null };
  receiver.on('message', (data, isBinary) => {
    if (isBinary) return state.reject(new Error('binary message in a text stream'));
    if (state.out) state.out.push(Buffer.from(data));
    if (++state.n === state.want) state.resolve();
  });
  receiver.on('error', (err) => state.reject(err));
  return {
    state,
    batch(wire) {
      return new Promise((resolve, reject) => {
        Object.assign(state, { n: 0, want: messages.length, resolve, reject });
        for (let off = 0; off < wire.length; off += READ) {
          receiver.write(wire.subarray(off, off + READ));
        }
      });
    },
  };
}

function zlibRow(row, nct) {
  const sync = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  return {
    batch(out) {
      if (row === 'zlib_compress') {
        for (const m of messages) {
          const c = zlib.deflateRawSync(m, sync);
          const wire = c.subarray(0, c.length - 4);
          if (out) out.push(Buffer.from(wire));
        }
      } else {
        for (const p of payloads[nct]) {
          const m = zlib.inflateRawSync(p, sync);
          if (out) out.push(m);
        }
      }
    },
  };
}

function splitList(data) {
  const list = [];
  for (let off = 0; off < data.length; ) {
    const len = data.readUInt32LE(off);
    list.push(data.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return list;
}

async function run(req) {
  const key = `${req.row}:${req.nct}`;
  if (req.fresh || !rows.has(key)) {
    const make = { compress: compressRow, decode: decodeRow }[req.row];
    rows.set(key, make ? make(req.nct) : zlibRow(req.row, req.nct));
  }
  const row = rows.get(key);
  const collected = [];
  let ns = 0n;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < req.iters; i++) {
    const collect = req.collect && i === 0 ? collected : null;
    if (req.row === 'compress') {
      row.sink.collect = collect;
      const t0 = process.hrtime.bigint();
      await row.batch();
      ns += process.hrtime.bigint() - t0;
      row.sink.collect = null;
    } else if (req.row.startsWith('zlib_')) {
      const t0 = process.hrtime.bigint();
      row.batch(collect);
      ns += process.hrtime.bigint() - t0;
    } else {
      row.state.out = collect;
      const wire = Buffer.from(wires[req.nct]); // untimed: the Receiver unmasks in place
      const t0 = process.hrtime.bigint();
      await row.batch(wire);
      ns += process.hrtime.bigint() - t0;
      row.state.out = null;
    }
  }
  // CPU time of the whole process (all threads, the thread pool's too), untimed copies included.
  const cpu = process.cpuUsage(cpu0);
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(ns);
  head.writeBigUInt64LE(BigInt(cpu.user + cpu.system) * 1000n, 8);
  if (req.row === 'compress') return Buffer.concat([head, ...collected]);
  const parts = [head];
  for (const m of collected) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(m.length);
    parts.push(len, m);
  }
  return Buffer.concat(parts);
}

async function handle(req, data) {
  switch (req.op) {
    case 'hello':
      return Buffer.from(
        JSON.stringify({ ws: require(path.join(WS_DIR, 'package.json')).version, node: process.versions.node }),
      );
    case 'load':
      messages = splitList(Buffer.from(data));
      rows.clear();
      return Buffer.alloc(0);
    case 'payloads':
      payloads[req.nct] = splitList(Buffer.from(data));
      return Buffer.alloc(0);
    case 'wire':
      wires[req.nct] = Buffer.from(data);
      return Buffer.alloc(0);
    case 'run':
      return run(req);
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

let pending = Buffer.alloc(0);
let busy = false;

async function pump() {
  if (busy) return;
  busy = true;
  while (pending.length >= 4) {
    const len = pending.readUInt32LE(0);
    if (pending.length < 4 + len) break;
    const msg = pending.subarray(4, 4 + len);
    pending = pending.subarray(4 + len);
    const jsonLen = msg.readUInt32LE(0);
    const req = JSON.parse(msg.subarray(4, 4 + jsonLen).toString());
    let body;
    try {
      body = await handle(req, msg.subarray(4 + jsonLen));
    } catch (err) {
      process.stderr.write(`deflate_peer.js: ${err.stack || err}\n`);
      process.exit(1);
    }
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    process.stdout.write(Buffer.concat([head, body]));
  }
  busy = false;
}

process.stdin.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  pump();
});
process.stdin.on('end', () => process.exit(0));
