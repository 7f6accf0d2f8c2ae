// What each test tab runs (bundled by build.mjs into build/tabs.js with clients/js and the
// centrifuge SDK): one SharedCentrifuge, driven by tabs_client.mjs through `window.T`, which
// records every publication each subscription delivers so the driver can check it.
import { SharedCentrifuge } from '../../clients/js/dist/index.js';

const got = {};
const events = [];
const counts = { tokens: 0, drops: 0 };
let client = null;

window.T = {
  /** Creates the client and connects; the connection token comes from Node (mintToken). */
  start(wsUrl, user) {
    client = new SharedCentrifuge(wsUrl, {
      sharedWorker: '/worker.js',
      getToken: () => {
        counts.tokens++;
        return window.mintToken(user);
      },
    });
    client.on('state', (c) => {
      events.push(`state ${c.oldState}->${c.newState}`);
      if (c.oldState === 'connected') counts.drops++;
    });
    client.on('error', (c) => events.push(`error ${c.type} ${c.error.code} ${c.error.message}`));
    client.connect();
    return client.mode;
  },
  /** Subscribes this tab to `channel`; resolves once subscribed. */
  async sub(channel) {
    const sub = client.newSubscription(channel);
    got[channel] = [];
    sub.on('publication', (c) => got[channel].push(c.data.seq));
    sub.on('subscribed', (c) => events.push(`subscribed ${channel} recovered=${c.recovered} pos=${c.streamPosition && c.streamPosition.offset}`));
    sub.on('error', (c) => events.push(`sub error ${channel} ${c.error.code} ${c.error.message}`));
    sub.subscribe();
    await sub.ready(15000);
  },
  unsub(channel) {
    client.removeSubscription(client.getSubscription(channel));
  },
  got(channel) {
    return got[channel] || [];
  },
  status() {
    return { mode: client.mode, leader: client.isLeader(), state: client.state, ...counts };
  },
  events() {
    return events.slice(-30);
  },
};
