#!/usr/bin/env node
// Interop client: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// loads a page that a duplex server serves itself (examples/axum_upgrade.rs: the page at `/`
// and the WebSocket at `/ws` on one port) and checks, through the page's own DOM, that its
// script's WebSocket opened and echoed what it sent.
// Usage: node browser_page.mjs http://127.0.0.1:PORT/
// Prints one line per check, exits 0 when all pass and 1 otherwise.
// Never downloads a browser: it uses /usr/bin/chromium (override with CHROMIUM=/path).
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';

const pageUrl = process.argv[2];
if (!pageUrl) {
  console.error('usage: node browser_page.mjs http://HOST:PORT/');
  process.exit(2);
}
const STEP_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 110_000;
const FIRST = 'GET / serves the page';

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

await runBrowserClient({ chromium, who: 'browser page', overallMs: OVERALL_TIMEOUT_MS }, async (launch) => {
  const browser = await launch();
  const page = await browser.newPage();
  page.on('console', (msg) => console.log(`[page ${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  const state = () => page.evaluate(() => ({
    status: document.getElementById('status')?.textContent,
    log: [...document.querySelectorAll('#log li')].map((li) => li.textContent),
  }));
  // Waits for a line in the page's log, and says what the page showed instead if it never comes.
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
    const type = response.headers()['content-type'] || '';
    if (!type.startsWith('text/html')) throw new Error(`content-type ${JSON.stringify(type)}`);
    console.log(`info ${browser.version()} on ${pageUrl}`);
    pageLoaded = true;
  });
  await check("the page's WebSocket to /ws echoes its first message", async () => {
    await waitForLine('echo: hello from the browser ✓');
  });
  await check('the subprotocol offered by the page is selected', async () => {
    const { status } = await state();
    if (status !== 'open, subprotocol echo') throw new Error(`status line is ${JSON.stringify(status)}`);
  });
  await check('a message typed into the form comes back', async () => {
    const text = 'typed in the page: héllo 😀';
    await page.fill('#text', text, { timeout: STEP_TIMEOUT_MS });
    await page.click('button', { timeout: STEP_TIMEOUT_MS });
    await waitForLine(`echo: ${text}`);
  });
  console.log(failed ? `chromium page: ${failed} check(s) failed` : 'chromium page: all checks passed');
  return failed ? 1 : 0;
});
