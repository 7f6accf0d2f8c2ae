// The beside-app example as its users see it, in headless Chromium: log in on the app's page,
// watch the hub's channel, publish through each of the app's two paths, and see each message
// arrive once. Also: a browser without a session is refused by the hub (the connect proxy).
//
// node browser.mjs APP_URL HUB_WEBSOCKET_URL SDK_BUNDLE
// Prints `PASS <check>` / `FAIL <check>: <reason>` per check; exits 1 when any failed.
// The page loads the SDK from its CDN; the test has no internet, so that URL is answered with
// the same version's bundle from tests/hub/node_modules (SDK_BUNDLE).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { runBrowserClient } from '../lib/chromium.mjs';

// playwright-core is locked and installed by tests/hub (setup.sh).
const require = createRequire(new URL('../hub/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [appUrl, hubWebSocketUrl, sdkBundle] = process.argv.slice(2);
if (!sdkBundle) {
  console.error('usage: node browser.mjs APP_URL HUB_WEBSOCKET_URL SDK_BUNDLE');
  process.exit(2);
}
const sdk = readFileSync(sdkBundle, 'utf8');
const STEP_MS = 10_000;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    console.log(`PASS ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(error.message || error).split('\n')[0]}`);
  }
}

async function newPage(browser) {
  const context = await browser.newContext();
  await context.route(/\/centrifuge@[^/]+\/dist\/centrifuge\.js$/, (route) =>
    route.fulfill({ contentType: 'application/javascript', body: sdk }));
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (message) => console.log(`  [page] ${message.text()}`));
  return page;
}

async function messages(page, via) {
  return page.$$eval(`#messages li[data-via="${via}"]`, (items) => items.map((i) => i.textContent));
}

async function publishAndSee(page, via, text) {
  await page.fill('#text', text);
  await page.click(`#via-${via}`);
  await page.waitForFunction(
    ([v, t]) => [...document.querySelectorAll(`#messages li[data-via="${v}"]`)]
      .some((li) => li.textContent.endsWith(t)),
    [via, text], { timeout: STEP_MS });
  // The publication can reach the page over the WebSocket before the app's answer reaches it
  // over HTTP; the page shows "<via>: sending…" until the answer comes.
  await page.waitForFunction(
    (v) => /^\d/.test((document.getElementById('status').textContent || '').slice(v.length + 2))
      && document.getElementById('status').textContent.startsWith(`${v}: `),
    via, { timeout: STEP_MS });
  const status = await page.textContent('#status');
  if (!status.startsWith(`${via}: 200`)) throw new Error(`the app answered ${status}`);
  // A second look a moment later: the message came once, and nothing else came with it.
  await page.waitForTimeout(500);
  const seen = (await messages(page, via)).filter((m) => m.endsWith(text));
  if (seen.length !== 1) throw new Error(`seen ${seen.length} times: ${JSON.stringify(seen)}`);
  if (seen[0] !== `alice (${via}): ${text}`) throw new Error(`shown as ${JSON.stringify(seen[0])}`);
}

await runBrowserClient({ chromium, who: 'beside-app', overallMs: 120_000 }, async (launch) => {
  const browser = await launch();
  const page = await newPage(browser);

  await check('wrong-password-refused', async () => {
    await page.goto(appUrl);
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'nope');
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    if (!(await page.$('#error'))) throw new Error('no error shown after a wrong password');
  });

  await check('login-then-connected-through-the-cookie', async () => {
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'wonderland');
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await page.waitForSelector('text=Hello, alice');
    await page.waitForFunction(() => document.body.dataset.subscribed === 'yes');
    const state = await page.textContent('#state');
    if (!state.startsWith('connected as alice')) throw new Error(`hub state: ${state}`);
  });

  const stamp = Date.now().toString(36);
  await check('publish-through-the-server-api', () => publishAndSee(page, 'api', `via api ${stamp}`));
  await check('publish-through-the-outbox', () => publishAndSee(page, 'outbox', `via outbox ${stamp}`));

  await check('no-session-refused-by-the-hub', async () => {
    const stranger = await newPage(browser);
    await stranger.goto(appUrl);
    await stranger.addScriptTag({ content: sdk });
    const outcome = await stranger.evaluate((url) => new Promise((resolve) => {
      const c = new Centrifuge(url);
      c.on('connected', () => { c.disconnect(); resolve('connected'); });
      c.on('disconnected', (ctx) => resolve(`disconnected ${ctx.code} ${ctx.reason}`));
      c.connect();
    }), hubWebSocketUrl);
    if (outcome !== 'disconnected 4501 not logged in') throw new Error(outcome);
  });

  console.log(failed ? `beside-app: ${failed} check(s) failed` : 'beside-app: all checks passed');
  return failed ? 1 : 0;
});
