// The SharedWorker side: importing this module in a SharedWorker script makes that worker the
// connection owner for every tab that connects to it. The app bundles it with the SDK, e.g.
//   // shared-centrifuge-worker.js
//   import '@duplex/shared-centrifuge/worker';
// and passes that script to `new SharedCentrifuge(endpoint, { sharedWorker: url })`.

import { Owner } from './owner.js';
import type { ToOwner } from './messages.js';

interface ConnectEvent {
  ports: readonly MessagePort[];
}

const ports = new Map<string, MessagePort>();
const owner = new Owner({
  gatherMs: 0,
  post(tabs, msg) {
    for (const tab of tabs) ports.get(tab)?.postMessage(msg);
  },
  gone(tab) {
    ports.get(tab)?.close();
    ports.delete(tab);
  },
});

(self as unknown as { onconnect: (e: ConnectEvent) => void }).onconnect = (e) => {
  const port = e.ports[0];
  let tab: string | null = null;
  port.onmessage = (ev: MessageEvent<ToOwner>) => {
    const msg = ev.data;
    if (msg.t === 'hello') {
      tab = msg.tab;
      ports.set(tab, port);
    }
    if (tab !== null) owner.handle(tab, msg);
  };
  port.start();
};
