#!/usr/bin/env node
// Node `ws` echo server for the peer benchmark (bench/run.py).
// Usage: node echo.mjs --port P [--host H] [--deflate]   (prints "node-ws ready ws://H:P")
// Echoes every text/binary message as the same type. `ws` answers pings and close frames
// itself. bufferutil (a dependency here, not optional) makes masking/unmasking native, as the
// ws README recommends for performance. permessage-deflate is off by default (ws's server
// default); --deflate turns it on with ws's defaults (`perMessageDeflate: true`: context
// takeover both ways, server and client windows 15 bits, messages from 1024 bytes compressed).
import { WebSocketServer } from 'ws';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
let port = null;
let host = '127.0.0.1';
let deflate = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else if (args[i] === '--deflate') deflate = true;
  else port = NaN;
}
if (!Number.isInteger(port) || port < 0) {
  console.error('usage: node echo.mjs --port P [--host H] [--deflate]');
  process.exit(2);
}
// ws loads bufferutil only if it is installed; fail loudly rather than measure the JS fallback.
createRequire(import.meta.url)('bufferutil');

const wss = new WebSocketServer({
  host,
  port,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: deflate,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`node-ws ready ws://${host}:${wss.address().port}`));
wss.on('error', (err) => { console.error(`server error: ${err.message}`); process.exit(1); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
