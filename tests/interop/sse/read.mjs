// Reads a text/event-stream over HTTP with the third-party parser
// `eventsource-parser` and prints what it saw as JSON lines, in the shape of
// examples/sse_dump.rs: {"type","data","id"} per event (id = last event id
// in effect) and {"retry":N} per valid retry field.
// Usage: node read.mjs URL   (run by tests/peers/sse.rs)
import { createParser } from 'eventsource-parser';

const url = process.argv[2];
if (!url) {
  console.error('usage: node read.mjs URL');
  process.exit(2);
}

const res = await fetch(url, { headers: { accept: 'text/event-stream', 'cache-control': 'no-cache' } });
const type = res.headers.get('content-type') ?? '';
if (res.status !== 200 || !type.startsWith('text/event-stream')) {
  console.error(`read.mjs: unexpected response ${res.status} ${type}`);
  process.exit(3);
}

const lines = [];
let lastId = '';
const parser = createParser({
  onId(id) {
    lastId = id;
  },
  onEvent(ev) {
    lines.push(JSON.stringify({ type: ev.event ?? 'message', data: ev.data, id: lastId }));
  },
  onRetry(ms) {
    lines.push(JSON.stringify({ retry: ms }));
  },
  onError(err) {
    // Unknown fields and bogus retry values are reported here; our encoder
    // must never produce them.
    lines.push(JSON.stringify({ error: String(err.message ?? err) }));
  },
});

const decoder = new TextDecoder();
let chunks = 0;
for await (const chunk of res.body) {
  chunks += 1;
  parser.feed(decoder.decode(chunk, { stream: true }));
}
parser.feed(decoder.decode());
process.stdout.write(lines.map((l) => `${l}\n`).join(''));
console.error(`read.mjs: ${lines.length} items from ${chunks} chunks`);
