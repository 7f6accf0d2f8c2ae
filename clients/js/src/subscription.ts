// `SharedSubscription`: one tab's view of a channel, shaped like the SDK's `Subscription`. Its
// state is this tab's own (one tab's unsubscribe() leaves the others subscribed); the owner's
// events drive it. It remembers the last `{offset, epoch}` it delivered: that position goes to
// a new owner after a handover, and what an owner replays from an older one is dropped here.

import { SubscriptionState } from 'centrifuge';
import type {
  HistoryOptions,
  HistoryResult,
  PresenceResult,
  PresenceStatsResult,
  PublicationContext,
  PublishResult,
  StreamPosition,
  SubscribedContext,
  SubscriptionEvents,
  SubscriptionOptions,
} from 'centrifuge';
import type { SharedCentrifuge } from './client.js';
import { Emitter } from './emitter.js';
import { TRANSPORT_CLOSED, type Waiter, settle, waitFor } from './wait.js';

/** A Subscription-like view of one channel for one tab. */
export class SharedSubscription extends Emitter<SubscriptionEvents> {
  readonly channel: string;
  state: SubscriptionState = SubscriptionState.Unsubscribed;
  /** @internal */
  readonly options: Partial<SubscriptionOptions>;
  /** @internal The last position this tab delivered on the channel (recoverable channels). */
  position?: StreamPosition;

  private readonly client: SharedCentrifuge;
  private readonly readyWaiters: Waiter[] = [];

  /** @internal Use `SharedCentrifuge.newSubscription`. */
  constructor(client: SharedCentrifuge, channel: string, options: Partial<SubscriptionOptions>) {
    super();
    this.client = client;
    this.channel = channel;
    this.options = options;
    const since = options.since;
    if (since && typeof since.offset === 'number' && typeof since.epoch === 'string') {
      this.position = { offset: since.offset, epoch: since.epoch };
    }
  }

  subscribe(): void {
    if (this.state !== SubscriptionState.Unsubscribed) return;
    this.setState(SubscriptionState.Subscribing);
    this.emit('subscribing', { channel: this.channel, code: 0, reason: 'subscribe called' });
    this.client.sendState();
  }

  /** Leaves the channel for this tab; other tabs' subscriptions to it go on. */
  unsubscribe(): void {
    if (this.state === SubscriptionState.Unsubscribed) return;
    this.setState(SubscriptionState.Unsubscribed);
    this.emit('unsubscribed', { channel: this.channel, code: 0, reason: 'unsubscribe called' });
    settle(this.readyWaiters, { code: 7, message: 'subscription unsubscribed' });
    this.client.sendState();
  }

  ready(timeout?: number): Promise<void> {
    if (this.state === SubscriptionState.Subscribed) return Promise.resolve();
    if (this.state === SubscriptionState.Unsubscribed) {
      return Promise.reject({ code: 7, message: 'subscription unsubscribed' });
    }
    return waitFor(this.readyWaiters, timeout);
  }

  async publish(data: unknown): Promise<PublishResult> {
    await this.ready(this.client.callTimeout);
    return this.client.call('publish', [this.channel, data]) as Promise<PublishResult>;
  }

  async history(options?: HistoryOptions): Promise<HistoryResult> {
    await this.ready(this.client.callTimeout);
    return this.client.call('history', [this.channel, options]) as Promise<HistoryResult>;
  }

  async presence(): Promise<PresenceResult> {
    await this.ready(this.client.callTimeout);
    return this.client.call('presence', [this.channel]) as Promise<PresenceResult>;
  }

  async presenceStats(): Promise<PresenceStatsResult> {
    await this.ready(this.client.callTimeout);
    return this.client.call('presenceStats', [this.channel]) as Promise<PresenceStatsResult>;
  }

  /** @internal The connection went (for this tab): wait to be subscribed again. */
  lost(): void {
    if (this.state !== SubscriptionState.Subscribed) return;
    this.setState(SubscriptionState.Subscribing);
    this.emit('subscribing', { channel: this.channel, ...TRANSPORT_CLOSED });
  }

  /** @internal An event of the owner's subscription to this channel. */
  handle(ev: string, ctx: unknown): void {
    if (this.state === SubscriptionState.Unsubscribed) return;
    switch (ev) {
      case 'subscribing':
        if (this.setState(SubscriptionState.Subscribing)) this.emit('subscribing', ctx as Parameters<SubscriptionEvents['subscribing']>[0]);
        break;
      case 'subscribed': {
        const c = ctx as SubscribedContext;
        this.track(c);
        this.setState(SubscriptionState.Subscribed);
        this.emit('subscribed', c);
        settle(this.readyWaiters);
        break;
      }
      case 'publication': {
        if (this.state !== SubscriptionState.Subscribed) return;
        const p = ctx as PublicationContext;
        if (this.position && typeof p.offset === 'number') {
          // Already delivered: an owner replayed from an older position than this tab's.
          if (p.offset <= this.position.offset) return;
          this.position = { offset: p.offset, epoch: this.position.epoch };
        }
        this.emit('publication', p);
        break;
      }
      case 'unsubscribed':
        this.setState(SubscriptionState.Unsubscribed);
        this.emit('unsubscribed', ctx as Parameters<SubscriptionEvents['unsubscribed']>[0]);
        settle(this.readyWaiters, { code: 7, message: 'subscription unsubscribed' });
        this.client.sendState();
        break;
      case 'join':
      case 'leave':
        if (this.state === SubscriptionState.Subscribed) (this.emit as (e: string, c: unknown) => boolean)(ev, ctx);
        break;
      default:
        (this.emit as (e: string, c: unknown) => boolean)(ev, ctx);
    }
  }

  // A recovered stream continues from this tab's own position (what follows may repeat some of
  // it, and is dropped by offset); anything else starts again at the stream's top.
  private track(c: SubscribedContext): void {
    const top = c.streamPosition;
    if (!top || !c.recoverable) {
      this.position = undefined;
    } else if (!(c.recovered && this.position && this.position.epoch === top.epoch)) {
      this.position = { offset: top.offset, epoch: top.epoch };
    }
  }


  private setState(next: SubscriptionState): boolean {
    if (this.state === next) return false;
    const oldState = this.state;
    this.state = next;
    this.emit('state', { channel: this.channel, newState: next, oldState });
    return true;
  }
}
