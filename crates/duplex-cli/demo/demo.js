// What every demo page shares: who you are, a connected client, and the status pill.
//
//   import { connect } from '/demo/demo.js';
//   const { client, user } = connect();          // a Centrifuge client, connecting
//   const sub = client.newSubscription('chat:lobby');
//
// The demo server mints tokens for any name at /demo/token (loopback only). A real application
// would mint them in its own backend, for the user its login cookie names.
import { Centrifuge, UnauthorizedError } from 'centrifuge';

// The hub's WebSocket endpoint: the same host and port that served this page.
export const endpoint = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/connection/websocket`;

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const ANIMALS = ['otter', 'heron', 'lynx', 'badger', 'puffin', 'marten', 'ibis', 'gecko', 'wombat', 'kestrel'];

/** The user's name: `?user=NAME` in the URL, else this tab's earlier name, else a new one. */
export function userName() {
  const fromUrl = new URLSearchParams(location.search).get('user');
  let name = fromUrl && NAME.test(fromUrl) ? fromUrl : sessionStorage.getItem('duplex-demo-user');
  if (!name || !NAME.test(name)) {
    const animal = ANIMALS[Math.floor(Math.random() * ANIMALS.length)];
    name = `${animal}-${Math.floor(10 + Math.random() * 90)}`;
  }
  sessionStorage.setItem('duplex-demo-user', name);
  return name;
}

/** Asks the demo server for a connection token (a JWT for `user`, valid 15 minutes). */
export async function fetchToken(user) {
  const res = await fetch(`/demo/token?user=${encodeURIComponent(user)}`);
  // A 4xx is final: UnauthorizedError tells the SDK to stop reconnecting. Anything else
  // (server down, 5xx) is thrown as a plain error, and the SDK tries again later.
  if (res.status >= 400 && res.status < 500) throw new UnauthorizedError(`token refused: ${res.status}`);
  if (!res.ok) throw new Error(`token request failed: ${res.status}`);
  return (await res.json()).token;
}

/**
 * Makes a client for `user`, shows its state in the page, and connects it.
 * `Client` is `Centrifuge` unless given (the dashboard passes `SharedCentrifuge`, which takes
 * the same arguments); `options` are added to the client's options.
 */
export function connect({ user = userName(), Client = Centrifuge, options = {} } = {}) {
  const client = new Client(endpoint, {
    // Called on connect and again before the token expires: the SDK refreshes it by itself.
    getToken: () => fetchToken(user),
    ...options,
  });
  showUser(user);
  trackState(client);
  // With `--engine memory` the demo server makes new keys at each start, so after a restart it
  // refuses our token with "invalid token" (3500), which the SDK takes as final. Forget the
  // token and connect again: getToken fetches a new one. (Not needed with stable keys, as the
  // demo's own with the SQLite engine, or your application's.)
  let retried = 0;
  client.on('disconnected', (ctx) => {
    if (ctx.code !== 3500 || typeof client.setToken !== 'function' || Date.now() - retried < 10_000) return;
    retried = Date.now();
    client.setToken('');
    client.connect();
  });
  client.connect();
  return { client, user };
}

/** Puts "you are NAME" in the page header. */
export function showUser(user) {
  const el = document.getElementById('you');
  if (el) {
    el.textContent = user;
    el.style.setProperty('--user-color', colorFor(user));
  }
}

// The status pill and `document.body.dataset.state` follow the client's events. The SDK says
// `connecting` both for the first connect and for a reconnect; the pill tells them apart.
function trackState(client) {
  const pill = document.getElementById('status');
  let wasConnected = false;
  const show = (state, label) => {
    document.body.dataset.state = state;
    if (!pill) return;
    pill.dataset.state = label;
    pill.textContent = label;
  };
  show('disconnected', 'disconnected');
  client.on('connecting', () => show('connecting', wasConnected ? 'reconnecting' : 'connecting'));
  client.on('connected', () => {
    wasConnected = true;
    show('connected', 'connected');
    if (pill) pill.title = '';
  });
  client.on('disconnected', (ctx) => {
    show('disconnected', 'disconnected');
    if (pill) pill.title = ctx.reason || '';
  });
}

/** A stable colour for a name (the same in every tab and for every visitor). */
const COLORS = ['#d9480f', '#2b8a3e', '#1c7ed6', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5f3dc4', '#5c940d', '#a61e4d'];
export function colorFor(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

/** A small DOM builder: `h('li', { class: 'x', dataset: { user }, style: { left: '5%' } }, 'text', child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') for (const [k, v] of Object.entries(value)) el.style.setProperty(k, v);
    else if (value !== undefined && value !== null) el.setAttribute(key, value);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined));
  return el;
}
