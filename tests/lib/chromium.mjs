// How the harnesses' browser clients (tests/interop/browser_client.mjs and browser_page.mjs,
// tests/hub/browser_client.mjs) run headless Chromium: Debian's /usr/bin/chromium (override with
// CHROMIUM=/path; never a browser download) driven by playwright-core with one set of flags, and
// one way to end (closed on every exit path, SIGINT/SIGTERM and an overall deadline included).
//
// playwright-core comes in as an argument rather than an import: a bare import resolves from the
// importing file's folder, and tests/lib has no node_modules (each harness locks its own).

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Headless in a container: no sandbox or GPU, and nothing that talks to Google on its own.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Launches Chromium through `chromium` (playwright-core's) with FLAGS and then `extraArgs`. */
export function launchChromium(chromium, extraArgs = []) {
  // playwright-core gives it a fresh, empty --user-data-dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...extraArgs],
    timeout: 60_000,
  });
}

/**
 * Runs a browser client's main part, `body(launch)`, and exits the process with the code it
 * returns. `launch(extraArgs)` starts Chromium, which is closed at the end, on SIGINT/SIGTERM
 * (exit 130) and after `overallMs` (`FAIL <who>: did not finish within ...`, exit 1, after
 * `beforeTimeout()` had its say); a throw becomes `FAIL <who>: <first line>`, exit 1.
 * `onCleanup()` runs after the browser is closed (a page server to stop, say).
 */
export async function runBrowserClient({ chromium, who, overallMs, beforeTimeout, onCleanup }, body) {
  let browser;
  const cleanup = async () => {
    if (browser) await browser.close().catch(() => {});
    if (onCleanup) onCleanup();
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup().finally(() => process.exit(130)); });
  const overall = setTimeout(async () => {
    if (beforeTimeout) {
      try {
        await beforeTimeout();
      } catch {}
    }
    console.log(`FAIL ${who}: did not finish within ${overallMs} ms`);
    cleanup().finally(() => process.exit(1));
  }, overallMs);

  let code = 1;
  try {
    code = await body(async (extraArgs = []) => {
      browser = await launchChromium(chromium, extraArgs);
      return browser;
    });
  } catch (e) {
    console.log(`FAIL ${who}: ${e.message.split('\n')[0]}`);
    code = 1;
  } finally {
    clearTimeout(overall);
    await cleanup();
  }
  process.exit(code);
}
