// Live results: every publication on `results:scoreboard` is a whole snapshot (matches and the
// league table), published by a backend through the server API. The latest one comes from
// history (`limit: 1`), the next ones live; the page marks what changed between two snapshots.
import { connect, h } from '/demo/demo.js';

const { client } = connect();

let shown = null; // the snapshot on screen
let shownOffset = -Infinity; // and its offset in the channel

const sub = client.newSubscription('results:scoreboard');

sub.on('subscribed', async (ctx) => {
  // After a reconnect that recovered, what we missed follows as publications.
  if (ctx.wasRecovering && ctx.recovered) return;
  shownOffset = -Infinity; // a new stream (first subscribe, or not recovered): any offset is newer
  try {
    // `reverse: true`: newest first, so `limit: 1` is the latest snapshot.
    const { publications } = await sub.history({ limit: 1, reverse: true });
    if (publications.length > 0) show(publications[0]);
    else if (!shown) showHowToStart();
  } catch (err) {
    console.warn('history', err);
  }
});

sub.on('publication', show);
sub.subscribe();

function show({ data, offset }) {
  if (offset <= shownOffset) return; // history and a live publication raced: keep the newest
  shownOffset = offset;
  const previous = shown;
  shown = data;
  document.getElementById('empty').hidden = true;
  document.getElementById('board').hidden = false;
  document.body.dataset.round = String(data.round);
  document.getElementById('competition').textContent = data.competition;
  document.getElementById('round').textContent = `Round ${data.round}`;
  document.getElementById('updated').textContent = `updated ${new Date(data.updated).toLocaleTimeString()}`;
  renderMatches(data.matches, previous?.matches ?? []);
  renderTable(data.table, previous?.table ?? []);
}

// ---- matches ----

function renderMatches(matches, before) {
  const tbody = document.querySelector('#matches tbody');
  const old = new Map(before.map((m) => [m.id, m]));
  const rows = matches.map((m) => {
    const row = tbody.querySelector(`tr[data-match="${CSS.escape(m.id)}"]`) ??
      h('tr', { dataset: { match: m.id } },
        h('td', { class: 'state' }), h('td', { class: 'home' }), h('td', { class: 'score' }), h('td', { class: 'away' }));
    const was = old.get(m.id);
    const [state, home, score, away] = row.cells;
    state.replaceChildren(h('span', { class: `status ${m.status}` },
      m.status === 'live' ? `${m.minute}′` : m.status === 'finished' ? 'FT' : 'next'));
    home.textContent = m.home;
    away.textContent = m.away;
    score.textContent = m.status === 'scheduled' ? '–' : `${m.home_score} – ${m.away_score}`;
    if (was && (was.home_score !== m.home_score || was.away_score !== m.away_score)) flash(score);
    if (was && was.status !== m.status) flash(state);
    return row;
  });
  tbody.replaceChildren(...rows);
}

// ---- league table ----

const COLUMNS = [
  ['played', (t) => t.played],
  ['won', (t) => t.won, 'wide-only'],
  ['drawn', (t) => t.drawn, 'wide-only'],
  ['lost', (t) => t.lost, 'wide-only'],
  ['goals', (t) => `${t.goals_for}:${t.goals_against}`],
  ['gd', (t) => signed(t.goals_for - t.goals_against)],
  ['points', (t) => t.points, 'pts'],
];

function renderTable(table, before) {
  const tbody = document.querySelector('#table tbody');
  const oldRank = new Map(before.map((t, i) => [t.team, i]));
  const rows = table.map((t, rank) => {
    const row = tbody.querySelector(`tr[data-team="${CSS.escape(t.team)}"]`) ??
      h('tr', { dataset: { team: t.team } },
        h('td', { class: 'num rank' }), h('td', { class: 'team' }),
        ...COLUMNS.map(([, , cls]) => h('td', { class: `num ${cls ?? ''}` })));
    const was = oldRank.has(t.team) ? before[oldRank.get(t.team)] : null;
    const [rankCell, teamCell, ...cells] = row.cells;
    // ▲/▼: the row moved since the previous snapshot; the arrow stays while the cell is marked.
    const moved = was ? oldRank.get(t.team) - rank : 0;
    const arrow = moved
      ? h('span', { class: moved > 0 ? 'move up' : 'move down' }, moved > 0 ? '▲' : '▼')
      : (rankCell.classList.contains('changed') && rankCell.querySelector('.move')) || h('span', { class: 'move' });
    rankCell.replaceChildren(arrow, String(rank + 1));
    if (moved) flash(rankCell);
    teamCell.textContent = t.team;
    COLUMNS.forEach(([, value], i) => {
      const text = String(value(t));
      if (was && String(value(was)) !== text) flash(cells[i]);
      cells[i].textContent = text;
    });
    return row;
  });
  tbody.replaceChildren(...rows);
}

// Marks a cell as changed for 4 s (the CSS makes it flash, then fade).
function flash(cell) {
  clearTimeout(cell.flashTimer);
  cell.classList.remove('changed');
  void cell.offsetWidth; // restart the animation
  cell.classList.add('changed');
  cell.flashTimer = setTimeout(() => cell.classList.remove('changed'), 4000);
}

function signed(n) {
  return n > 0 ? `+${n}` : String(n);
}

// No snapshot yet: say how to start the demo feed (the server knows the exact command).
async function showHowToStart() {
  document.getElementById('empty').hidden = false;
  try {
    const info = await (await fetch('/demo/info')).json();
    document.getElementById('feed-command').textContent = info.feed_command;
  } catch {
    document.getElementById('feed-command').textContent = '(see examples/results-feed in the duplex repository)';
  }
}
