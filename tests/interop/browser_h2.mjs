#!/usr/bin/env node
// Interop client: headless Chromium loads a page over HTTPS with HTTP/2 from a duplex server
// (crates/duplex/examples/h2_page.rs: ALPN h2, extended CONNECT enabled, the page at `/` and the
// WebSocket at `/ws`) and the page opens `new WebSocket('wss://<same origin>/ws')`. Chromium
// sends a WebSocket over HTTP/2 (RFC 8441) only on an existing HTTP/2 connection to the origin
// whose SETTINGS enabled extended CONNECT, which the page load provides. The server answers
// `version?` with the HTTP version the handshake came in, so the check is made where it counts:
// the server saw an HTTP/2 extended CONNECT, not an HTTP/1.1 Upgrade. Then: permessage-deflate
// agreed, and a close with 4000 answered cleanly, over the same HTTP/2 stream.
// Usage: node browser_h2.mjs https://127.0.0.1:PORT/
// Prints one line per check, exits 0 when all pass and 1 otherwise.
// Never downloads a browser: it uses /usr/bin/chromium (override with CHROMIUM=/path).
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';

const pageUrl = process.argv[2];
if (!pageUrl) {
  console.error('usage: node browser_h2.mjs https://HOST:PORT/');
  process.exit(2);
}
const STEP_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 110_000;
const FIRST = 'GET / serves the page over HTTP/2';

let failed = 0;
let pageLoaded = false;
async function check(name, fn) {
  if (name !== FIRST && !pageLoaded) {
    console.log(`skip ${name}: the page did not load`);
    return;
  }
  const t0 = performance.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Math.round(performance.now() - t0)} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

await runBrowserClient({ chromium, who: 'browser h2', overallMs: OVERALL_TIMEOUT_MS }, async (launch) => {
  const browser = await launch(['--ignore-certificate-errors']);
  const page = await browser.newPage();
  page.on('console', (msg) => console.log(`[page ${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  const state = () => page.evaluate(() => ({
    status: document.getElementById('status')?.textContent,
    log: [...document.querySelectorAll('#log li')].map((li) => li.textContent),
  }));
  const waitForLine = async (line) => {
    try {
      await page.waitForFunction(
        (want) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === want),
        line, { timeout: STEP_TIMEOUT_MS });
    } catch {
      throw new Error(`no ${JSON.stringify(line)} within ${STEP_TIMEOUT_MS} ms; page shows ${JSON.stringify(await state())}`);
    }
  };

  await check(FIRST, async () => {
    const response = await page.goto(pageUrl, { timeout: STEP_TIMEOUT_MS });
    if (!response || response.status() !== 200) throw new Error(`status ${response && response.status()}`);
    pageLoaded = true;
    console.log(`info ${browser.version()} on ${pageUrl}`);
    await waitForLine('page protocol: h2');
  });
  await check('the server saw the WebSocket handshake as an HTTP/2 extended CONNECT', async () => {
    await waitForLine('echo: handshake over HTTP/2.0');
  });
  await check('messages echo over the HTTP/2 stream, with the subprotocol selected', async () => {
    await waitForLine('echo: hello over h2 ✓');
    const { status } = await state();
    if (status !== 'open, subprotocol echo') throw new Error(`status line is ${JSON.stringify(status)}`);
  });
  await check('permessage-deflate is agreed over HTTP/2', async () => {
    const { log } = await state();
    const line = log.find((l) => l.startsWith('extensions: ')) || '';
    if (!line.startsWith('extensions: permessage-deflate')) throw new Error(`page shows ${JSON.stringify(line)}`);
    console.log(`info negotiated ${line.slice('extensions: '.length)}`);
  });
  await check("closing with 4000 'bye ✓' gets it back, cleanly", async () => {
    await waitForLine('closed 4000 bye ✓ clean=true');
  });
  console.log(failed ? `chromium h2: ${failed} check(s) failed` : 'chromium h2: all checks passed');
  return failed ? 1 : 0;
});
