#!/usr/bin/env node
// centrifuge-js (the npm `centrifuge` SDK) in Node against the hub: the checks of js_checks.mjs
// over JSON, or over Protobuf with `--protobuf` (the SDK's `centrifuge/build/protobuf` build,
// binary frames, `centrifuge-protobuf` subprotocol). Node 20 has no global WebSocket, so the
// SDK is handed the `ws` package's, as its README says.
// Usage (run.py sets the HUB_* variables): node node_client.mjs [--protobuf] [--only CHECK]
//   [--origin-check]   also check that a disallowed Origin is refused at the handshake
// Prints `plan <check>` for each check, then `ok`/`FAIL` per check; exits 0 when all pass.
import WebSocket from 'ws';
import { CHECK_NAMES, runChecks } from './js_checks.mjs';
import { settings, mintToken, makeApi, onlyCheck } from './hub_node.mjs';

const args = process.argv.slice(2);
const protobuf = args.includes('--protobuf');
const originCheck = args.includes('--origin-check');
const only = onlyCheck(args, CHECK_NAMES);

const s = settings();
const sdk = protobuf ? await import('centrifuge/build/protobuf') : await import('centrifuge');

/**
 * `ws`, handing each message to the SDK in a task of its own, as a browser's WebSocket does.
 *
 * centrifuge-js 5.7.4 chains the handling of each WebSocket message behind the previous one's,
 * but the chain only holds when the previous message's handling has started before the next
 * message arrives. `ws` emits every message of one socket read in the same tick, so when a
 * reply and a publication arrive together the SDK can hand the publication to the application
 * before it has finished with the reply: the `killed-mid-stream` check saw a live publication
 * come out ahead of the recovered ones, although the hub had sent them in order (the hub's own
 * tests read the wire: crates/duplex-hub/tests/recovery.rs). Browsers deliver one message per
 * task, where the SDK keeps order; so does this class. A Node application using the SDK with
 * `ws` should do the same (docs/protocol.md).
 */
class TaskPerMessageWebSocket extends WebSocket {
  set onmessage(handler) {
    super.onmessage = handler ? (event) => setImmediate(() => handler(event)) : handler;
  }

  get onmessage() {
    return super.onmessage;
  }
}

/** A WebSocket that says it comes from a page the hub does not allow. */
class ForeignOriginWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { origin: 'http://not-allowed.invalid' });
  }
}

for (const name of CHECK_NAMES) {
  if ((!only || only === name) && (name !== 'origin-refused' || originCheck)) console.log(`plan ${name}`);
}
const failed = await runChecks({
  Centrifuge: sdk.Centrifuge,
  wsUrl: s.wsUrl,
  protobuf,
  websocket: TaskPerMessageWebSocket,
  originWebsocket: originCheck ? ForeignOriginWebSocket : null,
  mintToken: async (claims) => mintToken(s.secret, claims),
  api: makeApi(s.apiUrl, s.apiKey),
  tag: s.tag,
  recoveryCount: s.recoveryCount,
  only,
  log: (line) => console.log(line),
});
console.log(failed ? `node client: ${failed} check(s) failed` : 'node client: all checks passed');
process.exit(failed ? 1 : 0);
