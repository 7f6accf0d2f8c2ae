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
  websocket: WebSocket,
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
