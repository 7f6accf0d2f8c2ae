#!/usr/bin/env node
// Smoke test of the hub benchmark's servers that are not spoken to with the Pusher protocol (that
// one is bench/sockudo/smoke.mjs): Socket.IO (hub_socketio.mjs), uWebSockets pub/sub
// (hub_uws.mjs) and the hub's own Centrifugo endpoint (`duplex serve`). Run by
// `python3 bench/hub_servers.py smoke` before any measurement.
//
// A benchmark that counts deliveries is only as good as the servers' wire contract: if a peer
// acked a subscription it did not make, or reordered publications, the loader would report loss
// that is not there. So this speaks each peer's protocol by hand (no client library, as the
// native loader does), connects two clients, subscribes both, publishes 10 numbered messages
// (five through /publish and five in one /publish-batch, one HTTP connection at a time so the
// order is defined), and checks that each client received all 10, once, in order. It also checks
// /health and that a malformed publish is refused with 400. For the hub the batch goes through the
// server API's `batch` method, the channels are in the benchmark's namespace `fan:`, and the
// clients connect with an HS256 token signed with the benchmark's secret, as the loader does.
//
// Usage: node hub_smoke.mjs socketio|uws PORT
//        node hub_smoke.mjs centrifugo PORT [API_KEY TOKEN_SECRET]   (default bench-api-key bench-secret)
// Exit 0 when everything holds, 1 otherwise.
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';

const [protocol, portText, apiKey = 'bench-api-key', tokenSecret = 'bench-secret'] = process.argv.slice(2);
const port = Number(portText);
if (!['socketio', 'uws', 'centrifugo'].includes(protocol) || !Number.isInteger(port) || port <= 0) {
  console.error('usage: node hub_smoke.mjs socketio|uws|centrifugo PORT [API_KEY TOKEN_SECRET]');
  process.exit(2);
}

const isHub = protocol === 'centrifugo';
const CHANNELS = isHub ? ['fan:smoke-a', 'fan:smoke-b'] : ['smoke-a', 'smoke-b'];
const PUBLISHED_CHANNEL = CHANNELS[0];
const MESSAGE_COUNT = 10;
const TIMEOUT_MS = 10_000;
const base = `http://127.0.0.1:${port}`;

function fail(reason) {
  console.error(`FAIL ${protocol}: ${reason}`);
  process.exit(1);
}
setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

// One client of either protocol: resolves `subscribed` once the server confirmed the
// subscription, and collects the `seq` of every publication that reaches it.
function hs256Token(claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', tokenSecret).update(unsigned).digest('base64url')}`;
}

function connectClient(name) {
  const received = [];
  let onSubscribed;
  const subscribed = new Promise((resolve) => {
    onSubscribed = resolve;
  });
  const url = {
    socketio: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    uws: `ws://127.0.0.1:${port}/`,
    centrifugo: `ws://127.0.0.1:${port}/connection/websocket`,
  }[protocol];
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', (error) => fail(`${name}: ${error.message}`));
  ws.on('close', (code) => {
    if (!finished) fail(`${name}: closed with ${code}`);
  });

  if (isHub) {
    // Centrifugo's JSON protocol: commands with ids, replies with the same id, pushes without
    // one, several messages per frame separated by newlines, and `{}` a ping to answer with `{}`.
    const pendingSubscriptions = new Set();
    ws.on('open', () => {
      const token = hs256Token({ sub: name.replace(' ', '-'), exp: Math.floor(Date.now() / 1000) + 3600 });
      ws.send(JSON.stringify({ id: 1, connect: { token, name: 'hub-smoke' } }));
    });
    ws.on('message', (data) => {
      for (const line of data.toString().split('\n')) {
        if (line === '') continue;
        const reply = JSON.parse(line);
        if (reply.error) fail(`${name}: ${line}`);
        if (Object.keys(reply).length === 0) {
          ws.send('{}');
        } else if (reply.id === 1) {
          CHANNELS.forEach((channel, index) => {
            pendingSubscriptions.add(index + 2);
            ws.send(JSON.stringify({ id: index + 2, subscribe: { channel } }));
          });
        } else if (pendingSubscriptions.has(reply.id)) {
          pendingSubscriptions.delete(reply.id);
          if (pendingSubscriptions.size === 0) onSubscribed();
        } else if (reply.push && reply.push.pub && reply.push.channel === PUBLISHED_CHANNEL) {
          received.push(reply.push.pub.data.seq);
        } else {
          fail(`${name}: unexpected ${line}`);
        }
      }
    });
  } else if (protocol === 'uws') {
    ws.on('open', () => ws.send(JSON.stringify({ subscribe: CHANNELS })));
    ws.on('message', (data, isBinary) => {
      if (isBinary) fail(`${name}: binary message`);
      const message = JSON.parse(data.toString());
      if ('subscribed' in message) {
        if (message.subscribed !== CHANNELS.length) fail(`${name}: subscribed ${message.subscribed}`);
        onSubscribed();
      } else if (message.channel === PUBLISHED_CHANNEL) {
        received.push(message.data.seq);
      } else {
        fail(`${name}: unexpected ${data}`);
      }
    });
  } else {
    // Engine.IO 4 packets: 0 open, 2 ping (answered by 3 pong), 4 message; inside a message,
    // Socket.IO's 0 connect, 2 event, 3 ack, each with an optional ack id before the JSON.
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('0')) ws.send('40');
      else if (text === '2') ws.send('3');
      else if (text.startsWith('40')) ws.send(`421${JSON.stringify(['subscribe', CHANNELS])}`);
      else if (text.startsWith('431')) {
        const [count] = JSON.parse(text.slice(3));
        if (count !== CHANNELS.length) fail(`${name}: ack says ${count} channels`);
        onSubscribed();
      } else if (text.startsWith('42')) {
        const [event, channel, payload] = JSON.parse(text.slice(2));
        if (event !== 'pub' || channel !== PUBLISHED_CHANNEL) fail(`${name}: unexpected ${text}`);
        received.push(payload.seq);
      } else fail(`${name}: unexpected ${text}`);
    });
  }
  return { ws, received, subscribed };
}

async function post(path, body) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  // The server API answers a refused call with 200 and an `error` in the body, as Centrifugo does.
  if (isHub && response.status === 200 && text.includes('"error"')) fail(`POST ${path}: ${text}`);
  return response.status;
}

let finished = false;

const health = await fetch(`${base}/health`);
await health.text();
if (health.status !== 200) fail(`GET /health answered ${health.status}`);

const clients = [connectClient('client 1'), connectClient('client 2')];
await Promise.all(clients.map((c) => c.subscribed));

const publishPath = isHub ? '/api/publish' : '/publish';
const badStatus = await post(publishPath, '{"channel": "smoke-a", "data": ');
if (badStatus !== 400) fail(`malformed publish answered ${badStatus}, not 400`);

const half = MESSAGE_COUNT / 2;
for (let seq = 0; seq < half; seq++) {
  const status = await post(publishPath, { channel: PUBLISHED_CHANNEL, data: { seq } });
  if (status !== 200) fail(`POST ${publishPath} answered ${status}`);
}
const batch = [];
for (let seq = half; seq < MESSAGE_COUNT; seq++) batch.push({ channel: PUBLISHED_CHANNEL, data: { seq } });
const [batchPath, batchBody] = isHub
  ? ['/api/batch', { commands: batch.map((publish) => ({ publish })) }]
  : ['/publish-batch', { publications: batch }];
const batchStatus = await post(batchPath, batchBody);
if (batchStatus !== 200) fail(`POST ${batchPath} answered ${batchStatus}`);

const expected = Array.from({ length: MESSAGE_COUNT }, (_, i) => i);
const deadline = Date.now() + 5000;
while (clients.some((c) => c.received.length < MESSAGE_COUNT) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
// A short grace period so that a duplicate arriving just after the last message is caught too.
await new Promise((resolve) => setTimeout(resolve, 100));
finished = true;
clients.forEach((client, index) => {
  if (JSON.stringify(client.received) !== JSON.stringify(expected)) {
    fail(`client ${index + 1} received [${client.received}], expected [${expected}]`);
  }
  client.ws.close();
});
console.log(`PASS ${protocol}: 2 clients each received ${MESSAGE_COUNT} publications once, in order`);
process.exit(0);
