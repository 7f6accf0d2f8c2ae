#!/usr/bin/env node
// Socket.IO 4 as a hub peer for the hub benchmark (issue 22, started by bench/hub_servers.py).
//
// Socket.IO is what many teams pick instead of a dedicated real-time hub, so the benchmark runs it
// the way its documentation teaches: a plain `http` server with socket.io attached at default
// settings (the `ws` engine, no permessage-deflate, the default 25 s ping), clients joining rooms,
// and the application broadcasting with `io.to(room).emit(...)`. Nothing is tuned, because a
// tuned Socket.IO would not be the one people run.
//
// Usage: node hub_socketio.mjs PORT        (prints "listening on PORT" once it accepts)
//
// Wire contract the loader (`duplex bench hub`) and hub_smoke.mjs rely on:
//   ws://127.0.0.1:PORT/socket.io/?EIO=4&transport=websocket
//   client `40`, then `421["subscribe",["a","b"]]`  ->  server joins both rooms, acks `431[2]`
//   POST /publish        {"channel":"a","data":<JSON>}  ->  `42["pub","a",<data>]` to room a, 200 {}
//   POST /publish-batch  {"publications":[{"channel":..,"data":..},...]}  ->  each in order, 200 {}
//   GET  /health         -> 200
// A body that is not such JSON is answered 400 and publishes nothing.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { BadRequest, MAX_PUBLISH_BODY_BYTES, parseJson, portFromArgs, publicationFrom } from './hub_publish.mjs';

const port = portFromArgs('hub_socketio.mjs');

function answer(res, status, bodyText) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bodyText) });
  res.end(bodyText);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_PUBLISH_BODY_BYTES) {
        reject(new BadRequest('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

let io = null;

// Validates the whole request before emitting anything, so a bad batch publishes nothing at all
// instead of a prefix the loader would count as lost messages.
async function handlePublish(req, res, isBatch) {
  const body = parseJson(await readBody(req));
  let publications;
  if (isBatch) {
    if (body === null || typeof body !== 'object' || !Array.isArray(body.publications)) {
      throw new BadRequest('expected {"publications": [...]}');
    }
    publications = body.publications.map(publicationFrom);
  } else {
    publications = [publicationFrom(body)];
  }
  for (const { channel, data } of publications) io.to(channel).emit('pub', channel, data);
  answer(res, 200, '{}');
}

// Socket.IO's engine takes the requests under /socket.io/ and hands every other one to this
// listener, so the publish API shares the port with the WebSocket endpoint as in a real app.
const httpServer = createServer((req, res) => {
  const path = req.url.split('?', 1)[0];
  if (path === '/health') {
    answer(res, req.method === 'GET' || req.method === 'HEAD' ? 200 : 405, '{}');
    return;
  }
  if (path !== '/publish' && path !== '/publish-batch') {
    answer(res, 404, '{"error":"not found"}');
    return;
  }
  if (req.method !== 'POST') {
    answer(res, 405, '{"error":"POST only"}');
    return;
  }
  handlePublish(req, res, path === '/publish-batch').catch((error) => {
    if (res.headersSent) return;
    if (error instanceof BadRequest) answer(res, 400, JSON.stringify({ error: error.message }));
    else answer(res, 500, JSON.stringify({ error: String(error) }));
  });
});

io = new Server(httpServer);

io.on('connection', (socket) => {
  socket.on('subscribe', (channels, ack) => {
    const valid = Array.isArray(channels) ? channels.filter((c) => typeof c === 'string' && c !== '') : [];
    if (valid.length > 0) socket.join(valid);
    if (typeof ack === 'function') ack(valid.length);
  });
});

httpServer.on('error', (error) => {
  console.error(`server error: ${error.message}`);
  process.exit(1);
});
httpServer.listen(port, '127.0.0.1', () => console.log(`listening on ${httpServer.address().port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
