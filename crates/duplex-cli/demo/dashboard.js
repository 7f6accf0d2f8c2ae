// Live dashboard: `metrics:hub` gets one point a second from the hub itself. The page loads the
// last two minutes from history, then adds live points. It uses @duplex/shared-centrifuge, the
// centrifuge SDK shared between tabs: same API, but all dashboard tabs use one WebSocket (held
// by a SharedWorker, or by one elected tab where SharedWorker is missing).
import { SharedCentrifuge } from '@duplex/shared-centrifuge';
import uPlot from 'uplot';
import { connect } from '/demo/demo.js';

const { client } = connect({
  Client: SharedCentrifuge,
  // The worker script owns the connection; it bundles the SDK (import maps do not reach workers).
  options: { sharedWorker: '/demo/vendor/shared-centrifuge-worker.js' },
});
client.on('connected', () => {
  document.getElementById('mode').textContent = `mode: ${client.mode}`;
});

const KEEP = 300; // points on the charts: the channel's history size, five minutes
const points = new Map(); // t (unix ms) → point, every point once
let received = 0;

const sub = client.newSubscription('metrics:hub');

// On every (re)subscribe, fill in from history what we do not have yet. `reverse: true`
// returns the newest first, so `limit: 120` is the last two minutes.
sub.on('subscribed', async () => {
  try {
    const { publications } = await sub.history({ limit: 120, reverse: true });
    for (const pub of publications) add(pub.data);
    render();
  } catch (err) {
    console.warn('history', err);
  }
});

sub.on('publication', (ctx) => {
  add(ctx.data);
  render();
});

sub.subscribe();

function add(point) {
  if (!point || typeof point.t !== 'number' || points.has(point.t)) return;
  points.set(point.t, point);
  received += 1;
  document.body.dataset.points = String(received);
  if (points.size > KEEP) points.delete(Math.min(...points.keys()));
}

// ---- tiles and charts ----

const tiles = Object.fromEntries([...document.querySelectorAll('[data-metric]')].map((el) => [el.dataset.metric, el]));

function format(value, decimals) {
  if (value === null || value === undefined) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(decimals);
}

// A chart of some series over time; the y axis starts at 0, and counts get whole-number ticks.
function chart(id, series, { whole = false, dots = false, spanGaps = false } = {}) {
  const el = document.getElementById(id);
  const plot = new uPlot({
    width: el.clientWidth,
    height: 220,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(whole ? 4 : 1, max * 1.15)] } },
    series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps, points: { show: dots, size: 5, fill: stroke } }))],
    axes: [{}, { size: 50, incrs: whole ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6] : undefined }],
    legend: { live: false },
  }, [[], ...series.map(() => [])], el);
  new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 220 })).observe(el);
  return plot;
}

const charts = [
  [chart('chart-connections', [['connections', '#2f6fdf']], { whole: true }), (p) => [p.connections]],
  [chart('chart-rates', [['publications/s', '#1f8a4c'], ['deliveries/s', '#a86400']], { whole: true }),
    (p) => [p.publications_per_second, p.deliveries_per_second]],
  // Latency is null in a second without commands: the line joins the seconds that had some,
  // and a dot marks each measured second.
  [chart('chart-latency', [['p50', '#2f6fdf'], ['p90', '#a86400'], ['p99', '#b3261e']], { dots: true, spanGaps: true }),
    (p) => [p.latency_ms?.p50 ?? null, p.latency_ms?.p90 ?? null, p.latency_ms?.p99 ?? null]],
];

// Redraws at most once a frame, however many points came (history brings 120 at once).
let frame = 0;
function render() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const sorted = [...points.values()].sort((a, b) => a.t - b.t);
    const latest = sorted[sorted.length - 1];
    if (!latest) return;
    for (const key of ['connections', 'users', 'channels', 'subscriptions']) tiles[key].textContent = format(latest[key], 0);
    for (const key of ['commands_per_second', 'publications_per_second', 'deliveries_per_second', 'dropped_per_second']) {
      tiles[key].textContent = format(latest[key], 1);
    }
    // Latency is null in a second without commands: show the last measured, in a quieter colour.
    const measured = sorted.findLast((p) => p.latency_ms?.p50 != null);
    for (const q of ['p50', 'p90', 'p99']) {
      const tile = tiles[`latency_${q}`];
      tile.textContent = format(measured?.latency_ms[q], 2);
      tile.classList.toggle('stale', measured !== latest);
      tile.title = measured && measured !== latest ? `no commands since ${new Date(measured.t).toLocaleTimeString()}` : '';
    }
    const xs = sorted.map((p) => p.t / 1000); // uPlot's time scale is in seconds
    for (const [plot, pick] of charts) {
      const columns = sorted.map(pick);
      plot.setData([xs, ...columns[0].map((_, i) => columns.map((c) => c[i]))]);
    }
  });
}
