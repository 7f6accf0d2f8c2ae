#!/usr/bin/env node
// Peer echo server for the duplex client: Node `ws`.
// Usage: node node_echo_server.mjs PORT [--deflate]   (listens on 127.0.0.1:PORT, prints
// "ready PORT"; PORT 0 lets the kernel choose, and the line names the port it chose)
// Echoes every text/binary message as the same type; selects the first subprotocol the client
// offers that is in SUPPORTED; answers a close with the same code and reason (ws does that itself).
// permessage-deflate is off by default (ws's server default), so this peer exercises plain
// frames; with --deflate it accepts permessage-deflate with ws's own defaults
// (`perMessageDeflate: true`: context takeover both ways, messages from 1024 bytes compressed).
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const extra = process.argv.slice(3);
if (!Number.isInteger(port) || port < 0 || extra.some((a) => a !== '--deflate')) {
  console.error('usage: node node_echo_server.mjs PORT [--deflate]');
  process.exit(2);
}
const deflate = extra.includes('--deflate');
const SUPPORTED = ['chat', 'superchat'];

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: deflate,
  handleProtocols: (offered /* Set, in the client's order */) => {
    for (const p of offered) if (SUPPORTED.includes(p)) return p;
    return false;
  },
});
wss.on('connection', (ws, req) => {
  const offered = req.headers['sec-websocket-extensions'];
  console.log(`connection from ${req.socket.remotePort}: subprotocol=${JSON.stringify(ws.protocol)} ` +
    `extensions offered=${JSON.stringify(offered ?? null)} accepted=${JSON.stringify(ws.extensions || null)}`);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (err) => console.error(`connection error: ${err.message}`));
});
wss.on('listening', () => console.log(`ready ${wss.address().port}`));
wss.on('error', (err) => { console.error(`server error: ${err.message}`); process.exit(1); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
