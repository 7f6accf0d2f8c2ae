// @duplex/shared-centrifuge: one hub connection for all tabs of an origin, behind the centrifuge
// SDK's own API. See README.md for the modes and how a tab finds the connection owner.

export { SharedCentrifuge } from './client.js';
export { SharedSubscription } from './subscription.js';
export type { Mode, SharedOptions } from './client.js';
export { State, SubscriptionState, UnauthorizedError } from 'centrifuge';
