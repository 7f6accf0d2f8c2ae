// Chat: one subscription per room (`chat:<room>`) for messages, presence and history, and one
// (`typing:<room>`) for typing signals. The server says who wrote what: a message's author is
// `ctx.info.user` (from the author's token), never something in the payload.
import { connect, colorFor, h } from '/demo/demo.js';

const { client, user } = connect();

const messages = document.getElementById('messages');
const presenceList = document.getElementById('presence');
const typingLine = document.getElementById('typing');
const form = document.getElementById('message-form');
const input = document.getElementById('message-input');

let room = null; // { name, sub, typing }: the room on screen
const shown = new Map(); // offset → <li>: every message once, in offset order
const here = new Set(); // users in the room (presence is per user in the chat namespace)
const typers = new Map(); // user → timer that clears their "is typing…"
let lastTyping = 0; // when we last said that we are typing

function openRoom(name) {
  if (room) {
    // Unsubscribes and forgets both channels of the old room.
    client.removeSubscription(room.sub);
    client.removeSubscription(room.typing);
  }
  clearRoom(name);
  lastTyping = 0; // the 2 s limit is per room

  const sub = client.newSubscription(`chat:${name}`);
  const typing = client.newSubscription(`typing:${name}`);
  const current = () => room && room.sub === sub; // async answers for a room left are dropped
  room = { name, sub, typing };

  let wasSubscribed = false;
  let recovered = null; // counts the publications a recovery delivers

  // The connection dropped: the SDK resubscribes by itself once reconnected, asking the hub
  // for what it missed since its last offset (the namespace forces recovery).
  sub.on('subscribing', () => {
    if (wasSubscribed) notice('reconnecting…');
  });

  sub.on('subscribed', (ctx) => {
    if (!ctx.wasRecovering) {
      loadHistory(sub, current); // the first subscribe: show the recent messages
    } else if (ctx.recovered) {
      // The missed publications follow as 'publication' events, right after this one and
      // in the same task: count them until the next macrotask.
      recovered = { count: 0 };
      setTimeout(() => {
        if (current()) notice(`recovered ${recovered.count}`);
        recovered = null;
      }, 0);
    } else {
      // Too much was missed (or the stream was reset): start again from history.
      for (const li of shown.values()) li.remove();
      shown.clear();
      notice('could not recover, reloaded history');
      loadHistory(sub, current);
    }
    loadPresence(sub, current); // who came and went while we were away
    wasSubscribed = true;
  });

  sub.on('publication', (ctx) => {
    if (recovered) recovered.count += 1;
    addMessage(ctx);
    stopTyping(ctx.info?.user); // they sent it: they are no longer typing
  });

  // Presence: the hub pushes join/leave to every subscriber. The namespace has user-level
  // presence, so a user joins with their first tab and leaves with their last.
  sub.on('join', (ctx) => {
    here.add(ctx.info.user);
    renderPresence();
  });
  sub.on('leave', (ctx) => {
    here.delete(ctx.info.user);
    renderPresence();
  });

  typing.on('publication', (ctx) => {
    const who = ctx.info?.user;
    if (!who || who === user) return;
    clearTimeout(typers.get(who));
    typers.set(who, setTimeout(() => stopTyping(who), 3000)); // 3 s after their last signal
    renderTyping();
  });

  sub.subscribe();
  typing.subscribe();
}

async function loadHistory(sub, current) {
  try {
    // `reverse: true` gives the newest first, so `limit` keeps the latest 50.
    const { publications } = await sub.history({ limit: 50, reverse: true });
    if (!current()) return;
    for (const pub of publications.reverse()) addMessage(pub);
  } catch (err) {
    if (current()) notice(`could not load history: ${err.message}`);
  }
}

async function loadPresence(sub, current) {
  try {
    const { clients } = await sub.presence(); // client id → { user, client, ... }
    if (!current()) return;
    here.clear();
    for (const info of Object.values(clients)) here.add(info.user);
    renderPresence();
  } catch (err) {
    console.warn('presence', err);
  }
}

// Adds a publication (live, recovered or from history) in offset order, once.
function addMessage({ data, info, offset }) {
  if (shown.has(offset)) return;
  const author = info?.user ?? '(server)'; // published through the server API: no client info
  const li = h('li', {
    class: author === user ? 'message mine' : 'message',
    dataset: { offset, user: author },
    style: { '--user-color': colorFor(author) },
  }, h('span', { class: 'user' }, author), h('span', { class: 'text' }, String(data?.text ?? '')));
  const later = [...shown.keys()].filter((o) => o > offset).sort((a, b) => a - b)[0];
  if (later === undefined) messages.append(li);
  else shown.get(later).before(li);
  shown.set(offset, li);
  // A message right after one by the same author does not repeat the name.
  for (const el of [li, li.nextElementSibling]) {
    const prev = el?.previousElementSibling;
    if (el?.classList.contains('message')) el.classList.toggle('follow', prev?.classList.contains('message') && prev.dataset.user === el.dataset.user);
  }
  messages.querySelector('.empty')?.remove();
  messages.scrollTop = messages.scrollHeight;
}

function notice(text) {
  messages.append(h('li', { class: 'notice' }, text));
  messages.scrollTop = messages.scrollHeight;
}

function clearRoom(name) {
  shown.clear();
  messages.replaceChildren();
  messages.append(h('li', { class: 'empty' }, `No messages in #${name} yet. Say hello!`));
  here.clear();
  renderPresence();
  for (const timer of typers.values()) clearTimeout(timer);
  typers.clear();
  renderTyping();
  document.getElementById('room-title').textContent = `#${name}`;
  for (const b of document.querySelectorAll('[data-room]')) b.setAttribute('aria-pressed', String(b.dataset.room === name));
}

function renderPresence() {
  presenceList.replaceChildren(...[...here].sort().map((name) =>
    h('li', { class: name === user ? 'me' : null, dataset: { user: name }, style: { '--user-color': colorFor(name) } }, name)));
}

function stopTyping(who) {
  if (!typers.has(who)) return;
  clearTimeout(typers.get(who));
  typers.delete(who);
  renderTyping();
}

function renderTyping() {
  const names = [...typers.keys()];
  typingLine.textContent =
    names.length === 0 ? '' :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'several people are typing…';
}

// Sending: publish to the room; the message shows when the hub delivers it back to us too.
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || !room) return;
  input.value = '';
  try {
    await room.sub.publish({ text });
  } catch (err) {
    notice(`not sent (${err.message}): ${text}`);
  }
});

// Typing: at most one signal every 2 s while keys are pressed; nothing when idle.
input.addEventListener('input', () => {
  if (!input.value.trim() || !room || Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  room.typing.publish({}).catch(() => {}); // a lost typing signal does not matter
});

for (const button of document.querySelectorAll('[data-room]')) {
  button.addEventListener('click', () => {
    if (room?.name === button.dataset.room) return;
    history.replaceState(null, '', `#${button.dataset.room}`);
    openRoom(button.dataset.room);
  });
}

const rooms = ['lobby', 'random', 'rust'];
openRoom(rooms.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'lobby');
