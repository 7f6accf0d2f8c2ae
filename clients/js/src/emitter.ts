// A small typed event emitter with the EventEmitter methods the centrifuge SDK's objects have
// (on, once, off, addListener, removeListener, removeAllListeners, listeners, emit): our shared
// objects stand in for the SDK's, and the package may not depend on `events` itself.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Listener = (...args: any[]) => void;

interface Entry<F> {
  fn: F;
  once: boolean;
}

/** Events of type `E` (event name to listener signature), emitted synchronously in order. */
export class Emitter<E extends { [name: string]: Listener }> {
  private readonly table: { [K in keyof E]?: Entry<E[K]>[] } = {};

  /** Adds `fn` for `event`. */
  on<K extends keyof E>(event: K, fn: E[K]): this {
    (this.table[event] ??= []).push({ fn, once: false });
    return this;
  }

  /** Same as `on`. */
  addListener<K extends keyof E>(event: K, fn: E[K]): this {
    return this.on(event, fn);
  }

  /** Adds `fn` for the next `event` only. */
  once<K extends keyof E>(event: K, fn: E[K]): this {
    (this.table[event] ??= []).push({ fn, once: true });
    return this;
  }

  /** Removes one registration of `fn` for `event`. */
  off<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.table[event];
    if (list) {
      const i = list.findIndex((e) => e.fn === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** Same as `off`. */
  removeListener<K extends keyof E>(event: K, fn: E[K]): this {
    return this.off(event, fn);
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners<K extends keyof E>(event?: K): this {
    if (event === undefined) {
      for (const k of Object.keys(this.table)) delete this.table[k as keyof E];
    } else {
      delete this.table[event];
    }
    return this;
  }

  /** The listeners of `event`, in order. */
  listeners<K extends keyof E>(event: K): E[K][] {
    return (this.table[event] ?? []).map((e) => e.fn);
  }

  /**
   * Calls the listeners of `event`; whether there were any. A listener that throws is reported
   * asynchronously (as an uncaught error) so that it cannot break the message handling that
   * emitted the event.
   */
  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): boolean {
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
}
