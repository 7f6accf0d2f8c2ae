#!/usr/bin/env node
// uWebSockets pub/sub as the raw floor of the hub benchmark (issue 22, started by
// bench/hub_servers.py).
//
// No hub features at all: no authentication, history, recovery or protocol envelope, just uWS's
// C++ topic tree (through the uWebSockets.js binding already used by bench/node/uws.mjs) writing
// one prepared frame to every subscriber. It shows what fan-out costs when a server does nothing
// else, so the hubs' figures can be read against it.
//
// Usage: node hub_uws.mjs PORT        (prints "listening on PORT" once it accepts)
//
// Wire contract the loader (`duplex bench hub`) and hub_smoke.mjs rely on:
//   ws://127.0.0.1:PORT/<any path>, text `{"subscribe":["a","b"]}` -> subscribed to both, text `{"subscribed":2}`
//   POST /publish        {"channel":"a","data":<JSON>} -> the body text itself, unchanged, as one
//                        text message to every subscriber of a; 200 {}
//   POST /publish-batch  {"publications":[{"channel":..,"data":..},...]} -> each as its own
//                        `{"channel":..,"data":..}` text, in order; 200 {}
//   GET  /health         -> 200
// A body that is not such JSON is answered 400 and publishes nothing.
import { createRequire } from 'node:module';
import { BadRequest, MAX_PUBLISH_BODY_BYTES, parseJson, portFromArgs, publicationFrom } from './hub_publish.mjs';

const uWS = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial');

const port = portFromArgs('hub_uws.mjs');

// uWS hands the body over in chunks whose memory it reuses once each callback returns, so every
// chunk but a lone last one is copied; onAborted must be registered or uWS aborts the process
// when a client hangs up mid-body.
function readBody(res, onBody) {
  let aborted = false;
  let received = null;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    if (aborted) return;
    const view = Buffer.from(chunk);
    if (received === null && isLast) {
      onBody(view);
      return;
    }
    received = received === null ? Buffer.from(view) : Buffer.concat([received, view]);
    if (received.length > MAX_PUBLISH_BODY_BYTES) {
      aborted = true;
      res.cork(() => res.writeStatus('413 Payload Too Large').end('{"error":"body too large"}', true));
      return;
    }
    if (isLast) onBody(received);
  });
}

function answer(res, status, bodyText) {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(bodyText);
  });
}

// Validates the whole request before publishing anything, so a bad batch publishes nothing at
// all instead of a prefix the loader would count as lost messages.
function publishRoute(isBatch) {
  return (res) => {
    readBody(res, (body) => {
      try {
        const parsed = parseJson(body.toString('utf8'));
        if (isBatch) {
          if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.publications)) {
            throw new BadRequest('expected {"publications": [...]}');
          }
          const publications = parsed.publications.map(publicationFrom);
          for (const publication of publications) {
            app.publish(publication.channel, JSON.stringify(publication), false, false);
          }
        } else {
          // The raw body goes out as it came: re-serializing would cost the floor a JSON encode.
          app.publish(publicationFrom(parsed).channel, body, false, false);
        }
        answer(res, '200 OK', '{}');
      } catch (error) {
        if (error instanceof BadRequest) answer(res, '400 Bad Request', JSON.stringify({ error: error.message }));
        else answer(res, '500 Internal Server Error', JSON.stringify({ error: String(error) }));
      }
    });
  };
}

function handleClientMessage(ws, message, isBinary) {
  let request;
  try {
    request = JSON.parse(Buffer.from(message).toString('utf8'));
  } catch {
    request = null;
  }
  const channels = request !== null && typeof request === 'object' ? request.subscribe : undefined;
  if (isBinary || !Array.isArray(channels) || !channels.every((c) => typeof c === 'string' && c !== '')) {
    ws.send('{"error":"expected {\\"subscribe\\": [\\"NAME\\", ...]}"}', false);
    return;
  }
  for (const channel of channels) ws.subscribe(channel);
  ws.send(JSON.stringify({ subscribed: channels.length }), false);
}

const app = uWS.App()
  .ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    // 0 turns the idle timer (and with it uWS's automatic pings) off: the benchmark's clients
    // stay silent for as long as a scenario lasts and must not be dropped for it.
    idleTimeout: 0,
    // What may wait for one slow receiver before uWS drops messages to it: generous, so that a
    // burst at 10,000 subscribers is measured as latency, not as loss.
    maxBackpressure: 64 * 1024 * 1024,
    message: handleClientMessage,
  })
  .post('/publish', publishRoute(false))
  .post('/publish-batch', publishRoute(true))
  .get('/health', (res) => {
    res.writeHeader('content-type', 'application/json').end('{}');
  })
  .any('/*', (res) => {
    res.writeStatus('404 Not Found').end('{"error":"not found"}');
  });

// uSockets shares ports (SO_REUSEPORT) unless told otherwise: a second server started on a port
// still in use would then split the connections with the first instead of failing.
app.listen('127.0.0.1', port, uWS.LIBUS_LISTEN_EXCLUSIVE_PORT, (token) => {
  if (!token) {
    console.error(`server error: cannot listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`listening on ${uWS.us_socket_local_port(token)}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
