// src/client.ts
import { State, SubscriptionState as SubscriptionState2, UnauthorizedError as UnauthorizedError2 } from "centrifuge";

// src/emitter.ts
var Emitter = class {
  constructor() {
    this.table = {};
  }
  /** Adds `fn` for `event`. */
  on(event, fn) {
    var _a;
    ((_a = this.table)[event] ?? (_a[event] = [])).push({ fn, once: false });
    return this;
  }
  /** Same as `on`. */
  addListener(event, fn) {
    return this.on(event, fn);
  }
  /** Adds `fn` for the next `event` only. */
  once(event, fn) {
    var _a;
    ((_a = this.table)[event] ?? (_a[event] = [])).push({ fn, once: true });
    return this;
  }
  /** Removes one registration of `fn` for `event`. */
  off(event, fn) {
    const list = this.table[event];
    if (list) {
      const i = list.findIndex((e) => e.fn === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }
  /** Same as `off`. */
  removeListener(event, fn) {
    return this.off(event, fn);
  }
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event) {
    if (event === void 0) {
      for (const k of Object.keys(this.table)) delete this.table[k];
    } else {
      delete this.table[event];
    }
    return this;
  }
  /** The listeners of `event`, in order. */
  listeners(event) {
    return (this.table[event] ?? []).map((e) => e.fn);
  }
  /**
   * Calls the listeners of `event`; whether there were any. A listener that throws is reported
   * asynchronously (as an uncaught error) so that it cannot break the message handling that
   * emitted the event.
   */
  emit(event, ...args) {
    const list = this.table[event];
    if (!list || list.length === 0) return false;
    for (const entry of list.slice()) {
      if (entry.once) this.off(event, entry.fn);
      try {
        entry.fn(...args);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
    return true;
  }
};

// src/owner.ts
import { Centrifuge, UnauthorizedError } from "centrifuge";

// src/messages.ts
var tabLockName = (tab) => `duplex-shared-centrifuge:tab:${tab}`;
var leaderLockName = (name) => `duplex-shared-centrifuge:leader:${name}`;
var channelName = (name) => `duplex-shared-centrifuge:${name}`;
function cloneable(src, keys) {
  const out = {};
  for (const k of keys) {
    const v = src[k];
    if (v !== void 0 && v !== null && typeof v !== "function") out[k] = v;
  }
  return out;
}
function wireError(e) {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    return { code: Number(e.code), message: String(e.message) };
  }
  return { code: 0, message: e instanceof Error ? e.message : String(e) };
}

// src/owner.ts
var CLIENT_EVENTS = [
  "error",
  "message",
  "subscribed",
  "subscribing",
  "unsubscribed",
  "publication",
  "join",
  "leave"
];
var TOKEN_PATIENCE_MS = 15e3;
var Owner = class {
  constructor(hooks) {
    this.hooks = hooks;
    this.tabs = /* @__PURE__ */ new Map();
    this.channels = /* @__PURE__ */ new Map();
    this.tokenAsks = /* @__PURE__ */ new Map();
    this.client = null;
    this.connected = null;
    this.ids = 0;
    this.gathering = hooks.gatherMs > 0;
    if (this.gathering) {
      setTimeout(() => {
        this.gathering = false;
        this.reconcile();
      }, hooks.gatherMs);
    }
  }
  /** One message from tab `tab`. */
  handle(tab, msg) {
    switch (msg.t) {
      case "hello": {
        const fresh = !this.tabs.has(tab);
        for (const ch of this.channels.values()) ch.members.delete(tab);
        this.tabs.set(tab, { id: tab, connect: false, getToken: msg.conn.getToken, subs: /* @__PURE__ */ new Map() });
        if (!this.client) this.createClient(msg.conn);
        this.hooks.post([tab], { t: "welcome" });
        if (fresh) this.watch(tab);
        this.setState(tab, msg.state);
        break;
      }
      case "state":
        this.setState(tab, msg.state);
        break;
      case "call":
        this.call(tab, msg.id, msg.method, msg.args);
        break;
      case "token":
        this.tokenAsks.get(msg.id)?.answer(msg);
        break;
      case "bye":
        this.detach(tab);
        break;
    }
  }
  /** Forgets tab `tab`: its subscriptions end when no other tab holds them. */
  detach(tab) {
    if (!this.tabs.delete(tab)) return;
    for (const ask of [...this.tokenAsks.values()]) if (ask.tab === tab) ask.answer(null);
    this.hooks.gone?.(tab);
    this.reconcile();
  }
  /** Closes the connection (the owner's tab is going away). */
  close() {
    this.tabs.clear();
    this.client?.disconnect();
  }
  watch(tab) {
    if (tab === this.hooks.self || typeof navigator === "undefined" || !navigator.locks) return;
    navigator.locks.request(tabLockName(tab), () => this.detach(tab)).catch(() => {
    });
  }
  setState(id, state) {
    const tab = this.tabs.get(id);
    if (!tab) return;
    const was = tab.connect;
    tab.connect = state.connect;
    tab.subs = new Map(state.subs.map((s) => [s.channel, s]));
    if (!was && tab.connect && this.connected) {
      this.hooks.post([id], { t: "cev", ev: "connected", ctx: this.connected });
    }
    this.reconcile();
  }
  createClient(conn) {
    const options = { ...conn.options };
    if (conn.getToken) options.getToken = () => this.askToken();
    const client = new Centrifuge(conn.endpoint, options);
    this.client = client;
    client.on("connecting", (ctx) => {
      this.connected = null;
      this.toConnected({ t: "cev", ev: "connecting", ctx });
    });
    client.on("connected", (ctx) => {
      this.connected = ctx;
      this.toConnected({ t: "cev", ev: "connected", ctx });
    });
    client.on("disconnected", (ctx) => {
      this.connected = null;
      this.toConnected({ t: "cev", ev: "disconnected", ctx });
      for (const tab of this.tabs.values()) tab.connect = false;
      this.reconcile();
    });
    for (const ev of CLIENT_EVENTS) {
      client.on(ev, (ctx) => this.toConnected({ t: "cev", ev, ctx }));
    }
  }
  toConnected(msg) {
    const ids = [...this.tabs.values()].filter((t) => t.connect).map((t) => t.id);
    if (ids.length) this.hooks.post(ids, msg);
  }
  reconcile() {
    const client = this.client;
    if (this.gathering || !client) return;
    const want = /* @__PURE__ */ new Map();
    for (const tab of this.tabs.values()) {
      if (!tab.connect) continue;
      for (const ch of tab.subs.keys()) {
        const list = want.get(ch);
        if (list) list.push(tab.id);
        else want.set(ch, [tab.id]);
      }
    }
    for (const ch of [...this.channels.values()]) if (!want.has(ch.name)) this.removeChannel(ch);
    for (const [name, ids] of want) {
      const ch = this.channels.get(name);
      if (!ch) {
        this.createChannel(client, name, ids);
        continue;
      }
      for (const id of ch.members.keys()) if (!ids.includes(id)) ch.members.delete(id);
      for (const id of ids) if (!ch.members.has(id)) this.join(ch, id);
    }
    const anyone = [...this.tabs.values()].some((t) => t.connect);
    if (anyone && client.state === "disconnected") client.connect();
    if (!anyone && client.state !== "disconnected") client.disconnect();
  }
  wanted(tab, channel) {
    return this.tabs.get(tab)?.subs.get(channel);
  }
  createChannel(client, name, ids) {
    const first = this.wanted(ids[0], name);
    const options = { ...first.opts.options };
    if (first.opts.getToken) options.getToken = () => this.askToken(name);
    const since = oldest(ids.map((id) => this.wanted(id, name)?.pos));
    if (since) options.since = since;
    const sub = client.newSubscription(name, options);
    const ch = { name, sub, members: /* @__PURE__ */ new Map(), pos: since, removing: false };
    for (const id of ids) ch.members.set(id, { from: this.wanted(id, name)?.pos, buffer: null });
    this.channels.set(name, ch);
    sub.on("subscribing", (ctx) => this.post(ch, "subscribing", ctx));
    sub.on("subscribed", (ctx) => this.onSubscribed(ch, ctx));
    sub.on("publication", (ctx) => this.onPublication(ch, ctx));
    sub.on("join", (ctx) => this.post(ch, "join", ctx));
    sub.on("leave", (ctx) => this.post(ch, "leave", ctx));
    sub.on("error", (ctx) => this.post(ch, "error", ctx));
    sub.on("unsubscribed", (ctx) => {
      if (ch.removing) return;
      this.post(ch, "unsubscribed", ctx);
      for (const id of ch.members.keys()) this.tabs.get(id)?.subs.delete(name);
      this.removeChannel(ch);
    });
    sub.subscribe();
  }
  removeChannel(ch) {
    ch.removing = true;
    this.channels.delete(ch.name);
    this.client?.removeSubscription(ch.sub);
  }
  join(ch, id) {
    ch.members.set(id, { from: this.wanted(id, ch.name)?.pos, buffer: null });
    if (ch.sub.state === "subscribed" && ch.last) {
      const ctx = { ...ch.last, wasRecovering: false, recovered: false, hasRecoveredPublications: false };
      if (ch.pos) ctx.streamPosition = { ...ch.pos };
      this.deliverSubscribed(ch, id, ctx, ch.pos);
    }
  }
  post(ch, ev, ctx) {
    const ids = [...ch.members.keys()];
    if (ids.length) this.hooks.post(ids, { t: "sev", ch: ch.name, ev, ctx });
  }
  onSubscribed(ch, ctx) {
    const base = ctx.recovered && ch.pos ? ch.pos : ctx.streamPosition;
    if (!ctx.recovered) ch.pos = ctx.streamPosition && { ...ctx.streamPosition };
    ch.last = ctx;
    for (const id of ch.members.keys()) this.deliverSubscribed(ch, id, ctx, base);
  }
  onPublication(ch, ctx) {
    if (ch.pos && typeof ctx.offset === "number") ch.pos = { offset: ctx.offset, epoch: ch.pos.epoch };
    const ids = [];
    for (const [id, m] of ch.members) {
      if (m.buffer) m.buffer.push(ctx);
      else ids.push(id);
    }
    if (ids.length) this.hooks.post(ids, { t: "sev", ch: ch.name, ev: "publication", ctx });
  }
  /**
   * Tells tab `id` the channel is subscribed. A tab behind `base` (where this stream starts)
   * first gets what it missed from history, its live publications held back meanwhile; if
   * history cannot fill the gap it is told `recovered: false`, as the SDK would.
   */
  deliverSubscribed(ch, id, ctx, base) {
    const m = ch.members.get(id);
    if (!m) return;
    const from = m.from;
    m.from = void 0;
    const send = (c) => this.hooks.post([id], { t: "sev", ch: ch.name, ev: "subscribed", ctx: c });
    if (!from || !base || from.epoch !== base.epoch || from.offset >= base.offset) {
      const same = !!from && !!base && from.epoch === base.epoch;
      send(from && !ctx.wasRecovering ? { ...ctx, wasRecovering: true, recovered: same } : ctx);
      return;
    }
    m.buffer = [];
    const done = (recovered, pubs) => {
      if (ch.members.get(id) !== m) return;
      const held = m.buffer ?? [];
      m.buffer = null;
      send({ ...ctx, wasRecovering: true, recovered, hasRecoveredPublications: pubs.length > 0 });
      for (const p of [...pubs, ...held]) this.hooks.post([id], { t: "sev", ch: ch.name, ev: "publication", ctx: p });
    };
    ch.sub.history({ since: from, limit: base.offset - from.offset }).then(
      (r) => {
        const pubs = r.publications.filter((p) => typeof p.offset === "number" && p.offset > from.offset && p.offset <= base.offset);
        done(r.epoch === from.epoch && pubs.length === base.offset - from.offset, pubs);
      },
      () => done(false, [])
    );
  }
  call(tab, id, method, args) {
    const client = this.client;
    Promise.resolve().then(() => client[method](...args)).then(
      (result) => this.hooks.post([tab], { t: "reply", id, result }),
      (e) => this.hooks.post([tab], { t: "reply", id, error: wireError(e) })
    );
  }
  /** A token from a live tab that has a getToken for it: the next one when a tab dies or stalls. */
  askToken(channel) {
    return new Promise((resolve, reject) => {
      const tried = /* @__PURE__ */ new Set();
      const next = () => {
        const tab = [...this.tabs.values()].find(
          (t) => !tried.has(t.id) && t.connect && (channel ? t.subs.get(channel)?.opts.getToken : t.getToken)
        );
        if (!tab) {
          reject(new Error(channel ? `no tab gives a token for ${channel}` : "no tab gives a connection token"));
          return;
        }
        tried.add(tab.id);
        const id = ++this.ids;
        const timer = setTimeout(() => this.tokenAsks.get(id)?.answer(null), TOKEN_PATIENCE_MS);
        this.tokenAsks.set(id, {
          tab: tab.id,
          answer: (m) => {
            clearTimeout(timer);
            this.tokenAsks.delete(id);
            if (!m) next();
            else if (m.error === void 0) resolve(m.token ?? "");
            else reject(m.unauthorized ? new UnauthorizedError(m.error) : new Error(m.error));
          }
        });
        this.hooks.post([tab.id], { t: "getToken", id, channel });
      };
      next();
    });
  }
};
function oldest(list) {
  let best;
  for (const p of list) {
    if (!p) continue;
    if (!best) best = p;
    else if (p.epoch === best.epoch && p.offset < best.offset) best = p;
  }
  return best && { ...best };
}

// src/links.ts
var locks = () => typeof navigator !== "undefined" ? navigator.locks : void 0;
function holdTabLock(tab, signal) {
  const lm = locks();
  if (!lm) return Promise.resolve();
  return new Promise((held) => {
    lm.request(tabLockName(tab), { signal }, () => {
      held();
      return new Promise((release) => signal.addEventListener("abort", () => release()));
    }).catch(() => held());
  });
}
function localPost(host) {
  return (msg) => queueMicrotask(() => host.receive(msg));
}
var WorkerLink = class {
  /** `fallback` is called if the worker fails before it has answered the hello. */
  constructor(host, worker, fallback) {
    this.mode = "shared-worker";
    this.leads = false;
    this.stop = new AbortController();
    this.welcomed = false;
    // Without Web Locks in the worker, this is how it learns that the tab went.
    this.bye = () => this.port.postMessage({ t: "bye" });
    this.port = worker.port;
    const fail = (why) => {
      if (this.welcomed || this.stop.signal.aborted) return;
      this.close();
      fallback(why);
    };
    worker.addEventListener("error", () => fail("the SharedWorker failed to start"));
    this.port.onmessage = (e) => {
      if (e.data.t === "welcome") this.welcomed = true;
      host.receive(e.data);
    };
    this.port.onmessageerror = () => fail("the SharedWorker sent an unreadable message");
    addEventListener("pagehide", this.bye);
    addEventListener("pageshow", (e) => {
      if (!e.persisted || this.stop.signal.aborted) return;
      host.ownerLost();
      host.attached();
    });
    holdTabLock(host.tabId, this.stop.signal).then(() => {
      if (this.stop.signal.aborted) return;
      this.port.start();
      host.attached();
    });
  }
  send(msg) {
    this.port.postMessage(msg);
  }
  close() {
    if (this.stop.signal.aborted) return;
    this.bye();
    removeEventListener("pagehide", this.bye);
    this.stop.abort();
    this.port.close();
  }
};
var LeaderLink = class {
  constructor(host, name, gatherMs) {
    this.host = host;
    this.gatherMs = gatherMs;
    this.mode = "leader";
    this.stop = new AbortController();
    this.owner = null;
    this.leader = null;
    this.followed = false;
    this.bc = new BroadcastChannel(channelName(name));
    this.bc.onmessage = (e) => this.onEnvelope(e.data);
    const lm = locks();
    holdTabLock(host.tabId, this.stop.signal).then(() => {
      if (this.stop.signal.aborted) return;
      lm.request(leaderLockName(name), { signal: this.stop.signal }, () => {
        this.lead();
        return new Promise((release) => this.stop.signal.addEventListener("abort", () => release()));
      }).catch(() => {
      });
      this.post({ k: "where" });
    });
  }
  get leads() {
    return this.owner !== null;
  }
  send(msg) {
    const leader = this.leader;
    if (leader === null) return;
    if (leader === this.host.tabId) {
      const owner = this.owner;
      queueMicrotask(() => owner.handle(this.host.tabId, msg));
    } else {
      this.post({ k: "to-owner", to: leader, from: this.host.tabId, m: msg });
    }
  }
  close() {
    if (this.stop.signal.aborted) return;
    this.owner?.close();
    this.stop.abort();
    this.bc.close();
  }
  post(env) {
    if (!this.stop.signal.aborted) this.bc.postMessage(env);
  }
  onEnvelope(env) {
    switch (env.k) {
      case "where":
        if (this.owner) this.post({ k: "leader", id: this.host.tabId });
        break;
      case "leader":
        this.follow(env.id);
        break;
      case "to-owner":
        if (this.owner && env.to === this.host.tabId) this.owner.handle(env.from, env.m);
        break;
      case "to-tabs":
        if (env.to.includes(this.host.tabId)) this.host.receive(env.m);
        break;
    }
  }
  lead() {
    const self = this.host.tabId;
    const toSelf = localPost(this.host);
    this.owner = new Owner({
      // Only a handover has other tabs with positions worth waiting for.
      gatherMs: this.followed ? this.gatherMs : 0,
      self,
      post: (ids, msg) => {
        const others = ids.filter((id) => id !== self);
        if (others.length < ids.length) toSelf(msg);
        if (others.length) this.post({ k: "to-tabs", to: others, m: msg });
      }
    });
    this.post({ k: "leader", id: self });
    this.follow(self);
  }
  follow(id) {
    if (id === this.leader) return;
    if (this.leader !== null) this.host.ownerLost();
    this.leader = id;
    this.followed = true;
    if (id !== this.host.tabId) {
      locks()?.request(tabLockName(id), { signal: this.stop.signal }, () => {
        if (this.leader === id) {
          this.leader = null;
          this.host.ownerLost();
        }
      }).catch(() => {
      });
    }
    this.host.attached();
  }
};
var LocalLink = class {
  constructor(host) {
    this.host = host;
    this.mode = "tab";
    this.leads = true;
    this.owner = new Owner({ gatherMs: 0, self: host.tabId, post: (_ids, msg) => localPost(host)(msg) });
    queueMicrotask(() => host.attached());
  }
  send(msg) {
    queueMicrotask(() => this.owner.handle(this.host.tabId, msg));
  }
  close() {
    this.owner.close();
  }
};

// src/subscription.ts
import { SubscriptionState } from "centrifuge";

// src/wait.ts
var TRANSPORT_CLOSED = { code: 1, reason: "transport closed" };
function waitFor(list, timeout) {
  return new Promise((resolve, reject) => {
    let timer;
    const w = {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      }
    };
    list.push(w);
    if (timeout) {
      timer = setTimeout(() => {
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        reject({ code: 1, message: "timeout" });
      }, timeout);
    }
  });
}
function settle(list, error) {
  for (const w of list.splice(0)) {
    if (error) w.reject(error);
    else w.resolve();
  }
}

// src/subscription.ts
var SharedSubscription = class extends Emitter {
  /** @internal Use `SharedCentrifuge.newSubscription`. */
  constructor(client, channel, options) {
    super();
    this.state = SubscriptionState.Unsubscribed;
    this.readyWaiters = [];
    this.client = client;
    this.channel = channel;
    this.options = options;
    const since = options.since;
    if (since && typeof since.offset === "number" && typeof since.epoch === "string") {
      this.position = { offset: since.offset, epoch: since.epoch };
    }
  }
  subscribe() {
    if (this.state !== SubscriptionState.Unsubscribed) return;
    this.setState(SubscriptionState.Subscribing);
    this.emit("subscribing", { channel: this.channel, code: 0, reason: "subscribe called" });
    this.client.sendState();
  }
  /** Leaves the channel for this tab; other tabs' subscriptions to it go on. */
  unsubscribe() {
    if (this.state === SubscriptionState.Unsubscribed) return;
    this.setState(SubscriptionState.Unsubscribed);
    this.emit("unsubscribed", { channel: this.channel, code: 0, reason: "unsubscribe called" });
    settle(this.readyWaiters, { code: 7, message: "subscription unsubscribed" });
    this.client.sendState();
  }
  ready(timeout) {
    if (this.state === SubscriptionState.Subscribed) return Promise.resolve();
    if (this.state === SubscriptionState.Unsubscribed) {
      return Promise.reject({ code: 7, message: "subscription unsubscribed" });
    }
    return waitFor(this.readyWaiters, timeout);
  }
  async publish(data) {
    await this.ready(this.client.callTimeout);
    return this.client.call("publish", [this.channel, data]);
  }
  async history(options) {
    await this.ready(this.client.callTimeout);
    return this.client.call("history", [this.channel, options]);
  }
  async presence() {
    await this.ready(this.client.callTimeout);
    return this.client.call("presence", [this.channel]);
  }
  async presenceStats() {
    await this.ready(this.client.callTimeout);
    return this.client.call("presenceStats", [this.channel]);
  }
  /** @internal The connection went (for this tab): wait to be subscribed again. */
  lost() {
    if (this.state !== SubscriptionState.Subscribed) return;
    this.setState(SubscriptionState.Subscribing);
    this.emit("subscribing", { channel: this.channel, ...TRANSPORT_CLOSED });
  }
  /** @internal An event of the owner's subscription to this channel. */
  handle(ev, ctx) {
    if (this.state === SubscriptionState.Unsubscribed) return;
    switch (ev) {
      case "subscribing":
        if (this.setState(SubscriptionState.Subscribing)) this.emit("subscribing", ctx);
        break;
      case "subscribed": {
        const c = ctx;
        this.track(c);
        this.setState(SubscriptionState.Subscribed);
        this.emit("subscribed", c);
        settle(this.readyWaiters);
        break;
      }
      case "publication": {
        if (this.state !== SubscriptionState.Subscribed) return;
        const p = ctx;
        if (this.position && typeof p.offset === "number") {
          if (p.offset <= this.position.offset) return;
          this.position = { offset: p.offset, epoch: this.position.epoch };
        }
        this.emit("publication", p);
        break;
      }
      case "unsubscribed":
        this.setState(SubscriptionState.Unsubscribed);
        this.emit("unsubscribed", ctx);
        settle(this.readyWaiters, { code: 7, message: "subscription unsubscribed" });
        this.client.sendState();
        break;
      case "join":
      case "leave":
        if (this.state === SubscriptionState.Subscribed) this.emit(ev, ctx);
        break;
      default:
        this.emit(ev, ctx);
    }
  }
  // A recovered stream continues from this tab's own position (what follows may repeat some of
  // it, and is dropped by offset); anything else starts again at the stream's top.
  track(c) {
    const top = c.streamPosition;
    if (!top || !c.recoverable) {
      this.position = void 0;
    } else if (!(c.recovered && this.position && this.position.epoch === top.epoch)) {
      this.position = { offset: top.offset, epoch: top.epoch };
    }
  }
  setState(next) {
    if (this.state === next) return false;
    const oldState = this.state;
    this.state = next;
    this.emit("state", { channel: this.channel, newState: next, oldState });
    return true;
  }
};

// src/client.ts
var CONNECTION_KEYS = [
  "token",
  "data",
  "name",
  "version",
  "debug",
  "minReconnectDelay",
  "maxReconnectDelay",
  "timeout",
  "maxServerPingDelay",
  "headers",
  "emulationEndpoint"
];
var SUBSCRIPTION_KEYS = [
  "token",
  "data",
  "positioned",
  "recoverable",
  "joinLeave",
  "delta",
  "tagsFilter",
  "minResubscribeDelay",
  "maxResubscribeDelay"
];
var counter = 0;
function newTabId() {
  const c = globalThis.crypto;
  const rnd = c && "randomUUID" in c ? c.randomUUID() : `${Date.now()}-${Math.random()}`;
  return `${rnd}-${++counter}`;
}
var SharedCentrifuge = class extends Emitter {
  constructor(endpoint, options = {}) {
    super();
    /** The connection state as this tab sees it. */
    this.state = State.Disconnected;
    /** This client's id among the tabs (random). */
    this.tabId = newTabId();
    this.subs = /* @__PURE__ */ new Map();
    this.inflight = /* @__PURE__ */ new Map();
    this.queued = [];
    this.readyWaiters = [];
    this.attachedToOwner = false;
    this.ids = 0;
    this.endpoint = endpoint;
    this.options = options;
    const host = {
      tabId: this.tabId,
      attached: () => this.attached(),
      ownerLost: () => this.ownerLost(),
      receive: (msg) => this.receive(msg)
    };
    const name = options.shareName ?? (typeof endpoint === "string" ? endpoint : JSON.stringify(endpoint));
    const wanted = options.mode ?? "auto";
    const leaderLink = () => {
      const canLead = typeof BroadcastChannel !== "undefined" && typeof navigator !== "undefined" && !!navigator.locks;
      if (canLead && (wanted === "auto" || wanted === "leader" || wanted === "shared-worker")) {
        this.mode = "leader";
        return new LeaderLink(host, name, options.handoverGatherMs ?? 150);
      }
      this.mode = "tab";
      return new LocalLink(host);
    };
    const spec = options.sharedWorker;
    if (spec && typeof SharedWorker !== "undefined" && (wanted === "auto" || wanted === "shared-worker")) {
      this.mode = "shared-worker";
      const worker = typeof spec === "function" ? spec() : new SharedWorker(spec, { type: "module", name: `duplex-shared-centrifuge:${name}` });
      this.link = new WorkerLink(host, worker, () => {
        this.ownerLost();
        this.link = leaderLink();
      });
    } else if (wanted === "tab") {
      this.mode = "tab";
      this.link = new LocalLink(host);
    } else {
      this.mode = "tab";
      this.link = leaderLink();
    }
  }
  /** Asks for the connection (shared: the socket opens if no other tab has it open yet). */
  connect() {
    if (this.state !== State.Disconnected) return;
    this.setState(State.Connecting);
    this.emit("connecting", { code: 0, reason: "connect called" });
    this.sendState();
  }
  /** This tab no longer needs the connection; it closes when no tab does. */
  disconnect() {
    if (this.state === State.Disconnected) return;
    this.setState(State.Disconnected);
    for (const sub of this.subs.values()) sub.lost();
    this.emit("disconnected", { code: 0, reason: "disconnect called" });
    settle(this.readyWaiters, { code: 3, message: "client disconnected" });
    this.sendState();
  }
  /** Disconnects and leaves the tabs' group for good (this object is then unusable). */
  close() {
    this.disconnect();
    this.link.close();
  }
  /** Whether this tab runs the shared connection (the leader tab, or a tab on its own). */
  isLeader() {
    return this.link.leads;
  }
  /** Resolves once connected; rejects when disconnected or after `timeout` ms. */
  ready(timeout) {
    if (this.state === State.Connected) return Promise.resolve();
    if (this.state === State.Disconnected) return Promise.reject({ code: 3, message: "client disconnected" });
    return waitFor(this.readyWaiters, timeout);
  }
  /** A new subscription (throws if this tab already has one to `channel`, as the SDK does). */
  newSubscription(channel, options = {}) {
    if (this.subs.has(channel)) throw new Error(`Subscription to the channel ${channel} already exists`);
    const sub = new SharedSubscription(this, channel, options);
    this.subs.set(channel, sub);
    return sub;
  }
  getSubscription(channel) {
    return this.subs.get(channel) ?? null;
  }
  /** Unsubscribes `sub` (for this tab only) and forgets it. */
  removeSubscription(sub) {
    if (!sub) return;
    if (sub.state !== SubscriptionState2.Unsubscribed) sub.unsubscribe();
    if (this.subs.get(sub.channel) === sub) this.subs.delete(sub.channel);
  }
  subscriptions() {
    return Object.fromEntries(this.subs);
  }
  publish(channel, data) {
    return this.call("publish", [channel, data]);
  }
  rpc(method, data) {
    return this.call("rpc", [method, data]);
  }
  send(data) {
    return this.call("send", [data]);
  }
  history(channel, options) {
    return this.call("history", [channel, options]);
  }
  presence(channel) {
    return this.call("presence", [channel]);
  }
  presenceStats(channel) {
    return this.call("presenceStats", [channel]);
  }
  /** @internal How long a subscription's method waits for it to be subscribed (the SDK's
   * `timeout` option, 5 s by default). */
  get callTimeout() {
    return this.options.timeout ?? 5e3;
  }
  /** @internal Called by subscriptions when what this tab wants changed. */
  sendState() {
    if (this.attachedToOwner) this.link.send({ t: "state", state: this.wanted() });
  }
  /** @internal A method call through the owner's client. */
  call(method, args) {
    return new Promise((resolve, reject) => {
      const id = ++this.ids;
      const msg = { t: "call", id, method, args };
      this.inflight.set(id, { sent: this.attachedToOwner, resolve, reject });
      if (this.attachedToOwner) this.link.send(msg);
      else this.queued.push(msg);
    });
  }
  wanted() {
    const subs = [];
    for (const sub of this.subs.values()) {
      if (sub.state === SubscriptionState2.Unsubscribed) continue;
      subs.push({
        channel: sub.channel,
        opts: { options: cloneable(sub.options, SUBSCRIPTION_KEYS), getToken: !!sub.options.getToken },
        pos: sub.position
      });
    }
    return { connect: this.state !== State.Disconnected, subs };
  }
  setState(next) {
    if (this.state === next) return false;
    const oldState = this.state;
    this.state = next;
    this.emit("state", { newState: next, oldState });
    return true;
  }
  attached() {
    this.attachedToOwner = true;
    const conn = {
      endpoint: this.endpoint,
      options: cloneable(this.options, CONNECTION_KEYS),
      getToken: !!this.options.getToken
    };
    this.link.send({ t: "hello", tab: this.tabId, conn, state: this.wanted() });
    for (const msg of this.queued.splice(0)) {
      const entry = msg.t === "call" ? this.inflight.get(msg.id) : void 0;
      if (entry) entry.sent = true;
      this.link.send(msg);
    }
  }
  ownerLost() {
    this.attachedToOwner = false;
    for (const [id, call] of this.inflight) {
      if (!call.sent) continue;
      this.inflight.delete(id);
      call.reject({ code: 2, message: "transport closed" });
    }
    if (this.state === State.Connected) {
      this.setState(State.Connecting);
      for (const sub of this.subs.values()) sub.lost();
      this.emit("connecting", { ...TRANSPORT_CLOSED });
    }
  }
  receive(msg) {
    switch (msg.t) {
      case "cev":
        this.onClientEvent(msg.ev, msg.ctx);
        break;
      case "sev":
        this.subs.get(msg.ch)?.handle(msg.ev, msg.ctx);
        break;
      case "reply": {
        const call = this.inflight.get(msg.id);
        if (!call) return;
        this.inflight.delete(msg.id);
        if (msg.error) call.reject(msg.error);
        else call.resolve(msg.result);
        break;
      }
      case "getToken":
        this.giveToken(msg.id, msg.channel);
        break;
    }
  }
  onClientEvent(ev, ctx) {
    if (this.state === State.Disconnected) return;
    switch (ev) {
      case "connecting":
        if (this.setState(State.Connecting)) this.emit("connecting", ctx);
        break;
      case "connected":
        if (this.setState(State.Connected)) this.emit("connected", ctx);
        settle(this.readyWaiters);
        break;
      case "disconnected":
        this.setState(State.Disconnected);
        for (const sub of this.subs.values()) sub.lost();
        this.emit("disconnected", ctx);
        settle(this.readyWaiters, { code: 3, message: "client disconnected" });
        break;
      default:
        this.emit(ev, ctx);
    }
  }
  giveToken(id, channel) {
    const getToken = channel ? this.subs.get(channel)?.options.getToken : this.options.getToken;
    const reply = (m) => {
      if (this.attachedToOwner) this.link.send({ t: "token", id, ...m });
    };
    if (!getToken) {
      reply({ error: "this tab has no getToken" });
      return;
    }
    Promise.resolve().then(() => channel ? getToken({ channel }) : getToken({})).then(
      (token) => reply({ token }),
      (e) => reply({
        error: e instanceof Error ? e.message : String(e),
        unauthorized: e instanceof UnauthorizedError2 || e instanceof Error && e.name === "UnauthorizedError"
      })
    );
  }
};

// src/index.ts
import { State as State2, SubscriptionState as SubscriptionState3, UnauthorizedError as UnauthorizedError3 } from "centrifuge";
export {
  SharedCentrifuge,
  SharedSubscription,
  State2 as State,
  SubscriptionState3 as SubscriptionState,
  UnauthorizedError3 as UnauthorizedError
};
