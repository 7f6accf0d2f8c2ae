// Promises that wait for a state (the SDK's `ready()`): settled by the state machine, or
// rejected after a timeout with the SDK's `{code: 1, message: 'timeout'}`.

import type { WireError } from './messages.js';

/** The connection or subscription went away, in the SDK's words (its connecting and subscribing
 * code 1). */
export const TRANSPORT_CLOSED = { code: 1, reason: 'transport closed' };

export interface Waiter {
  resolve(): void;
  reject(e: WireError): void;
}

/** Waits in `list` until settle(); rejects after `timeout` ms if given. */
export function waitFor(list: Waiter[], timeout?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const w: Waiter = {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    };
    list.push(w);
    if (timeout) {
      timer = setTimeout(() => {
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        reject({ code: 1, message: 'timeout' });
      }, timeout);
    }
  });
}

/** Resolves every waiter in `list`, or rejects them with `error`. */
export function settle(list: Waiter[], error?: WireError): void {
  for (const w of list.splice(0)) {
    if (error) w.reject(error);
    else w.resolve();
  }
}
