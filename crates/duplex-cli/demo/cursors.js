// Collaborative cursors: each visitor publishes their pointer to `cursors:canvas` as
// {x, y} in 0..1 (relative to the canvas, so screens of any size agree), and draws everyone
// else's. Who is who comes from the hub: `ctx.info.user`, and `ctx.info.client` for each tab.
import { connect, colorFor, h } from '/demo/demo.js';

const { client, user } = connect();
const canvas = document.getElementById('canvas');
const hereList = document.getElementById('here');

let myClient = null; // our own client id: our publications come back, and are not drawn
client.on('connected', (ctx) => { myClient = ctx.client; });

const sub = client.newSubscription('cursors:canvas');
const cursors = new Map(); // client id → { el, timer }
const here = new Map(); // client id → user

// ---- sending: at most 20 positions a second, the last one always, nothing when still ----

const INTERVAL = 50; // ms
let pending = null; // the newest position not sent yet
let timer = null;
let lastSent = 0;

function moved(x, y) {
  pending = { x: round(x), y: round(y) }; // 4 decimals: finer than any screen
  if (!timer) timer = setTimeout(flush, Math.max(0, lastSent + INTERVAL - performance.now()));
}

function flush() {
  timer = null;
  if (!pending || sub.state !== 'subscribed') return;
  sub.publish(pending).catch(() => {}); // a lost position is replaced by the next one
  pending = null;
  lastSent = performance.now();
}

// Pointer events cover mouse, pen and touch; the canvas has `touch-action: none`, so a finger
// drags the cursor instead of scrolling the page.
canvas.addEventListener('pointermove', (e) => {
  canvas.classList.add('active'); // hides the "move here" hint
  const box = canvas.getBoundingClientRect();
  moved(clamp((e.clientX - box.left) / box.width), clamp((e.clientY - box.top) / box.height));
});

// ---- receiving ----

sub.on('publication', (ctx) => {
  const { user: who, client: id } = ctx.info ?? {};
  if (!id || id === myClient) return;
  const { x, y } = ctx.data ?? {};
  if (typeof x !== 'number' || typeof y !== 'number') return;
  if (!here.has(id)) {
    here.set(id, who); // moved before its join reached us
    renderHere();
  }
  const cursor = cursors.get(id) ?? newCursor(id, who);
  cursor.el.style.left = `${clamp(x) * 100}%`;
  cursor.el.style.top = `${clamp(y) * 100}%`;
  cursor.el.classList.toggle('flip', x > 0.85);
  cursor.el.classList.remove('idle');
  clearTimeout(cursor.timer);
  cursor.timer = setTimeout(() => cursor.el.classList.add('idle'), 10_000); // fades when still
});

// Presence lists who is here (one entry per tab); a leave takes the tab's cursor away.
sub.on('subscribed', async () => {
  try {
    const { clients } = await sub.presence();
    here.clear();
    for (const info of Object.values(clients)) here.set(info.client, info.user);
    for (const id of cursors.keys()) if (!here.has(id)) removeCursor(id);
    renderHere();
  } catch (err) {
    console.warn('presence', err);
  }
});
sub.on('join', (ctx) => {
  here.set(ctx.info.client, ctx.info.user);
  renderHere();
});
sub.on('leave', (ctx) => {
  here.delete(ctx.info.client);
  removeCursor(ctx.info.client);
  renderHere();
});

sub.subscribe();

function newCursor(id, who) {
  const el = h('div', { class: 'cursor', dataset: { user: who, client: id }, style: { '--user-color': colorFor(who) } });
  el.innerHTML = '<svg width="22" height="27" viewBox="0 0 18 22" aria-hidden="true">' +
    '<path d="M1 1 L1 18 L5.5 13.8 L8.6 20.6 L11.6 19.2 L8.6 12.6 L15 12.6 Z" fill="currentColor" stroke="#fff" stroke-width="1.5" stroke-linejoin="round"/></svg>';
  el.append(h('span', { class: 'name' }, who));
  canvas.append(el);
  const cursor = { el, timer: 0 };
  cursors.set(id, cursor);
  return cursor;
}

function removeCursor(id) {
  const cursor = cursors.get(id);
  if (!cursor) return;
  clearTimeout(cursor.timer);
  cursor.el.remove();
  cursors.delete(id);
}

// One line per user, however many tabs they have open here.
function renderHere() {
  const users = [...new Set(here.values())].sort();
  hereList.replaceChildren(...users.map((name) =>
    h('li', { class: name === user ? 'me' : null, dataset: { user: name }, style: { '--user-color': colorFor(name) } }, name)));
}

function clamp(v) {
  return Math.min(1, Math.max(0, v));
}

function round(v) {
  return Math.round(v * 10000) / 10000;
}
