// Runs inside the pages run.py serves: `/` (pusher-js's own browser bundle,
// node_modules/pusher-js/dist/web/pusher.min.js, as window.Pusher) and `/echo.html` (the same
// plus Laravel Echo, the ESM build through an import map, as window.Echo). One client per page,
// driven by browser_client.mjs through window.pusherTest; what the client sees goes back to Node
// through window.pusherReport(kind, payload), and channel authorization is asked of Node through
// window.pusherAuthorize(socketId, channelName, presenceData), so the app secret stays there.
// snap (a plain copy of what the SDK hands a callback) is tests/lib/checks.mjs's, which run.py
// serves at /lib/checks.mjs.
import { snap } from '../lib/checks.mjs';

let client = null; // the Pusher instance (Echo's own, with Echo)
let echo = null;

const report = (kind, payload) => window.pusherReport(kind, snap(payload) ?? null);

/** Options as an application pointing pusher-js at its own server gives them. */
const options = (o) => ({
  wsHost: o.host, wsPort: o.port, forceTLS: false, enabledTransports: ['ws'],
  disableStats: true, cluster: 'mt1',
});

/** Node signs (or refuses: `{error}`); the callback is pusher-js's. */
function authorize(socketId, channelName, presenceData, cb) {
  window.pusherAuthorize(socketId, channelName, presenceData || null).then(
    (r) => (r.error ? cb(new Error(r.error), null) : cb(null, r.auth)),
    (e) => cb(e, null),
  );
}

function watchConnection(p) {
  p.connection.bind('state_change', (x) => report('state', { ...x, socket_id: p.connection.socket_id }));
  p.connection.bind('error', (e) => report('error', e));
}

window.pusherTest = {
  /** A pusher-js client; `o`: {key, host, port, presenceData}. */
  connect(o) {
    client = new window.Pusher(o.key, {
      ...options(o),
      channelAuthorization: {
        customHandler: (params, cb) => authorize(params.socketId, params.channelName, o.presenceData, cb),
      },
    });
    watchConnection(client);
    return client.connection.state;
  },

  /** Subscribes; every event on the channel goes back as `channel` reports, in order. */
  subscribe(channel) {
    const ch = client.subscribe(channel);
    ch.bind_global((event, data) => report('channel', { channel, event, data }));
  },

  /** Laravel Echo with the pusher broadcaster, given the page's pusher-js, authorizing through
   *  its `authorizer` option (Echo hands its options to pusher-js). */
  echoConnect(o) {
    echo = new window.Echo({
      broadcaster: 'pusher',
      key: o.key,
      ...options(o),
      Pusher: window.Pusher,
      authorizer: (channel) => ({
        authorize: (socketId, cb) => authorize(socketId, channel.name, o.presenceData, cb),
      }),
    });
    client = echo.connector.pusher;
    watchConnection(client);
    return client.connection.state;
  },

  /** Echo.join(room): here / joining / leaving / error go back as `echo` reports. */
  echoJoin(room) {
    echo.join(room)
      .here((users) => report('echo', { what: 'here', room, users }))
      .joining((user) => report('echo', { what: 'joining', room, user }))
      .leaving((user) => report('echo', { what: 'leaving', room, user }))
      .error((error) => report('echo', { what: 'error', room, error }));
  },

  /** Echo.channel(name).subscribed(...).listen(event, ...) for each of `events`. */
  echoListen(channel, events) {
    const ch = echo.channel(channel).subscribed(() => report('echo', { what: 'subscribed', channel }));
    for (const event of events) ch.listen(event, (data) => report('echo', { what: 'listen', channel, event, data }));
  },

  disconnect() {
    if (echo) echo.disconnect();
    else if (client) client.disconnect();
  },

  state() {
    return client ? { state: client.connection.state, socket_id: client.connection.socket_id } : null;
  },
};
window.pusherPageReady = typeof window.Pusher === 'function';
