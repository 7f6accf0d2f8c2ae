// `SharedCentrifuge`: what a tab uses instead of the SDK's `Centrifuge` (same methods, events
// and context objects) while the real client runs in the owner. Each tab keeps its own state
// machine, driven by its own calls and by the owner's events, so that one tab's disconnect() is
// its own business. It picks the link to the owner (SharedWorker, leader tab, or itself), sends
// the owner its whole wanted state on every change, and answers the owner's token requests.

import { State, SubscriptionState, UnauthorizedError } from 'centrifuge';
import type {
  ClientEvents,
  HistoryOptions,
  HistoryResult,
  Options,
  PresenceResult,
  PresenceStatsResult,
  PublishResult,
  RpcResult,
  SubscriptionOptions,
  TransportEndpoint,
} from 'centrifuge';
import { Emitter } from './emitter.js';
import { type Link, type LinkHost, LeaderLink, LocalLink, WorkerLink } from './links.js';
import {
  type CallMethod,
  type TabState,
  type ToOwner,
  type ToTab,
  type WireError,
  cloneable,
} from './messages.js';
import { SharedSubscription } from './subscription.js';
import { TRANSPORT_CLOSED, type Waiter, settle, waitFor } from './wait.js';

/** Where the connection lives: see the package README. */
export type Mode = 'shared-worker' | 'leader' | 'tab';

/** The SDK's options, plus how to share. */
export interface SharedOptions extends Partial<Options> {
  /** The SharedWorker script that imports `@duplex/shared-centrifuge/worker` (a URL, or a
   * function that makes the worker); without it, sharing goes through a leader tab. */
  sharedWorker?: string | URL | (() => SharedWorker);
  /** Tabs with the same name share a connection (default: the endpoint). */
  shareName?: string;
  /** Forces a mode; `auto` (default) takes the first the browser supports. */
  mode?: 'auto' | Mode;
  /** How long a new leader collects the other tabs' positions before connecting (ms, 150). */
  handoverGatherMs?: number;
}

// Options that cross to the owner; the rest (functions, constructors) stay in the tab.
const CONNECTION_KEYS = [
  'token', 'data', 'name', 'version', 'debug', 'minReconnectDelay', 'maxReconnectDelay',
  'timeout', 'maxServerPingDelay', 'headers', 'emulationEndpoint',
] as const;
const SUBSCRIPTION_KEYS = [
  'token', 'data', 'positioned', 'recoverable', 'joinLeave', 'delta', 'tagsFilter',
  'minResubscribeDelay', 'maxResubscribeDelay',
] as const;

let counter = 0;
function newTabId(): string {
  const c = globalThis.crypto;
  const rnd = c && 'randomUUID' in c ? c.randomUUID() : `${Date.now()}-${Math.random()}`;
  return `${rnd}-${++counter}`;
}

/** A Centrifuge-like client whose connection is shared with the origin's other tabs. */
export class SharedCentrifuge extends Emitter<ClientEvents> {
  /** The connection state as this tab sees it. */
  state: State = State.Disconnected;
  /** Where the connection lives for this tab (it may move from `shared-worker` to `leader`
   * when the worker cannot start). */
  mode: Mode;
  /** This client's id among the tabs (random). */
  readonly tabId = newTabId();

  private readonly endpoint: string | Array<TransportEndpoint>;
  private readonly options: SharedOptions;
  private readonly subs = new Map<string, SharedSubscription>();
  private readonly inflight = new Map<number, { sent: boolean; resolve(r: unknown): void; reject(e: WireError): void }>();
  private readonly queued: ToOwner[] = [];
  private readonly readyWaiters: Waiter[] = [];
  private link: Link;
  private attachedToOwner = false;
  private ids = 0;

  constructor(endpoint: string | Array<TransportEndpoint>, options: SharedOptions = {}) {
    super();
    this.endpoint = endpoint;
    this.options = options;
    const host: LinkHost = {
      tabId: this.tabId,
      attached: () => this.attached(),
      ownerLost: () => this.ownerLost(),
      receive: (msg) => this.receive(msg),
    };
    const name = options.shareName ?? (typeof endpoint === 'string' ? endpoint : JSON.stringify(endpoint));
    const wanted = options.mode ?? 'auto';
    const leaderLink = () => {
      const canLead = typeof BroadcastChannel !== 'undefined' && typeof navigator !== 'undefined' && !!navigator.locks;
      if (canLead && (wanted === 'auto' || wanted === 'leader' || wanted === 'shared-worker')) {
        this.mode = 'leader';
        return new LeaderLink(host, name, options.handoverGatherMs ?? 150);
      }
      this.mode = 'tab';
      return new LocalLink(host);
    };
    const spec = options.sharedWorker;
    if (spec && typeof SharedWorker !== 'undefined' && (wanted === 'auto' || wanted === 'shared-worker')) {
      this.mode = 'shared-worker';
      const worker =
        typeof spec === 'function' ? spec() : new SharedWorker(spec, { type: 'module', name: `duplex-shared-centrifuge:${name}` });
      this.link = new WorkerLink(host, worker, () => {
        this.ownerLost();
        this.link = leaderLink();
      });
    } else if (wanted === 'tab') {
      this.mode = 'tab';
      this.link = new LocalLink(host);
    } else {
      this.mode = 'tab';
      this.link = leaderLink();
    }
  }

  /** Asks for the connection (shared: the socket opens if no other tab has it open yet). */
  connect(): void {
    if (this.state !== State.Disconnected) return;
    this.setState(State.Connecting);
    this.emit('connecting', { code: 0, reason: 'connect called' });
    this.sendState();
  }

  /** This tab no longer needs the connection; it closes when no tab does. */
  disconnect(): void {
    if (this.state === State.Disconnected) return;
    this.setState(State.Disconnected);
    for (const sub of this.subs.values()) sub.lost();
    this.emit('disconnected', { code: 0, reason: 'disconnect called' });
    settle(this.readyWaiters, { code: 3, message: 'client disconnected' });
    this.sendState();
  }

  /** Disconnects and leaves the tabs' group for good (this object is then unusable). */
  close(): void {
    this.disconnect();
    this.link.close();
  }

  /** Whether this tab runs the shared connection (the leader tab, or a tab on its own). */
  isLeader(): boolean {
    return this.link.leads;
  }

  /** Resolves once connected; rejects when disconnected or after `timeout` ms. */
  ready(timeout?: number): Promise<void> {
    if (this.state === State.Connected) return Promise.resolve();
    if (this.state === State.Disconnected) return Promise.reject({ code: 3, message: 'client disconnected' });
    return waitFor(this.readyWaiters, timeout);
  }

  /** A new subscription (throws if this tab already has one to `channel`, as the SDK does). */
  newSubscription(channel: string, options: Partial<SubscriptionOptions> = {}): SharedSubscription {
    if (this.subs.has(channel)) throw new Error(`Subscription to the channel ${channel} already exists`);
    const sub = new SharedSubscription(this, channel, options);
    this.subs.set(channel, sub);
    return sub;
  }

  getSubscription(channel: string): SharedSubscription | null {
    return this.subs.get(channel) ?? null;
  }

  /** Unsubscribes `sub` (for this tab only) and forgets it. */
  removeSubscription(sub: SharedSubscription | null): void {
    if (!sub) return;
    if (sub.state !== SubscriptionState.Unsubscribed) sub.unsubscribe();
    if (this.subs.get(sub.channel) === sub) this.subs.delete(sub.channel);
  }

  subscriptions(): Record<string, SharedSubscription> {
    return Object.fromEntries(this.subs);
  }

  publish(channel: string, data: unknown): Promise<PublishResult> {
    return this.call('publish', [channel, data]) as Promise<PublishResult>;
  }

  rpc(method: string, data: unknown): Promise<RpcResult> {
    return this.call('rpc', [method, data]) as Promise<RpcResult>;
  }

  send(data: unknown): Promise<void> {
    return this.call('send', [data]) as Promise<void>;
  }

  history(channel: string, options?: HistoryOptions): Promise<HistoryResult> {
    return this.call('history', [channel, options]) as Promise<HistoryResult>;
  }

  presence(channel: string): Promise<PresenceResult> {
    return this.call('presence', [channel]) as Promise<PresenceResult>;
  }

  presenceStats(channel: string): Promise<PresenceStatsResult> {
    return this.call('presenceStats', [channel]) as Promise<PresenceStatsResult>;
  }

  /** @internal How long a subscription's method waits for it to be subscribed (the SDK's
   * `timeout` option, 5 s by default). */
  get callTimeout(): number {
    return this.options.timeout ?? 5000;
  }

  /** @internal Called by subscriptions when what this tab wants changed. */
  sendState(): void {
    if (this.attachedToOwner) this.link.send({ t: 'state', state: this.wanted() });
  }

  /** @internal A method call through the owner's client. */
  call(method: CallMethod, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++this.ids;
      const msg: ToOwner = { t: 'call', id, method, args };
      this.inflight.set(id, { sent: this.attachedToOwner, resolve, reject });
      if (this.attachedToOwner) this.link.send(msg);
      else this.queued.push(msg);
    });
  }

  private wanted(): TabState {
    const subs = [];
    for (const sub of this.subs.values()) {
      if (sub.state === SubscriptionState.Unsubscribed) continue;
      subs.push({
        channel: sub.channel,
        opts: { options: cloneable(sub.options, SUBSCRIPTION_KEYS), getToken: !!sub.options.getToken },
        pos: sub.position,
      });
    }
    return { connect: this.state !== State.Disconnected, subs };
  }

  private setState(next: State): boolean {
    if (this.state === next) return false;
    const oldState = this.state;
    this.state = next;
    this.emit('state', { newState: next, oldState });
    return true;
  }

  private attached(): void {
    this.attachedToOwner = true;
    const conn = {
      endpoint: this.endpoint as string,
      options: cloneable(this.options, CONNECTION_KEYS),
      getToken: !!this.options.getToken,
    };
    this.link.send({ t: 'hello', tab: this.tabId, conn, state: this.wanted() });
    for (const msg of this.queued.splice(0)) {
      const entry = msg.t === 'call' ? this.inflight.get(msg.id) : undefined;
      if (entry) entry.sent = true;
      this.link.send(msg);
    }
  }

  private ownerLost(): void {
    this.attachedToOwner = false;
    for (const [id, call] of this.inflight) {
      if (!call.sent) continue;
      this.inflight.delete(id);
      call.reject({ code: 2, message: 'transport closed' });
    }
    if (this.state === State.Connected) {
      this.setState(State.Connecting);
      for (const sub of this.subs.values()) sub.lost();
      this.emit('connecting', { ...TRANSPORT_CLOSED });
    }
  }

  private receive(msg: ToTab): void {
    switch (msg.t) {
      case 'cev':
        this.onClientEvent(msg.ev, msg.ctx);
        break;
      case 'sev':
        this.subs.get(msg.ch)?.handle(msg.ev, msg.ctx);
        break;
      case 'reply': {
        const call = this.inflight.get(msg.id);
        if (!call) return;
        this.inflight.delete(msg.id);
        if (msg.error) call.reject(msg.error);
        else call.resolve(msg.result);
        break;
      }
      case 'getToken':
        this.giveToken(msg.id, msg.channel);
        break;
    }
  }

  private onClientEvent(ev: string, ctx: unknown): void {
    if (this.state === State.Disconnected) return;
    switch (ev) {
      case 'connecting':
        if (this.setState(State.Connecting)) this.emit('connecting', ctx as ClientEvents['connecting'] extends (c: infer C) => void ? C : never);
        break;
      case 'connected':
        if (this.setState(State.Connected)) this.emit('connected', ctx as Parameters<ClientEvents['connected']>[0]);
        settle(this.readyWaiters);
        break;
      case 'disconnected':
        this.setState(State.Disconnected);
        for (const sub of this.subs.values()) sub.lost();
        this.emit('disconnected', ctx as Parameters<ClientEvents['disconnected']>[0]);
        settle(this.readyWaiters, { code: 3, message: 'client disconnected' });
        break;
      default:
        (this.emit as (e: string, c: unknown) => boolean)(ev, ctx);
    }
  }

  private giveToken(id: number, channel?: string): void {
    const getToken = channel ? this.subs.get(channel)?.options.getToken : this.options.getToken;
    const reply = (m: Omit<ToOwner & { t: 'token' }, 't' | 'id'>) => {
      if (this.attachedToOwner) this.link.send({ t: 'token', id, ...m });
    };
    if (!getToken) {
      reply({ error: 'this tab has no getToken' });
      return;
    }
    Promise.resolve()
      .then(() => (channel ? (getToken as NonNullable<SubscriptionOptions['getToken']>)({ channel }) : (getToken as NonNullable<Options['getToken']>)({})))
      .then(
        (token) => reply({ token }),
        (e) => reply({
          error: e instanceof Error ? e.message : String(e),
          unauthorized: e instanceof UnauthorizedError || (e instanceof Error && e.name === 'UnauthorizedError'),
        }),
      );
  }
}
