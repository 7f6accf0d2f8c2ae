#!/usr/bin/env node
// Interop client: Node `ws` against an echo server.
// Usage: node node_client.mjs ws://127.0.0.1:PORT [--expect-deflate [--expect-param NAME]... | --expect-no-deflate]
// ws offers permessage-deflate by default. --expect-deflate makes the server's
// Sec-WebSocket-Extensions answer (and ws.extensions) a check: it must accept permessage-deflate
// (with each --expect-param, e.g. server_no_context_takeover), and the 1 MiB JSON echo must
// arrive compressed (counted on the socket); --expect-no-deflate requires no extension at all.
// Exits 0 when every check passes; otherwise prints "FAIL: <reason>" and exits 1.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const USAGE = 'usage: node node_client.mjs ws://HOST:PORT [--expect-deflate [--expect-param NAME]... | --expect-no-deflate]';
let url;
let expectDeflate = null; // null: only report; true / false: check
const expectParams = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--expect-deflate') expectDeflate = true;
  else if (a === '--expect-no-deflate') expectDeflate = false;
  else if (a === '--expect-param' && i + 1 < process.argv.length) expectParams.push(process.argv[++i]);
  else if (!a.startsWith('--') && !url) url = a;
  else { console.error(USAGE); process.exit(2); }
}
if (!url || (expectParams.length && expectDeflate !== true)) {
  console.error(USAGE);
  process.exit(2);
}
const STEP_TIMEOUT_MS = 30_000;

function asciiText(n) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  const block = alphabet.repeat(Math.ceil(Math.min(n, 4096) / alphabet.length) + 1);
  while (s.length < n) s += block.slice(0, Math.min(block.length, n - s.length));
  return s;
}

// About 1 MiB of JSON that compresses well but is not one repeated block: chat-like records.
function jsonText(n) {
  const parts = [];
  let len = 2;
  for (let i = 0; len < n; i++) {
    const rec = JSON.stringify({ seq: i, user: `user-${i % 97}`, channel: 'general', text: `message number ${i} from the interop test ✓`, ts: 1700000000000 + i * 17 });
    parts.push(rec);
    len += rec.length + 1;
  }
  return `[${parts.join(',')}]`;
}

// The permessage-deflate item of a Sec-WebSocket-Extensions header value, as
// { name, params: Set of parameter names }, or null.
function deflateItem(header) {
  for (const item of (header || '').split(',')) {
    const [name, ...params] = item.split(';').map((p) => p.trim());
    if (name === 'permessage-deflate') return { name, params: new Set(params.map((p) => p.split('=')[0].trim())) };
  }
  return null;
}

function checkExtensions(header, property) {
  if (expectDeflate === true) {
    const item = deflateItem(header);
    if (!item) throw new Error(`expected permessage-deflate to be negotiated, the server answered Sec-WebSocket-Extensions: ${JSON.stringify(header ?? null)}`);
    if (property !== 'permessage-deflate') throw new Error(`ws.extensions is ${JSON.stringify(property)}, expected "permessage-deflate"`);
    for (const p of expectParams) {
      if (!item.params.has(p)) throw new Error(`expected ${p} in the answer, got ${JSON.stringify(header)}`);
    }
  } else if (expectDeflate === false) {
    if (header || property) throw new Error(`expected no extension, the server answered Sec-WebSocket-Extensions: ${JSON.stringify(header ?? null)} (ws.extensions ${JSON.stringify(property)})`);
  }
}

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function preview(v) {
  const s = typeof v === 'string' ? JSON.stringify(v) : `<${v.length} bytes>`;
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

// A connection with a queue of incoming messages, so a check can await "the next message".
function open(protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024 });
    const conn = { ws, queue: [], waiters: [], closed: null, error: null, socket: null, extHeader: null };
    const timer = setTimeout(() => reject(new Error(`handshake timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    ws.on('open', () => { clearTimeout(timer); resolve(conn); });
    // The HTTP answer: its Sec-WebSocket-Extensions, and the socket (to count bytes on the wire).
    ws.on('upgrade', (res) => {
      conn.extHeader = res.headers['sec-websocket-extensions'] ?? null;
      conn.socket = res.socket;
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`handshake refused: HTTP ${res.statusCode} ${res.statusMessage}`));
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      conn.error = err;
      reject(new Error(`connection error: ${err.message}`));
      flush(conn);
    });
    ws.on('message', (data, isBinary) => {
      conn.queue.push({ data, isBinary });
      flush(conn);
    });
    ws.on('close', (code, reason) => {
      conn.closed = { code, reason: reason.toString('utf8') };
      flush(conn);
    });
  });
}

function flush(conn) {
  while (conn.waiters.length && conn.queue.length) conn.waiters.shift().resolve(conn.queue.shift());
  if (conn.closed || conn.error) {
    const why = conn.error ? `error ${conn.error.message}` : `close code=${conn.closed.code} reason=${JSON.stringify(conn.closed.reason)}`;
    while (conn.waiters.length) conn.waiters.shift().reject(new Error(`connection ended while waiting for a message (${why})`));
  }
}

function next(conn, what) {
  if (conn.queue.length) return Promise.resolve(conn.queue.shift());
  if (conn.closed || conn.error) {
    const why = conn.error ? `error ${conn.error.message}` : `close code=${conn.closed.code} reason=${JSON.stringify(conn.closed.reason)}`;
    return Promise.reject(new Error(`${what}: connection ended (${why})`));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.waiters = conn.waiters.filter((w) => w.resolve !== res);
      reject(new Error(`${what}: no message within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    const res = (m) => { clearTimeout(timer); resolve(m); };
    const rej = (e) => { clearTimeout(timer); reject(new Error(`${what}: ${e.message}`)); };
    conn.waiters.push({ resolve: res, reject: rej });
  });
}

function waitClose(conn) {
  if (conn.closed) return Promise.resolve(conn.closed);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`close: no close within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    conn.ws.once('close', () => { clearTimeout(timer); resolve(conn.closed); });
  });
}

async function echoText(conn, label, text) {
  conn.ws.send(text, { binary: false });
  const m = await next(conn, label);
  if (m.isBinary) throw new Error(`${label}: expected a text message back, got binary (${m.data.length} bytes)`);
  const got = m.data.toString('utf8');
  if (got !== text) {
    throw new Error(`${label}: echo differs: sent ${text.length} chars, got ${got.length} chars, first difference at char ${firstDiff(got, text)}; got ${preview(got)}`);
  }
}

async function echoBinary(conn, label, bytes) {
  conn.ws.send(bytes, { binary: true });
  const m = await next(conn, label);
  if (!m.isBinary) throw new Error(`${label}: expected a binary message back, got text ${preview(m.data.toString('utf8'))}`);
  const got = Buffer.isBuffer(m.data) ? m.data : Buffer.concat(m.data);
  if (!got.equals(bytes)) {
    throw new Error(`${label}: echo differs: sent ${bytes.length} bytes, got ${got.length} bytes, first difference at byte ${firstDiff(got, bytes)}`);
  }
}

const checks = [];
function check(name, fn) { checks.push({ name, fn }); }

let main;
check('handshake offering [superchat, chat] selects superchat', async () => {
  main = await open(['superchat', 'chat']);
  if (main.ws.protocol !== 'superchat') throw new Error(`expected protocol "superchat", got ${JSON.stringify(main.ws.protocol)}`);
  console.log(`info negotiated extensions: ${main.extHeader || '(none)'} (ws.extensions: ${JSON.stringify(main.ws.extensions)})`);
});
if (expectDeflate !== null) {
  check(expectDeflate ? `extensions: permessage-deflate${expectParams.map((p) => `; ${p}`).join('')} negotiated` : 'extensions: none negotiated',
    async () => checkExtensions(main.extHeader, main.ws.extensions));
}
check('text: empty', () => echoText(main, 'text empty', ''));
check('text: multi-byte UTF-8', () => echoText(main, 'text utf-8', 'héllo wörld ✓ 😀 日本語'));
for (const n of [125, 126, 65535, 65536, 1 << 20]) {
  check(`text: ${n} bytes`, () => echoText(main, `text ${n} bytes`, asciiText(n)));
}
check('text: 1 MiB of JSON (compressible)', async () => {
  const text = jsonText(1 << 20);
  const read0 = main.socket ? main.socket.bytesRead : 0;
  const written0 = main.socket ? main.socket.bytesWritten : 0;
  await echoText(main, 'text 1 MiB JSON', text);
  if (!main.socket) return;
  const read = main.socket.bytesRead - read0;
  const written = main.socket.bytesWritten - written0;
  console.log(`info 1 MiB JSON (${text.length} bytes): ${written} bytes on the wire out, ${read} back`);
  // Compressed, this JSON is a few percent of its size; uncompressed it is all of it.
  if (expectDeflate === true && (read > text.length / 4 || written > text.length / 4)) {
    throw new Error(`expected a compressed echo (--expect-deflate), got ${written} bytes out, ${read} back for ${text.length}`);
  }
  if (expectDeflate === false && read < text.length) {
    throw new Error(`no extension was agreed but only ${read} bytes came back for ${text.length}`);
  }
});
for (const n of [0, 1, 125, 126, 65536, 1 << 20]) {
  check(`binary: ${n} bytes`, () => echoBinary(main, `binary ${n} bytes`, randomBytes(n)));
}
check('burst: 1000 messages in order', async () => {
  const N = 1000;
  for (let i = 0; i < N; i++) main.ws.send(`burst ${i}`);
  for (let i = 0; i < N; i++) {
    const m = await next(main, `burst message ${i}`);
    const got = m.isBinary ? `<binary ${m.data.length} bytes>` : m.data.toString('utf8');
    if (got !== `burst ${i}`) throw new Error(`burst: message ${i} expected "burst ${i}", got ${preview(got)}`);
  }
});
check('close 4000 "bye ✓" is echoed', async () => {
  main.ws.close(4000, 'bye ✓');
  const c = await waitClose(main);
  if (c.code !== 4000 || c.reason !== 'bye ✓') {
    throw new Error(`expected server close code=4000 reason="bye ✓", got code=${c.code} reason=${JSON.stringify(c.reason)}`);
  }
});
check('handshake offering [chat] selects chat', async () => {
  const conn = await open(['chat']);
  const proto = conn.ws.protocol;
  conn.ws.close(1000);
  await waitClose(conn);
  if (proto !== 'chat') throw new Error(`expected protocol "chat", got ${JSON.stringify(proto)}`);
});

let failed = 0;
for (const { name, fn } of checks) {
  const needsMain = !name.startsWith('handshake offering [chat]');
  if (needsMain && name !== checks[0].name && (!main || main.error || (main.closed && !name.startsWith('close')))) {
    console.log(`skip ${name}: the first connection is gone`);
    continue;
  }
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
if (main && !main.closed) main.ws.terminate();
if (failed) {
  console.log(`node-ws client: ${failed} check(s) failed`);
  process.exit(1);
}
console.log('node-ws client: all checks passed');
process.exit(0);
