// What the SDK checks of tests/hub (js_checks.mjs) and tests/pusher (pusher_node.mjs, page.mjs)
// share, and tests/demo with them: the settings' reader (`needEnv`), sleep, a deferred promise, a timeout around a promise, a short printable form of a value,
// an inbox to wait on "the next item" in order, and a plain copy of what an SDK hands a callback.
// It imports nothing and runs both in Node and inside the test pages, where tests/hub/run.py and
// tests/pusher/run.py serve it at /lib/checks.mjs (so `../lib/checks.mjs` resolves there too).

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The environment variable `name`, which `runner` (a run.py) sets for the check scripts; without
 * it, a setup failure and exit 2. Node only (secrets come through the environment, not argv).
 */
export function needEnv(name, runner) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL setup: ${name} is not set (run this through ${runner})`);
    process.exit(2);
  }
  return v;
}

export function deferred() {
  let resolve, reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  // A rejection that comes after its waiter gave up (timed out) is not an unhandled one.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** `v` as JSON (or String(v)), cut to `max` characters. */
export function fmt(v, max) {
  let s;
  try { s = JSON.stringify(v); } catch { s = String(v); }
  if (s === undefined) s = String(v);
  return s.length > max ? s.slice(0, max - 3) + '...' : s;
}

/**
 * Items of one kind, queued by `put` so that a check can wait for "the next one" in order.
 * `stepMs` is the default wait, `quietMs` the default watch of `none`, `show` how an item is
 * printed in errors; with `sayLast`, a short `take` says the last item it got.
 */
export class Inbox {
  constructor(label, { stepMs, quietMs, show, sayLast = false }) {
    this.label = label;
    this.items = [];
    this.waiters = [];
    this.stepMs = stepMs;
    this.quietMs = quietMs;
    this.show = show;
    this.sayLast = sayLast;
  }

  put(item) {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => !w.try());
  }

  /** The next item (matching `pred`, dropping others up to it), within `ms`. */
  next(pred = () => true, ms = this.stepMs, what = this.label) {
    return new Promise((resolve, reject) => {
      const w = {
        try: () => {
          while (this.items.length) {
            const item = this.items.shift();
            if (pred(item)) { clearTimeout(w.timer); resolve(item); return true; }
          }
          return false;
        },
      };
      if (w.try()) return;
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${what}: nothing within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** `n` items in a row, all of them (none skipped). */
  async take(n, ms = this.stepMs, what = this.label) {
    const out = [];
    for (let i = 0; i < n; i++) {
      try {
        out.push(await this.next(() => true, ms, what));
      } catch (e) {
        const last = this.sayLast && out.length ? `; last ${this.show(out[out.length - 1])}` : '';
        throw new Error(`${e.message} (after ${i} of ${n}${last})`);
      }
    }
    return out;
  }

  /** Fails if an item arrives within `ms` (a duplicate, a stray event, a wrong recipient). */
  async none(ms = this.quietMs, what = this.label) {
    await sleep(ms);
    if (this.items.length) throw new Error(`${what}: unexpected ${this.show(this.items[0])} (${this.items.length} in all)`);
  }
}

/** A plain copy of what an SDK hands a callback (pusher-js's Members object is live and
 *  changes later; errors may hold sockets): functions dropped, cycles cut. */
export function snap(v, stack = []) {
  if (v === undefined || typeof v === 'function') return undefined;
  if (v === null || typeof v !== 'object') return v;
  // A cycle is an object inside itself; the same object twice side by side is no cycle
  // (pusher-js's Members.me.info is the object members[me.id] holds).
  if (stack.includes(v)) return '[cycle]';
  if (stack.length > 12) return '[deep]';
  if (v instanceof Error) return { name: v.name, message: v.message };
  stack.push(v);
  let out;
  if (Array.isArray(v)) {
    out = v.map((x) => { const y = snap(x, stack); return y === undefined ? null : y; });
  } else {
    out = {};
    for (const k of Object.keys(v)) {
      const y = snap(v[k], stack);
      if (y !== undefined) out[k] = y;
    }
  }
  stack.pop();
  return out;
}
