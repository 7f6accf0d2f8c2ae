#!/usr/bin/env node
// Node `ws` broadcast server for the peer benchmark (bench/run.py, scenarios g1 and g2).
// Usage: node relay.mjs --port P [--host H]   (prints "node-ws-relay ready ws://H:P")
// Every text or binary message a client sends goes to every other open client, the way the
// ws README broadcasts: iterate `wss.clients`, skip the sender, send to those that are OPEN.
import WebSocket, { WebSocketServer } from 'ws';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
let port = null;
let host = '127.0.0.1';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else port = NaN;
}
if (!Number.isInteger(port) || port < 0) {
  console.error('usage: node relay.mjs --port P [--host H]');
  process.exit(2);
}
createRequire(import.meta.url)('bufferutil');

const wss = new WebSocketServer({ host, port, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`node-ws-relay ready ws://${host}:${wss.address().port}`));
wss.on('error', (err) => { console.error(`server error: ${err.message}`); process.exit(1); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
