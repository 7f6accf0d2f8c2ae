// How a tab reaches the connection owner, one class per mode: a SharedWorker's port, a leader tab
// over BroadcastChannel (elected with Web Locks), or an owner inside the tab itself. Each link
// tells its host when an owner is there (`attached`: send the whole state), when it is gone
// (`ownerLost`), and what the owner said (`receive`).
//
// Tab death is seen through Web Locks everywhere: every tab holds a lock named after it for its
// whole life, and whoever must know of its end (the owner for a tab, a tab for its leader)
// queues for that lock. The browser releases it however the tab ends, crash included, which
// `pagehide` and `beforeunload` cannot promise.

import { Owner } from './owner.js';
import {
  type ToOwner,
  type ToTab,
  channelName,
  leaderLockName,
  tabLockName,
} from './messages.js';

/** What a link reports to (the shared client of one tab). */
export interface LinkHost {
  readonly tabId: string;
  /** An owner is ready for this tab's hello (the first, or a new one after a handover). */
  attached(): void;
  /** The owner is gone; another may attach later. */
  ownerLost(): void;
  receive(msg: ToTab): void;
}

/** The tab's end of one of the transports. */
export interface Link {
  /** Whether the connection owner runs in this tab. */
  readonly leads: boolean;
  send(msg: ToOwner): void;
  close(): void;
}

type Mode = 'shared-worker' | 'leader' | 'tab';

const locks = (): LockManager | undefined =>
  typeof navigator !== 'undefined' ? navigator.locks : undefined;

/**
 * Holds this tab's life lock until `signal` aborts (or the tab ends); resolves once held, so
 * that an owner queueing for it afterwards cannot get it early.
 */
export function holdTabLock(tab: string, signal: AbortSignal): Promise<void> {
  const lm = locks();
  if (!lm) return Promise.resolve();
  return new Promise((held) => {
    lm.request(tabLockName(tab), { signal }, () => {
      held();
      return new Promise<void>((release) => signal.addEventListener('abort', () => release()));
    }).catch(() => held());
  });
}

/** The tab in an owner's hooks: messages to it go through a microtask, like any other. */
function localPost(host: LinkHost) {
  return (msg: ToTab) => queueMicrotask(() => host.receive(msg));
}

/** The SharedWorker's port: the worker owns the connection and outlives any one tab. */
export class WorkerLink implements Link {
  readonly mode: Mode = 'shared-worker';
  readonly leads = false;
  private readonly port: MessagePort;
  private readonly stop = new AbortController();
  private welcomed = false;

  /** `fallback` is called if the worker fails before it has answered the hello. */
  constructor(host: LinkHost, worker: SharedWorker, fallback: (why: string) => void) {
    this.port = worker.port;
    const fail = (why: string) => {
      if (this.welcomed || this.stop.signal.aborted) return;
      this.close();
      fallback(why);
    };
    worker.addEventListener('error', () => fail('the SharedWorker failed to start'));
    this.port.onmessage = (e: MessageEvent<ToTab>) => {
      if (e.data.t === 'welcome') this.welcomed = true;
      host.receive(e.data);
    };
    this.port.onmessageerror = () => fail('the SharedWorker sent an unreadable message');
    addEventListener('pagehide', this.bye);
    // Back from the back/forward cache after a bye: the worker forgot this tab, so say hello
    // again (positions included, so what came meanwhile is caught up from history).
    addEventListener('pageshow', (e) => {
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

  send(msg: ToOwner): void {
    this.port.postMessage(msg);
  }

  close(): void {
    if (this.stop.signal.aborted) return;
    this.bye();
    removeEventListener('pagehide', this.bye);
    this.stop.abort();
    this.port.close();
  }

  // Without Web Locks in the worker, this is how it learns that the tab went.
  private readonly bye = () => this.port.postMessage({ t: 'bye' } satisfies ToOwner);
}

type Envelope =
  | { k: 'where' }
  | { k: 'leader'; id: string }
  | { k: 'to-owner'; to: string; from: string; m: ToOwner }
  | { k: 'to-tabs'; to: string[]; m: ToTab };

/**
 * A leader tab elected with a Web Lock runs the owner; the others talk to it over a
 * BroadcastChannel. When the leader ends, the lock passes to the next tab in the queue, which
 * announces itself; every tab then sends it its whole state, positions included.
 */
export class LeaderLink implements Link {
  readonly mode: Mode = 'leader';
  private readonly bc: BroadcastChannel;
  private readonly stop = new AbortController();
  private owner: Owner | null = null;
  private leader: string | null = null;
  private followed = false;

  constructor(private readonly host: LinkHost, name: string, private readonly gatherMs: number) {
    this.bc = new BroadcastChannel(channelName(name));
    this.bc.onmessage = (e: MessageEvent<Envelope>) => this.onEnvelope(e.data);
    const lm = locks() as LockManager;
    holdTabLock(host.tabId, this.stop.signal).then(() => {
      if (this.stop.signal.aborted) return;
      lm.request(leaderLockName(name), { signal: this.stop.signal }, () => {
        this.lead();
        return new Promise<void>((release) => this.stop.signal.addEventListener('abort', () => release()));
      }).catch(() => {});
      this.post({ k: 'where' });
    });
  }

  get leads(): boolean {
    return this.owner !== null;
  }

  send(msg: ToOwner): void {
    const leader = this.leader;
    if (leader === null) return;
    if (leader === this.host.tabId) {
      const owner = this.owner as Owner;
      queueMicrotask(() => owner.handle(this.host.tabId, msg));
    } else {
      this.post({ k: 'to-owner', to: leader, from: this.host.tabId, m: msg });
    }
  }

  close(): void {
    if (this.stop.signal.aborted) return;
    this.owner?.close();
    this.stop.abort();
    this.bc.close();
  }

  private post(env: Envelope): void {
    if (!this.stop.signal.aborted) this.bc.postMessage(env);
  }

  private onEnvelope(env: Envelope): void {
    switch (env.k) {
      case 'where':
        if (this.owner) this.post({ k: 'leader', id: this.host.tabId });
        break;
      case 'leader':
        this.follow(env.id);
        break;
      case 'to-owner':
        if (this.owner && env.to === this.host.tabId) this.owner.handle(env.from, env.m);
        break;
      case 'to-tabs':
        if (env.to.includes(this.host.tabId)) this.host.receive(env.m);
        break;
    }
  }

  private lead(): void {
    const self = this.host.tabId;
    const toSelf = localPost(this.host);
    this.owner = new Owner({
      // Only a handover has other tabs with positions worth waiting for.
      gatherMs: this.followed ? this.gatherMs : 0,
      self,
      post: (ids, msg) => {
        const others = ids.filter((id) => id !== self);
        if (others.length < ids.length) toSelf(msg);
        if (others.length) this.post({ k: 'to-tabs', to: others, m: msg });
      },
    });
    this.post({ k: 'leader', id: self });
    this.follow(self);
  }

  private follow(id: string): void {
    if (id === this.leader) return;
    if (this.leader !== null) this.host.ownerLost();
    this.leader = id;
    this.followed = true;
    if (id !== this.host.tabId) {
      // Granted when that leader's tab is gone: stop sending to it before the next one speaks.
      locks()
        ?.request(tabLockName(id), { signal: this.stop.signal }, () => {
          if (this.leader === id) {
            this.leader = null;
            this.host.ownerLost();
          }
        })
        .catch(() => {});
    }
    this.host.attached();
  }
}

/** No sharing: the owner lives in this tab, for this tab alone. */
export class LocalLink implements Link {
  readonly mode: Mode = 'tab';
  readonly leads = true;
  private readonly owner: Owner;

  constructor(private readonly host: LinkHost) {
    this.owner = new Owner({ gatherMs: 0, self: host.tabId, post: (_ids, msg) => localPost(host)(msg) });
    queueMicrotask(() => host.attached());
  }

  send(msg: ToOwner): void {
    queueMicrotask(() => this.owner.handle(this.host.tabId, msg));
  }

  close(): void {
    this.owner.close();
  }
}
