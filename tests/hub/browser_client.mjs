#!/usr/bin/env node
// centrifuge-js in a real browser against the hub: headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; never a browser download) opens the page that
// run.py's static server serves (HUB_PAGE_URL: the SDK's own browser bundle
// node_modules/centrifuge/dist/centrifuge.js, or centrifuge.protobuf.js with `?protobuf=1`, and
// js_checks.mjs), and the page runs the same checks as node_client.mjs with the browser's own
// WebSocket and Origin. Tokens and server API calls stay in Node (exposed to the page as
// functions), so the page never holds the API key.
// With --transport http_stream or sse, the page has no WebSocket at all (deleted before any
// script runs, as where it is blocked) and the SDK is given WebSocket then that fallback: it
// must fall back, and every check runs over the fallback.
// Usage (run.py sets the HUB_* variables):
//   node browser_client.mjs [--protobuf] [--transport http_stream|sse] [--only CHECK]
import { chromium } from 'playwright-core';
import { CHECK_NAMES } from './js_checks.mjs';
import { settings, mintToken, makeApi, onlyCheck } from './hub_node.mjs';
import { runBrowserClient } from '../lib/chromium.mjs';

const OVERALL_MS = Number(process.env.HUB_CLIENT_TIMEOUT_MS || 110_000);
// Checks that make no sense in a page: the browser sets Origin itself (the page's origin is the
// allowed one here).
const NOT_IN_BROWSER = new Set(['origin-refused']);

const args = process.argv.slice(2);
const protobuf = args.includes('--protobuf');
const transportAt = args.indexOf('--transport');
const fallback = transportAt >= 0 ? args[transportAt + 1] : null;
if (fallback !== null && !['http_stream', 'sse'].includes(fallback)) {
  console.log(`FAIL setup: --transport takes http_stream or sse, not ${fallback}`);
  process.exit(2);
}
const only = onlyCheck(args, CHECK_NAMES);
const s = settings();
const pageBase = process.env.HUB_PAGE_URL;
if (!pageBase) {
  console.log('FAIL setup: HUB_PAGE_URL is not set (run.py serves the page)');
  process.exit(2);
}
const pageUrl = `${pageBase}${protobuf ? '?protobuf=1' : ''}`;
const planned = CHECK_NAMES.filter((n) => (!only || only === n) && !NOT_IN_BROWSER.has(n));
for (const name of planned) console.log(`plan ${name}`);

const api = makeApi(s.apiUrl, s.apiKey);
await runBrowserClient({ chromium, who: 'browser client', overallMs: OVERALL_MS }, async (launch) => {
  const browser = await launch();
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') console.log(`[page console error] ${msg.text()}`); });
  // The page's way out to Node: log lines as they come (so a timeout still shows progress),
  // tokens, and the server API (errors come back as values: exposed functions lose `.code`).
  await page.exposeFunction('hubLog', (line) => console.log(line));
  await page.exposeFunction('hubMintToken', (claims) => mintToken(s.secret, claims));
  await page.exposeFunction('hubApi', async (method, body) => {
    try {
      return { result: await api(method, body) };
    } catch (e) {
      return { error: { code: e.code || 0, message: e.message } };
    }
  });
  if (fallback) {
    await page.addInitScript(() => { delete window.WebSocket; });
  }
  const response = await page.goto(pageUrl, { timeout: 20_000 });
  if (!response || response.status() !== 200) throw new Error(`page ${pageUrl}: status ${response && response.status()}`);
  const ready = await page.evaluate(() => typeof window.Centrifuge);
  if (ready !== 'function') throw new Error(`the SDK bundle did not load: typeof Centrifuge is ${ready}`);
  console.log(`info ${browser.version()} on ${pageUrl}, origin ${new URL(pageUrl).origin}${fallback ? `, over ${fallback} (no WebSocket in the page)` : ''}`);
  const hubBase = s.wsUrl.replace(/^ws/, 'http').replace(/\/connection\/websocket$/, '');
  // WebSocket first, as an application lists it: the SDK finds it unavailable and falls back.
  const transports = fallback
    ? [
      { transport: 'websocket', endpoint: s.wsUrl },
      { transport: fallback, endpoint: `${hubBase}/connection/${fallback}` },
    ]
    : null;
  const failed = await page.evaluate(async (opts) => {
    const { runChecks } = await import('/js_checks.mjs');
    return runChecks({
      Centrifuge: window.Centrifuge,
      wsUrl: opts.wsUrl,
      transports: opts.transports,
      emulationEndpoint: opts.emulationEndpoint,
      protobuf: opts.protobuf,
      websocket: null,
      originWebsocket: null,
      mintToken: (claims) => window.hubMintToken(claims),
      api: async (method, body) => {
        const r = await window.hubApi(method, body);
        if (r.error) {
          const e = new Error(r.error.message);
          e.code = r.error.code;
          throw e;
        }
        return r.result;
      },
      tag: opts.tag,
      recoveryCount: opts.recoveryCount,
      only: opts.only,
      log: (line) => window.hubLog(line),
    });
  }, {
    wsUrl: s.wsUrl, protobuf, tag: s.tag, recoveryCount: s.recoveryCount, only, transports,
    emulationEndpoint: fallback ? `${hubBase}/emulation` : null,
  });
  console.log(failed ? `chromium client: ${failed} check(s) failed` : 'chromium client: all checks passed');
  return failed ? 1 : 0;
});
