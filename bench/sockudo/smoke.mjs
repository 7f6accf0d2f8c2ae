#!/usr/bin/env node
// Smoke test of a Pusher-protocol server for the hub benchmark (issue 22): Sockudo, and the hub's
// own Pusher endpoint (`duplex-pusher`). Run by `python3 bench/hub_servers.py smoke`.
//
// The loader publishes through each server's signed HTTP API and counts what arrives, so before
// measuring anything this checks the whole path by hand, the way the Pusher server SDKs and
// pusher-js do it: two clients connect with protocol 7, subscribe to the public channel `c1`
// (`pusher_internal:subscription_succeeded`), then 10 numbered events are published, five
// through `POST /apps/ID/events` and five in one `POST /apps/ID/batch_events`, each signed
// (auth_key, auth_timestamp, auth_version=1.0, body_md5, and auth_signature = HMAC-SHA256 of
// "POST\n<path>\n<sorted query>"), one request at a time so the order is defined. Each client
// must receive all 10 once, in order. A request signed with the wrong secret must get 401,
// which shows that the signature is really checked (and so that ours is right).
//
// Usage: node smoke.mjs PORT [APP_ID APP_KEY APP_SECRET]   (default bench bench-key bench-secret)
// Exit 0 when everything holds, 1 otherwise.
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

// `ws` is installed once for all the benchmark's Node scripts, in bench/node.
const WebSocket = createRequire(new URL('../node/package.json', import.meta.url))('ws');

const [portText, appId = 'bench', appKey = 'bench-key', appSecret = 'bench-secret'] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node smoke.mjs PORT [APP_ID APP_KEY APP_SECRET]');
  process.exit(2);
}

const CHANNEL = 'c1';
const EVENT_NAME = 'smoke';
const MESSAGE_COUNT = 10;
const TIMEOUT_MS = 10_000;
const label = `pusher on port ${port}`;

function fail(reason) {
  console.error(`FAIL ${label}: ${reason}`);
  process.exit(1);
}
setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

let finished = false;

function connectClient(name) {
  const received = [];
  let onSubscribed;
  const subscribed = new Promise((resolve) => {
    onSubscribed = resolve;
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${appKey}?protocol=7&client=bench&version=1`, {
    perMessageDeflate: false,
  });
  ws.on('error', (error) => fail(`${name}: ${error.message}`));
  ws.on('close', (code) => {
    if (!finished) fail(`${name}: closed with ${code}`);
  });
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    switch (message.event) {
      case 'pusher:connection_established':
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: CHANNEL } }));
        break;
      case 'pusher:ping':
        ws.send(JSON.stringify({ event: 'pusher:pong', data: {} }));
        break;
      case 'pusher_internal:subscription_succeeded':
        if (message.channel !== CHANNEL) fail(`${name}: subscribed to ${message.channel}`);
        onSubscribed();
        break;
      case EVENT_NAME:
        if (message.channel !== CHANNEL) fail(`${name}: event on ${message.channel}`);
        // Pusher carries `data` as a string; the publisher put JSON in it.
        received.push(JSON.parse(message.data).seq);
        break;
      default:
        fail(`${name}: unexpected ${data}`);
    }
  });
  return { ws, received, subscribed };
}

// Pusher's request signature: the query parameters sorted by name, joined as k=v&..., after the
// method and the path; the signature itself is appended last.
function signedUrl(path, bodyText, secret) {
  const params = {
    auth_key: appKey,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    body_md5: createHash('md5').update(bodyText).digest('hex'),
  };
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  const signature = createHmac('sha256', secret).update(`POST\n${path}\n${query}`).digest('hex');
  return `http://127.0.0.1:${port}${path}?${query}&auth_signature=${signature}`;
}

async function publish(endpoint, body, secret = appSecret) {
  const path = `/apps/${appId}/${endpoint}`;
  const bodyText = JSON.stringify(body);
  const response = await fetch(signedUrl(path, bodyText, secret), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodyText,
  });
  return { status: response.status, text: await response.text() };
}

const eventOf = (seq) => ({ name: EVENT_NAME, channel: CHANNEL, data: JSON.stringify({ seq }) });

const clients = [connectClient('client 1'), connectClient('client 2')];
await Promise.all(clients.map((c) => c.subscribed));

const forged = await publish('events', eventOf(-1), `${appSecret}-wrong`);
if (forged.status !== 401) fail(`a wrongly signed publish answered ${forged.status}, not 401: ${forged.text}`);

const half = MESSAGE_COUNT / 2;
for (let seq = 0; seq < half; seq++) {
  const { status, text } = await publish('events', eventOf(seq));
  if (status !== 200) fail(`POST /apps/${appId}/events answered ${status}: ${text}`);
}
const batch = [];
for (let seq = half; seq < MESSAGE_COUNT; seq++) batch.push(eventOf(seq));
const batchReply = await publish('batch_events', { batch });
if (batchReply.status !== 200) fail(`POST /apps/${appId}/batch_events answered ${batchReply.status}: ${batchReply.text}`);

const expected = Array.from({ length: MESSAGE_COUNT }, (_, i) => i);
const deadline = Date.now() + 5000;
while (clients.some((c) => c.received.length < MESSAGE_COUNT) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
// A short grace period so that a duplicate arriving just after the last event is caught too.
await new Promise((resolve) => setTimeout(resolve, 100));
finished = true;
clients.forEach((client, index) => {
  if (JSON.stringify(client.received) !== JSON.stringify(expected)) {
    fail(`client ${index + 1} received [${client.received}], expected [${expected}]`);
  }
  client.ws.close();
});
console.log(`PASS ${label}: 2 clients each received ${MESSAGE_COUNT} events once, in order (app ${appId})`);
process.exit(0);
