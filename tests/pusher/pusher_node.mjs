// What the Node runners (node_checks.mjs, browser_client.mjs) share: the settings run.py hands
// them through PUSHER_* environment variables, the `pusher` server SDK made for the hub (and a
// forger: the same SDK with a wrong secret), an event inbox to wait on "the next event" in
// order, assertions, the preflight that makes every check fail fast where no hub listens, and
// the check runner that prints `plan` / `ok` / `FAIL` / `info` lines for run.py.
// `--only CHECK` parsing and the Centrifugo server API client come from tests/hub/hub_node.mjs;
// sleep, deferred, withTimeout, the inbox and snap from tests/lib/checks.mjs.
import PusherServer from 'pusher';
import { makeApi, onlyCheck } from '../hub/hub_node.mjs';
import { Inbox as Queue, deferred, fmt as show, needEnv, sleep, snap, withTimeout } from '../lib/checks.mjs';

export { makeApi, onlyCheck, deferred, sleep, snap, withTimeout };

/** How long any one wait for an event or a reply may take. */
export const STEP_MS = 10_000;
/** How long "nothing more arrives" is watched for (duplicates, strays, wrong recipients). */
export const QUIET_MS = 500;

/** `--group NAME` from `args`, checked against `groups`; exits 2 on an unknown one. */
export function groupArg(args, groups) {
  const at = args.indexOf('--group');
  const group = at >= 0 ? args[at + 1] : null;
  if (!group || !groups.includes(group)) {
    console.log(`FAIL setup: --group takes one of ${groups.join(', ')} (got ${group})`);
    process.exit(2);
  }
  return group;
}

/** The settings from run.py. Secrets come through the environment, not the command line. */
export function settings() {
  const need = (name) => needEnv(name, 'tests/pusher/run.py');
  const host = process.env.PUSHER_HOST || '127.0.0.1';
  const port = Number(need('PUSHER_PORT'));
  const appId = need('PUSHER_APP_ID');
  return {
    host,
    port,
    appId,
    key: need('PUSHER_KEY'),
    secret: need('PUSHER_SECRET'),
    apiKey: need('PUSHER_API_KEY'),
    // The hub namespace of the app's channels: Pusher channel `news` is `pusher-<id>:news`.
    namespace: process.env.PUSHER_NAMESPACE || `pusher-${appId}`,
    httpBase: `http://${host}:${port}`,
    tag: process.env.PUSHER_TAG || `t${Math.random().toString(16).slice(2, 8)}`,
    pageUrl: process.env.PUSHER_PAGE_URL || null,
    hooksUrl: process.env.PUSHER_HOOKS_URL || null,
    overallMs: Number(process.env.PUSHER_CLIENT_TIMEOUT_MS || 85_000),
  };
}

/** The `pusher` server SDK pointed at the hub; `overrides` make the forgers (another secret,
 *  an unknown app id). */
export function serverSdk(s, overrides = {}) {
  return new PusherServer({
    appId: s.appId, key: s.key, secret: s.secret,
    host: s.host, port: String(s.port), useTLS: false, timeout: STEP_MS,
    ...overrides,
  });
}

/** A secret of the same shape that is not the app's. */
export function wrongSecret(secret) {
  return [...secret].reverse().join('') === secret ? `${secret}x` : [...secret].reverse().join('');
}

export function fmt(v) {
  return show(v, 200);
}

/** Deep equality by canonical JSON (object keys sorted), so key order does not matter. */
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}

export function expectEq(got, want, what) {
  if (JSON.stringify(canon(got)) !== JSON.stringify(canon(want))) {
    throw new Error(`${what}: expected ${fmt(want)}, got ${fmt(got)}`);
  }
}

export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/** An error's text: SDK RequestErrors say their status, body and cause. */
export function errText(e) {
  if (!e) return String(e);
  if (e.name === 'PusherRequestError') {
    const cause = e.error ? `: ${e.error.message || e.error.code || e.error}` : '';
    return `${e.message}${e.status ? ` (HTTP ${e.status}${e.body ? ` ${String(e.body).slice(0, 160)}` : ''})` : cause}`;
  }
  if (e instanceof Error) return e.message;
  return fmt(e);
}

/** What an HTTP API call through the SDK answered: the status and the parsed body, or the
 *  SDK's RequestError's status (a network failure throws). */
export async function answer(promise, what) {
  try {
    const res = await promise;
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  } catch (e) {
    if (e && e.name === 'PusherRequestError' && e.status) return { status: e.status, body: e.body };
    throw new Error(`${what}: ${errText(e)}${e && e.error ? ` (is the hub listening?)` : ''}`);
  }
}

/** Items of one kind, queued so that a check can wait for "the next one" in order (`put`,
 *  `next`, `take`, `none`: tests/lib/checks.mjs's, with this file's STEP_MS, QUIET_MS and fmt). */
export class Inbox extends Queue {
  constructor(label) {
    super(label, { stepMs: STEP_MS, quietMs: QUIET_MS, show: fmt, sayLast: true });
  }
}

/** Fails fast when nothing answers at the hub's address: every check would otherwise wait out
 *  its timeouts (pusher-js retries a refused WebSocket silently). Returns an error or null. */
export async function preflight(s) {
  try {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 3000);
    try {
      await fetch(`${s.httpBase}/health`, { signal: ctl.signal });
    } finally {
      clearTimeout(timer);
    }
    return null;
  } catch (e) {
    const why = e.cause ? e.cause.code || e.cause.message : e.message;
    return `no answer at ${s.httpBase}/health (${why}): is the hub listening?`;
  }
}

/**
 * What one subscription delivers, sorted into three inboxes in arrival order:
 *   events    the application's events (`{event, data}`: everything not `pusher:`)
 *   members   `pusher:member_added` / `pusher:member_removed` (`{event, data: {id, info}}`)
 *   control   the other `pusher:` events (subscription_succeeded / _error, cache_miss, ...)
 * `pusher:subscription_count` is left out (a server may send it or not). Fed by
 * `put(event, data)`: in Node from the channel's bind_global, from a page through run reports.
 */
export function channelInboxes(name) {
  const w = {
    name,
    events: new Inbox(`events on ${name}`),
    members: new Inbox(`member events on ${name}`),
    control: new Inbox(`pusher: events on ${name}`),
    put(event, data) {
      const item = { event, data };
      if (event === 'pusher:member_added' || event === 'pusher:member_removed') w.members.put(item);
      else if (event === 'pusher:subscription_count') return;
      else if (event.startsWith('pusher:')) w.control.put(item);
      else w.events.put(item);
    },
  };
  return w;
}

/** Waits for the subscription's outcome on `w.control`: resolves with the
 *  subscription_succeeded data, throws on subscription_error or the timeout. */
export async function subscriptionOutcome(w, what) {
  const first = await w.control.next(
    (x) => x.event === 'pusher:subscription_succeeded' || x.event === 'pusher:subscription_error', STEP_MS, what);
  if (first.event === 'pusher:subscription_error') throw new Error(`${what}: pusher:subscription_error ${fmt(first.data)}`);
  return first.data;
}

/** Calls `probe()` every 100 ms until its value equals `want` (as expectEq sees it), for at
 *  most STEP_MS; then fails with the last value. For state the HTTP API reports, which may
 *  trail the WebSocket events by a moment. */
export async function eventually(probe, want, what) {
  const deadline = Date.now() + STEP_MS;
  let last;
  for (;;) {
    last = await probe();
    try {
      expectEq(last, want, what);
      return last;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${e.message} (still, after ${STEP_MS} ms)`);
    }
    await sleep(100);
  }
}

/**
 * Runs `checks` (name -> async fn) in order, or only `only`: prints `plan` for each first
 * (unless `planned`: the caller did), then `ok   <name> (<ms> ms)` or `FAIL <name>: <reason>`,
 * calling `cleanup()` after each. With `unreachable` (the preflight's error) every planned
 * check FAILs with it at once. Returns the number of failures.
 */
export async function runChecks(checks, only, cleanup, { unreachable = null, planned = false } = {}) {
  const names = Object.keys(checks).filter((n) => !only || only === n);
  if (!planned) for (const name of names) console.log(`plan ${name}`);
  let failed = 0;
  for (const name of names) {
    if (unreachable) {
      failed++;
      console.log(`FAIL ${name}: ${unreachable}`);
      continue;
    }
    const t0 = Date.now();
    try {
      await checks[name]();
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${errText(e).split('\n')[0]}`);
    } finally {
      try {
        await cleanup();
      } catch (e) {
        console.log(`info cleanup after ${name}: ${errText(e)}`);
      }
    }
  }
  return failed;
}
