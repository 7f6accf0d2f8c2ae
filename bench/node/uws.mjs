#!/usr/bin/env node
// uWebSockets (its C++ core, through the uWebSockets.js binding) for the peer benchmark
// (bench/run.py). uWebSockets itself is a C++ library with no registry package; this npm
// package carries the official binding's prebuilt binaries (20.30), so the handshake,
// framing, buffering, backpressure and pub/sub fan-out are uWS's C++, and only the callbacks
// below run in JavaScript. That makes it a fair stand-in where a message costs much more than
// a callback (16 KiB and 1 MiB echo, handshakes, idle memory, broadcast, where one publish
// from JS fans out in C++), and not in the 64 B and 512 B echoes, where the callback per
// message is most of the cost.
//
// Usage: node uws.mjs --port P [--host H] [--deflate] [--relay]   (prints "uws ready ws://H:P")
// Echo (the default): every text or binary message back as the same type. --relay: every
// client subscribes to one topic and each message is published to it by its sender
// (`ws.publish` skips the sender): uWS's pub/sub, the way its own examples broadcast. --deflate: permessage-deflate with a dedicated compressor per
// connection (uWS.DEDICATED_COMPRESSOR, context takeover, as ws's default).
import { createRequire } from 'node:module';

const uWS = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial');

const args = process.argv.slice(2);
let port = null;
let host = '127.0.0.1';
let deflate = false;
let relay = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else if (args[i] === '--deflate') deflate = true;
  else if (args[i] === '--relay') relay = true;
  else port = NaN;
}
if (!Number.isInteger(port) || port < 0) {
  console.error('usage: node uws.mjs --port P [--host H] [--deflate] [--relay]');
  process.exit(2);
}

const behavior = {
  compression: deflate ? uWS.DEDICATED_COMPRESSOR : uWS.DISABLED,
  maxPayloadLength: 64 * 1024 * 1024,
  // What may wait for one slow receiver: 64 MiB for the 1 MiB echo, 4 MiB for the relay (as
  // duplex relay's default); past it uWS drops the message, which the loader counts as lost.
  maxBackpressure: (relay ? 4 : 64) * 1024 * 1024,
  idleTimeout: 0,
};
if (relay) {
  behavior.open = (ws) => ws.subscribe('all');
  behavior.message = (ws, message, isBinary) => ws.publish('all', message, isBinary);
} else {
  behavior.message = (ws, message, isBinary) => ws.send(message, isBinary);
}

uWS.App().ws('/*', behavior).listen(host, port, (token) => {
  if (!token) {
    console.error(`server error: cannot listen on ${host}:${port}`);
    process.exit(1);
  }
  console.log(`uws ready ws://${host}:${uWS.us_socket_local_port(token)}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
