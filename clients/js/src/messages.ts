// The messages between a tab and the connection owner (the SharedWorker, the leader tab, or the
// tab itself). A tab always sends its whole wanted state rather than deltas: a new owner after a
// handover needs exactly that, and the same message then serves every change (a tab has a few
// subscriptions, so resending them all is cheap). Everything here must survive structured clone.

import type { StreamPosition } from 'centrifuge';

/** Connection options that can cross to the owner (functions stay in the tab). */
export interface WireConnection {
  endpoint: string | { transport: string; endpoint: string }[];
  options: Record<string, unknown>;
  /** The tab has a getToken callback the owner may ask through. */
  getToken: boolean;
}

/** Subscription options that can cross to the owner. */
export interface WireSubOptions {
  options: Record<string, unknown>;
  getToken: boolean;
}

/** One subscription a tab wants, with the last position it has seen on the channel. */
export interface WantedSub {
  channel: string;
  opts: WireSubOptions;
  pos?: StreamPosition;
}

/** What a tab wants now: to be connected or not, and its subscriptions (subscribe() called). */
export interface TabState {
  connect: boolean;
  subs: WantedSub[];
}

/** Methods a tab may call through the owner's client. */
export type CallMethod = 'publish' | 'rpc' | 'history' | 'presence' | 'presenceStats' | 'send';

export type ToOwner =
  | { t: 'hello'; tab: string; conn: WireConnection; state: TabState }
  | { t: 'state'; state: TabState }
  | { t: 'call'; id: number; method: CallMethod; args: unknown[] }
  | { t: 'token'; id: number; token?: string; error?: string; unauthorized?: boolean }
  | { t: 'bye' };

export interface WireError {
  code: number;
  message: string;
}

export type ToTab =
  | { t: 'welcome' }
  /** A client event (connecting, connected, disconnected, error, message, server-side subs). */
  | { t: 'cev'; ev: string; ctx: unknown }
  /** A subscription event for channel `ch`. */
  | { t: 'sev'; ch: string; ev: string; ctx: unknown }
  | { t: 'reply'; id: number; result?: unknown; error?: WireError }
  | { t: 'getToken'; id: number; channel?: string };

/** Names of the Web Locks and BroadcastChannel used, scoped by the shared connection's name. */
export const tabLockName = (tab: string) => `duplex-shared-centrifuge:tab:${tab}`;
export const leaderLockName = (name: string) => `duplex-shared-centrifuge:leader:${name}`;
export const channelName = (name: string) => `duplex-shared-centrifuge:${name}`;

/** Copies only the values structured clone takes whole (no functions, sockets or targets). */
export function cloneable(src: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (src as Record<string, unknown>)[k];
    if (v !== undefined && v !== null && typeof v !== 'function') out[k] = v;
  }
  return out;
}

/** A rejection value in the SDK's shape (`{code, message}`), from whatever was thrown. */
export function wireError(e: unknown): WireError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return { code: Number((e as WireError).code), message: String((e as WireError).message) };
  }
  return { code: 0, message: e instanceof Error ? e.message : String(e) };
}
