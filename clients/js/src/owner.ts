// The connection owner: the one place that runs the centrifuge SDK for many tabs (in the
// SharedWorker, in the leader tab, or in a tab on its own). It keeps what each tab wants, turns
// the union into one Centrifuge client with one Subscription per channel, and routes the SDK's
// events back to the tabs that asked for them.
//
// Why it is shaped so:
// - Tabs send their whole wanted state; `reconcile()` diffs the union against what exists. A new
//   owner after a handover is then just an owner that received every tab's state at once.
// - Every tab remembers the last `{offset, epoch}` it saw per channel. A channel is subscribed
//   with `since` = the oldest of those (tabs drop what they already have, by offset), and a tab
//   that joins a channel behind the stream is brought up to it from history before it sees live
//   publications, so a handover loses nothing and never delivers twice.
// - A new owner after a handover waits a moment (`gatherMs`) for the tabs' states before it
//   connects, so the first subscribe already starts from the oldest position.

import { Centrifuge, UnauthorizedError } from 'centrifuge';
import type {
  ConnectedContext,
  PublicationContext,
  StreamPosition,
  SubscribedContext,
  Subscription,
} from 'centrifuge';
import {
  type CallMethod,
  type TabState,
  type ToOwner,
  type ToTab,
  type WantedSub,
  type WireConnection,
  tabLockName,
  wireError,
} from './messages.js';

/** How the owner reaches the tabs; given by the transport it runs in. */
export interface OwnerHooks {
  /** Delivers `msg` to each of `tabs`, in order with earlier messages to them. */
  post(tabs: string[], msg: ToTab): void;
  /** Milliseconds to collect tabs' states before the first connect (0: at once). */
  gatherMs: number;
  /** The owner's own tab in leader and per-tab modes: it is never watched for death. */
  self?: string;
  /** Called when a tab is gone (its lock was released, or it said bye). */
  gone?(tab: string): void;
}

interface Tab {
  id: string;
  connect: boolean;
  getToken: boolean;
  subs: Map<string, WantedSub>;
}

interface Member {
  /** The tab's position when it joined, until its first `subscribed` is delivered. */
  from?: StreamPosition;
  /** Live publications held back while the tab catches up from history. */
  buffer: PublicationContext[] | null;
}

interface Channel {
  name: string;
  sub: Subscription;
  members: Map<string, Member>;
  /** The last position the owner delivered (or subscribed from). */
  pos?: StreamPosition;
  last?: SubscribedContext;
  removing: boolean;
}

const CLIENT_EVENTS = [
  'error', 'message', 'subscribed', 'subscribing', 'unsubscribed', 'publication', 'join', 'leave',
] as const;
const TOKEN_PATIENCE_MS = 15_000;

/** Runs one Centrifuge client on behalf of many tabs; see the file comment. */
export class Owner {
  private readonly tabs = new Map<string, Tab>();
  private readonly channels = new Map<string, Channel>();
  private readonly tokenAsks = new Map<number, { tab: string; answer(m: ToOwner & { t: 'token' } | null): void }>();
  private client: Centrifuge | null = null;
  private connected: ConnectedContext | null = null;
  private gathering: boolean;
  private ids = 0;

  constructor(private readonly hooks: OwnerHooks) {
    this.gathering = hooks.gatherMs > 0;
    if (this.gathering) {
      setTimeout(() => {
        this.gathering = false;
        this.reconcile();
      }, hooks.gatherMs);
    }
  }

  /** One message from tab `tab`. */
  handle(tab: string, msg: ToOwner): void {
    switch (msg.t) {
      case 'hello': {
        const fresh = !this.tabs.has(tab);
        // A tab says hello again after it lost its owner for a while (back from the bfcache):
        // its subscriptions start over, so each gets a `subscribed` again.
        for (const ch of this.channels.values()) ch.members.delete(tab);
        this.tabs.set(tab, { id: tab, connect: false, getToken: msg.conn.getToken, subs: new Map() });
        if (!this.client) this.createClient(msg.conn);
        this.hooks.post([tab], { t: 'welcome' });
        if (fresh) this.watch(tab);
        this.setState(tab, msg.state);
        break;
      }
      case 'state':
        this.setState(tab, msg.state);
        break;
      case 'call':
        this.call(tab, msg.id, msg.method, msg.args);
        break;
      case 'token':
        this.tokenAsks.get(msg.id)?.answer(msg);
        break;
      case 'bye':
        this.detach(tab);
        break;
    }
  }

  /** Forgets tab `tab`: its subscriptions end when no other tab holds them. */
  detach(tab: string): void {
    if (!this.tabs.delete(tab)) return;
    for (const ask of [...this.tokenAsks.values()]) if (ask.tab === tab) ask.answer(null);
    this.hooks.gone?.(tab);
    this.reconcile();
  }

  /** Closes the connection (the owner's tab is going away). */
  close(): void {
    this.tabs.clear();
    this.client?.disconnect();
  }

  private watch(tab: string): void {
    // A tab holds its lock for its whole life, so ours is granted exactly when it is gone:
    // closed, crashed or navigated away, with no message needed.
    if (tab === this.hooks.self || typeof navigator === 'undefined' || !navigator.locks) return;
    navigator.locks.request(tabLockName(tab), () => this.detach(tab)).catch(() => {});
  }

  private setState(id: string, state: TabState): void {
    const tab = this.tabs.get(id);
    if (!tab) return;
    const was = tab.connect;
    tab.connect = state.connect;
    tab.subs = new Map(state.subs.map((s) => [s.channel, s]));
    if (!was && tab.connect && this.connected) {
      this.hooks.post([id], { t: 'cev', ev: 'connected', ctx: this.connected });
    }
    this.reconcile();
  }

  private createClient(conn: WireConnection): void {
    const options: Record<string, unknown> = { ...conn.options };
    if (conn.getToken) options.getToken = () => this.askToken();
    const client = new Centrifuge(conn.endpoint as string, options);
    this.client = client;
    client.on('connecting', (ctx) => {
      this.connected = null;
      this.toConnected({ t: 'cev', ev: 'connecting', ctx });
    });
    client.on('connected', (ctx) => {
      this.connected = ctx;
      this.toConnected({ t: 'cev', ev: 'connected', ctx });
    });
    client.on('disconnected', (ctx) => {
      this.connected = null;
      this.toConnected({ t: 'cev', ev: 'disconnected', ctx });
      // Terminal for every tab, as for the SDK: each must call connect() again.
      for (const tab of this.tabs.values()) tab.connect = false;
      this.reconcile();
    });
    for (const ev of CLIENT_EVENTS) {
      client.on(ev, (ctx: unknown) => this.toConnected({ t: 'cev', ev, ctx }));
    }
  }

  private toConnected(msg: ToTab): void {
    const ids = [...this.tabs.values()].filter((t) => t.connect).map((t) => t.id);
    if (ids.length) this.hooks.post(ids, msg);
  }

  private reconcile(): void {
    const client = this.client;
    if (this.gathering || !client) return;
    const want = new Map<string, string[]>();
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
    if (anyone && client.state === 'disconnected') client.connect();
    if (!anyone && client.state !== 'disconnected') client.disconnect();
  }

  private wanted(tab: string, channel: string): WantedSub | undefined {
    return this.tabs.get(tab)?.subs.get(channel);
  }

  private createChannel(client: Centrifuge, name: string, ids: string[]): void {
    const first = this.wanted(ids[0], name) as WantedSub;
    const options: Record<string, unknown> = { ...first.opts.options };
    if (first.opts.getToken) options.getToken = () => this.askToken(name);
    const since = oldest(ids.map((id) => this.wanted(id, name)?.pos));
    if (since) options.since = since;
    const sub = client.newSubscription(name, options);
    const ch: Channel = { name, sub, members: new Map(), pos: since, removing: false };
    for (const id of ids) ch.members.set(id, { from: this.wanted(id, name)?.pos, buffer: null });
    this.channels.set(name, ch);

    sub.on('subscribing', (ctx) => this.post(ch, 'subscribing', ctx));
    sub.on('subscribed', (ctx) => this.onSubscribed(ch, ctx));
    sub.on('publication', (ctx) => this.onPublication(ch, ctx));
    sub.on('join', (ctx) => this.post(ch, 'join', ctx));
    sub.on('leave', (ctx) => this.post(ch, 'leave', ctx));
    sub.on('error', (ctx) => this.post(ch, 'error', ctx));
    sub.on('unsubscribed', (ctx) => {
      if (ch.removing) return;
      // The server ended it (permission, token, unsubscribe push): it ends for every tab.
      this.post(ch, 'unsubscribed', ctx);
      for (const id of ch.members.keys()) this.tabs.get(id)?.subs.delete(name);
      this.removeChannel(ch);
    });
    sub.subscribe();
  }

  private removeChannel(ch: Channel): void {
    ch.removing = true;
    this.channels.delete(ch.name);
    this.client?.removeSubscription(ch.sub);
  }

  private join(ch: Channel, id: string): void {
    ch.members.set(id, { from: this.wanted(id, ch.name)?.pos, buffer: null });
    if (ch.sub.state === 'subscribed' && ch.last) {
      const ctx = { ...ch.last, wasRecovering: false, recovered: false, hasRecoveredPublications: false };
      if (ch.pos) ctx.streamPosition = { ...ch.pos };
      this.deliverSubscribed(ch, id, ctx, ch.pos);
    }
  }

  private post(ch: Channel, ev: string, ctx: unknown): void {
    const ids = [...ch.members.keys()];
    if (ids.length) this.hooks.post(ids, { t: 'sev', ch: ch.name, ev, ctx });
  }

  private onSubscribed(ch: Channel, ctx: SubscribedContext): void {
    // Where this stream starts: after the position recovered from, or at the top.
    const base = ctx.recovered && ch.pos ? ch.pos : ctx.streamPosition;
    if (!ctx.recovered) ch.pos = ctx.streamPosition && { ...ctx.streamPosition };
    ch.last = ctx;
    for (const id of ch.members.keys()) this.deliverSubscribed(ch, id, ctx, base);
  }

  private onPublication(ch: Channel, ctx: PublicationContext): void {
    if (ch.pos && typeof ctx.offset === 'number') ch.pos = { offset: ctx.offset, epoch: ch.pos.epoch };
    const ids: string[] = [];
    for (const [id, m] of ch.members) {
      if (m.buffer) m.buffer.push(ctx);
      else ids.push(id);
    }
    if (ids.length) this.hooks.post(ids, { t: 'sev', ch: ch.name, ev: 'publication', ctx });
  }

  /**
   * Tells tab `id` the channel is subscribed. A tab behind `base` (where this stream starts)
   * first gets what it missed from history, its live publications held back meanwhile; if
   * history cannot fill the gap it is told `recovered: false`, as the SDK would.
   */
  private deliverSubscribed(ch: Channel, id: string, ctx: SubscribedContext, base?: StreamPosition): void {
    const m = ch.members.get(id);
    if (!m) return;
    const from = m.from;
    m.from = undefined;
    const send = (c: SubscribedContext) => this.hooks.post([id], { t: 'sev', ch: ch.name, ev: 'subscribed', ctx: c });
    if (!from || !base || from.epoch !== base.epoch || from.offset >= base.offset) {
      const same = !!from && !!base && from.epoch === base.epoch;
      send(from && !ctx.wasRecovering ? { ...ctx, wasRecovering: true, recovered: same } : ctx);
      return;
    }
    m.buffer = [];
    const done = (recovered: boolean, pubs: PublicationContext[]) => {
      if (ch.members.get(id) !== m) return;
      const held = m.buffer ?? [];
      m.buffer = null;
      send({ ...ctx, wasRecovering: true, recovered, hasRecoveredPublications: pubs.length > 0 });
      for (const p of [...pubs, ...held]) this.hooks.post([id], { t: 'sev', ch: ch.name, ev: 'publication', ctx: p });
    };
    ch.sub
      .history({ since: from, limit: base.offset - from.offset })
      .then(
        (r) => {
          const pubs = r.publications.filter((p) => typeof p.offset === 'number' && p.offset > from.offset && p.offset <= base.offset);
          done(r.epoch === from.epoch && pubs.length === base.offset - from.offset, pubs);
        },
        () => done(false, []),
      );
  }

  private call(tab: string, id: number, method: CallMethod, args: unknown[]): void {
    const client = this.client as unknown as Record<string, (...a: unknown[]) => unknown>;
    Promise.resolve()
      .then(() => client[method](...args))
      .then(
        (result) => this.hooks.post([tab], { t: 'reply', id, result }),
        (e) => this.hooks.post([tab], { t: 'reply', id, error: wireError(e) }),
      );
  }

  /** A token from a live tab that has a getToken for it: the next one when a tab dies or stalls. */
  private askToken(channel?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const tried = new Set<string>();
      const next = () => {
        const tab = [...this.tabs.values()].find(
          (t) => !tried.has(t.id) && t.connect && (channel ? t.subs.get(channel)?.opts.getToken : t.getToken),
        );
        if (!tab) {
          reject(new Error(channel ? `no tab gives a token for ${channel}` : 'no tab gives a connection token'));
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
            else if (m.error === undefined) resolve(m.token ?? '');
            else reject(m.unauthorized ? new UnauthorizedError(m.error) : new Error(m.error));
          },
        });
        this.hooks.post([tab.id], { t: 'getToken', id, channel });
      };
      next();
    });
  }
}

/** The oldest of the positions that share the first one's epoch. */
function oldest(list: (StreamPosition | undefined)[]): StreamPosition | undefined {
  let best: StreamPosition | undefined;
  for (const p of list) {
    if (!p) continue;
    if (!best) best = p;
    else if (p.epoch === best.epoch && p.offset < best.offset) best = p;
  }
  return best && { ...best };
}
