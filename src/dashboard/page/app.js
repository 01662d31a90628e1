// The saferoads live dashboard: plain JS module, no build step. Data from the service's own HTTP
// server: /api/now, /api/heat, /api/history, /api/health, /api/words and the live /events stream.
/* global uPlot */

const HEAT_ENDS = 60;
const MAX_TILES = 500;
const HEALTH_MS = 3000;
const MIN_REASON_CONTRIBUTION = 0.2;
const MAX_REASONS = 3;

let levels = { elevated: 0.3, high: 0.6 };
let words = {};
/** point_id → compact record (the latest). */
const latest = new Map();
/** point_id → Map(window_end → score), for the heat strip. */
const heat = new Map();
let advanceS = 60;
let selected = null;
let selectedHistory = null;
let chart = null;
let dirty = false;
let opened = false;

const $ = (id) => document.getElementById(id);

function level(score) {
  return score >= levels.high ? 'HIGH' : score >= levels.elevated ? 'ELEVATED' : 'LOW';
}

/** The largest positive contributions in words (as src/cli/describe.ts riskReasons). */
function reasons(contributions) {
  const c = contributions || {};
  const freezing = (c.freezing_precipitation ?? 0) >= MIN_REASON_CONTRIBUTION;
  return Object.entries(c)
    .filter(([name, v]) => v >= MIN_REASON_CONTRIBUTION && !(freezing && name === 'precipitation'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_REASONS)
    .map(([name]) => words[name] ?? name.replace(/_/g, ' '));
}

/** A full record of /api/now in the compact shape of an /events record. */
function compact(r) {
  const s = r.short;
  const w = r.weather;
  return {
    point_id: r.point_id, window_end: r.window_end, score: r.risk.score, reliable: r.risk.reliable,
    mean_speed_kmh: s.mean_speed_kmh, v85_kmh: s.v85_kmh, flow_vph: s.flow_vph, occupancy: s.occupancy, count: s.count,
    temp: w ? w.temp : null, snow: w ? w.snow : null, rain: w ? w.rain : null, contributions: r.risk.contributions,
  };
}

function time(epochS) {
  return new Date(epochS * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function weatherText(r) {
  if (r.temp === null || r.temp === undefined) return 'no weather';
  const p = r.snow > 0 ? ' snow' : r.rain > 0 ? ' rain' : '';
  return `${r.temp.toFixed(1)} °C${p}`;
}

function fmt(v, digits = 0, unit = '') {
  return v === null || v === undefined ? '–' : `${v.toFixed(digits)}${unit}`;
}

// ---- Now: tiles ----

function take(r) {
  const prev = latest.get(r.point_id);
  if (!prev || prev.window_end <= r.window_end) latest.set(r.point_id, r);
  let row = heat.get(r.point_id);
  if (!row) heat.set(r.point_id, (row = new Map()));
  row.set(r.window_end, r.score);
  if (selected === r.point_id && selectedHistory) appendToSeries(r);
  schedule();
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => {
    dirty = false;
    renderTiles();
    renderHeat();
  });
}

function renderTiles() {
  const list = [...latest.values()].sort((a, b) => b.score - a.score || (a.point_id < b.point_id ? -1 : 1));
  const box = $('tiles');
  const shown = list.slice(0, MAX_TILES);
  const existing = new Map([...box.querySelectorAll('.tile')].map((el) => [el.dataset.point, el]));
  let maxEnd = -Infinity;
  for (const r of list) maxEnd = Math.max(maxEnd, r.window_end);
  shown.forEach((r, i) => {
    let el = existing.get(r.point_id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'tile';
      el.dataset.point = r.point_id;
      el.innerHTML = '<span class="id"></span><span class="level"></span><span class="score"></span><span class="stats"></span><span class="reasons"></span>';
      el.addEventListener('click', () => select(r.point_id));
    }
    existing.delete(r.point_id);
    const lv = level(r.score);
    el.dataset.level = lv;
    el.dataset.score = String(r.score);
    el.dataset.windowEnd = String(r.window_end);
    el.classList.toggle('selected', r.point_id === selected);
    el.querySelector('.id').textContent = r.point_id;
    el.querySelector('.level').textContent = lv;
    el.querySelector('.score').textContent = r.score.toFixed(2);
    el.querySelector('.stats').textContent =
      `${time(r.window_end)} · ${fmt(r.mean_speed_kmh, 0, ' km/h')} (V85 ${fmt(r.v85_kmh, 0)}) · ${Math.round(r.flow_vph)} veh/h · ${weatherText(r)}`;
    const why = reasons(r.contributions);
    const rs = el.querySelector('.reasons');
    rs.textContent = (why.length ? why.join(', ') : 'nothing notable') + (r.reliable ? '' : ' · IMPLAUSIBLE data: score unreliable');
    rs.classList.toggle('unreliable', !r.reliable);
    if (box.children[i] !== el) box.insertBefore(el, box.children[i] ?? null);
  });
  for (const el of existing.values()) el.remove();
  box.dataset.count = String(shown.length);
  $('now-end').textContent = Number.isFinite(maxEnd)
    ? `${list.length} points · window end ${time(maxEnd)}${list.length > MAX_TILES ? ` · riskiest ${MAX_TILES} shown` : ''}`
    : '';
}

// ---- Heat strip ----

function renderHeat() {
  const canvas = $('heat');
  let maxEnd = -Infinity;
  for (const r of latest.values()) maxEnd = Math.max(maxEnd, r.window_end);
  const ids = [...latest.values()].sort((a, b) => b.score - a.score || (a.point_id < b.point_id ? -1 : 1)).map((r) => r.point_id).slice(0, MAX_TILES);
  const cell = Math.max(2, Math.min(12, Math.floor(360 / Math.max(ids.length, 1))));
  const w = canvas.clientWidth || 600;
  canvas.width = w;
  canvas.height = Math.max(cell * ids.length, 10);
  canvas.dataset.points = String(ids.length);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#eceff1';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!Number.isFinite(maxEnd)) return;
  const cw = w / HEAT_ENDS;
  ids.forEach((id, y) => {
    const row = heat.get(id);
    if (!row) return;
    for (let k = 0; k < HEAT_ENDS; k++) {
      const end = maxEnd - (HEAT_ENDS - 1 - k) * advanceS;
      const s = row.get(end);
      if (s === undefined || s === null) continue;
      ctx.fillStyle = colour(s);
      ctx.fillRect(Math.floor(k * cw), y * cell, Math.ceil(cw), cell - (cell > 3 ? 1 : 0));
    }
    // Drop what fell out of the strip.
    for (const end of row.keys()) if (end < maxEnd - HEAT_ENDS * advanceS) row.delete(end);
  });
}

/** Green (0) → amber (elevated) → red (high and above). */
function colour(score) {
  const t = Math.max(0, Math.min(1, score / levels.high));
  const hue = 120 * (1 - t);
  return `hsl(${hue}, 75%, ${score >= levels.high ? 40 : 48}%)`;
}

// ---- One point ----

async function select(id) {
  selected = id;
  const box = $('point');
  box.dataset.selected = id;
  $('point-title').textContent = id;
  schedule();
  const res = await fetch(`/api/history?point=${encodeURIComponent(id)}`);
  if (!res.ok) return;
  if (selected !== id) return;
  selectedHistory = await res.json();
  drawSeries();
}

function seriesData(h) {
  const s = h.series;
  return [h.window_end, s.score, s.mean_speed_kmh, s.v85_kmh, s.flow_vph, s.occupancy];
}

function drawSeries() {
  const h = selectedHistory;
  const el = $('series');
  if (chart) chart.destroy();
  el.innerHTML = '';
  const opts = {
    width: Math.max(el.clientWidth, 400),
    height: 240,
    scales: { x: { time: true }, score: { range: [0, 1] }, kmh: {}, vph: {}, occ: { range: [0, 1] } },
    series: [
      {},
      { label: 'score', scale: 'score', stroke: '#c62828', width: 2 },
      { label: 'mean km/h', scale: 'kmh', stroke: '#1565c0' },
      { label: 'V85 km/h', scale: 'kmh', stroke: '#6a1b9a', dash: [4, 3] },
      { label: 'veh/h', scale: 'vph', stroke: '#2e7d32' },
      { label: 'occupancy', scale: 'occ', stroke: '#ef6c00' },
    ],
    axes: [{}, { scale: 'score', label: 'score' }, { scale: 'kmh', side: 1, label: 'km/h', grid: { show: false } }],
  };
  chart = new uPlot(opts, seriesData(h), el);
  window.saferoadsChart = chart;
  el.dataset.points = String(h.window_end.length);
  drawContributions();
  renderPointInfo();
}

/** Distinct colours for the stacked contributions (one per feature that ever raised the score). */
const STACK_COLOURS = ['#c62828', '#ef6c00', '#f9a825', '#2e7d32', '#00838f', '#1565c0', '#6a1b9a', '#ad1457', '#5d4037', '#546e7a', '#9e9d24', '#4527a0'];
let contribChart = null;

/**
 * What raised the score, over time: each feature's positive contribution (logit units) stacked, so
 * a queue forming shows as a growing band of "sudden slow-down" and "tailgating" under the score.
 */
function contributionData(h) {
  const names = Object.keys(h.contributions).filter((n) => h.contributions[n].some((v) => v > 0));
  const n = h.window_end.length;
  const stacked = [];
  const running = new Array(n).fill(0);
  for (const name of names) {
    for (let i = 0; i < n; i++) running[i] += Math.max(0, h.contributions[name][i] ?? 0);
    stacked.push(running.slice());
  }
  return { names, data: [h.window_end, ...stacked] };
}

function drawContributions() {
  const h = selectedHistory;
  const el = $('contrib-series');
  if (contribChart) contribChart.destroy();
  contribChart = null;
  el.innerHTML = '';
  const { names, data } = contributionData(h);
  el.dataset.features = String(names.length);
  el.dataset.points = String(h.window_end.length);
  if (names.length === 0) return;
  const series = [{}];
  const bands = [];
  names.forEach((name, i) => {
    const colour = STACK_COLOURS[i % STACK_COLOURS.length];
    series.push({ label: words[name] ?? name, stroke: colour, fill: `${colour}55`, width: 1 });
    if (i > 0) bands.push({ series: [i + 1, i], fill: `${colour}55` });
  });
  // The lowest band fills down to 0; each next one only between itself and the one below.
  series.forEach((s, i) => {
    if (i > 1) delete s.fill;
  });
  contribChart = new uPlot(
    { width: Math.max(el.clientWidth, 400), height: 180, scales: { x: { time: true } }, series, bands, axes: [{}, { label: 'raised by (logit)' }] },
    data,
    el,
  );
  window.saferoadsContribChart = contribChart;
}

function appendToSeries(r) {
  const h = selectedHistory;
  if (h.window_end.length && r.window_end <= h.window_end[h.window_end.length - 1]) return;
  h.window_end.push(r.window_end);
  for (const f of Object.keys(h.series)) h.series[f].push(typeof r[f] === "boolean" ? Number(r[f]) : (r[f] ?? null));
  for (const name of Object.keys(h.contributions)) h.contributions[name].push(r.contributions[name] ?? 0);
  if (chart) {
    chart.setData(seriesData(h));
    $('series').dataset.points = String(h.window_end.length);
  }
  drawContributions();
  renderPointInfo();
}

function renderPointInfo() {
  const h = selectedHistory;
  const r = latest.get(h.point_id);
  const n = h.window_end.length;
  const rows = Object.entries(h.contributions)
    .map(([name, v]) => [name, v[n - 1] ?? 0])
    .sort((a, b) => b[1] - a[1]);
  const max = Math.max(0.01, ...rows.map(([, v]) => Math.abs(v)));
  const table = rows
    .map(([name, v]) => `<tr data-feature="${name}"><td>${words[name] ?? name}</td><td>${v.toFixed(2)}</td><td><span class="bar${v < 0 ? ' neg' : ''}" style="width:${Math.round((Math.abs(v) / max) * 120)}px"></span></td></tr>`)
    .join('');
  $('point-info').innerHTML =
    `<p>${n} window ends · latest ${r ? `${time(r.window_end)}: <b>${level(r.score)} ${r.score.toFixed(2)}</b> · ${weatherText(r)} · ${r.count} vehicles` : ''}</p>` +
    `<p class="sub">contributions to the latest score (logit units; positive raises it):</p><table id="contributions">${table}</table>`;
}

// ---- Service health ----

async function health() {
  try {
    const h = await (await fetch('/api/health')).json();
    // Reasons with none are listed by /metrics; here only those that happened, and the total.
    let total = 0;
    const dl = Object.entries(h.dead_letters)
      .flatMap(([topic, reasons]) =>
        Object.entries(reasons)
          .filter(([, n]) => n > 0)
          .map(([reason, n]) => {
            total += n;
            return `<tr data-dead-letter="${reason}"><td>dead letters ${topic}</td><td>${reason}</td><td>${n}</td></tr>`;
          }),
      )
      .join('');
    const el = $('health');
    el.innerHTML =
      `<table>` +
      `<tr><td>events/s</td><td colspan="2" data-field="events_per_s">${h.events_per_s === null ? '–' : h.events_per_s.toFixed(1)}</td></tr>` +
      `<tr><td>records in / rows out</td><td colspan="2">${h.records_in} / ${h.rows_out}</td></tr>` +
      `<tr><td>watermark lag</td><td colspan="2" data-field="watermark_lag_s">${h.watermark_lag_s === null ? '–' : `${h.watermark_lag_s.toFixed(0)} s`}</td></tr>` +
      `<tr><td>consumer lag</td><td colspan="2" data-field="consumer_lag_total">${h.consumer_lag_total}</td></tr>` +
      `<tr><td>dead letters</td><td colspan="2" data-field="dead_letters_total">${total}</td></tr>` + dl +
      `<tr><td>live clients</td><td colspan="2">${h.stream_clients} (dropped ${h.stream_dropped})</td></tr>` +
      `</table>`;
    el.dataset.updated = String(Date.now());
  } catch {
    // The next tick tries again.
  }
}

// ---- Loading and live ----

async function loadNow() {
  const [now, hm] = await Promise.all([fetch('/api/now').then((r) => r.json()), fetch(`/api/heat?ends=${HEAT_ENDS}`).then((r) => r.json())]);
  advanceS = hm.advance_s || 60;
  hm.points.forEach((id, i) => {
    let row = heat.get(id);
    if (!row) heat.set(id, (row = new Map()));
    hm.window_end.forEach((end, k) => {
      const s = hm.scores[i][k];
      if (s !== null) row.set(end, s);
    });
  });
  for (const r of now) take(compact(r));
  schedule();
}

function connect() {
  const es = new EventSource('/events');
  const live = $('live');
  es.addEventListener('open', () => {
    live.dataset.state = 'live';
    live.textContent = 'live';
    // First open and every reconnect: what was missed comes from /api/now.
    void loadNow();
    opened = true;
  });
  es.addEventListener('record', (e) => take(JSON.parse(e.data)));
  es.addEventListener('error', () => {
    live.dataset.state = opened ? 'reconnecting' : 'connecting';
    live.textContent = opened ? 'reconnecting…' : 'connecting…';
  });
}

async function main() {
  try {
    const w = await (await fetch('/api/words')).json();
    levels = w.levels;
    words = w.features;
    $('legend').textContent = `risk: LOW < ${levels.elevated} ≤ ELEVATED < ${levels.high} ≤ HIGH — the score ranks conditions at a point; it is not a crash probability.`;
  } catch {
    // Defaults above.
  }
  connect();
  void health();
  setInterval(health, HEALTH_MS);
  window.addEventListener('resize', () => {
    schedule();
    if (chart) chart.setSize({ width: Math.max($('series').clientWidth, 400), height: 240 });
  });
}

void main();
