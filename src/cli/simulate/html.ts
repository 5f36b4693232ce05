import { TABLE_HEADER, rowCells, type SimulateReport } from './report.js';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Drawn in the browser from the embedded JSON: a bar chart of spend, one of the delivered share, and the
// share of messages delivered within a time (log scale). Plain SVG, no library, no network.
const SCRIPT = String.raw`
const data = JSON.parse(document.getElementById('report-data').textContent);
const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#6b7280', '#dc2626', '#2563eb', '#059669', '#d97706', '#7c3aed'];
const el = (name, attrs, text) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
};
function bars(id, title, values, format) {
  const W = 640, H = 260, left = 170, right = 80, top = 30, rowH = (H - top - 10) / values.length;
  const svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(el('text', { x: 0, y: 16, class: 'title' }, title));
  const max = Math.max(...values.map((v) => v.value), 1e-12);
  values.forEach((v, i) => {
    const y = top + i * rowH;
    const w = ((W - left - right) * v.value) / max;
    svg.append(el('text', { x: left - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, v.label));
    svg.append(el('rect', { x: left, y: y + 4, width: w, height: rowH - 8, fill: COLORS[i % COLORS.length], class: 'bar', 'data-label': v.label, 'data-value': v.value }));
    svg.append(el('text', { x: left + w + 6, y: y + rowH / 2 + 4, class: 'value' }, format(v.value)));
  });
  document.getElementById(id).append(svg);
}
function curves(id, title) {
  const W = 640, H = 330, left = 50, right = 20, top = 30, bottom = 70;
  const svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(el('text', { x: 0, y: 16, class: 'title' }, title));
  const all = data.rows.flatMap((r) => r.times).filter((t) => t > 0);
  const lo = 1000, hi = Math.max(lo * 10, ...all);
  const x = (ms) => left + ((W - left - right) * (Math.log10(Math.max(ms, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const y = (share) => top + (H - top - bottom) * (1 - share);
  for (const [ms, label] of [[1000, '1 s'], [10000, '10 s'], [60000, '1 m'], [600000, '10 m'], [3600000, '1 h'], [86400000, '1 d']]) {
    if (ms > hi) continue;
    svg.append(el('line', { x1: x(ms), x2: x(ms), y1: top, y2: H - bottom, class: 'grid' }));
    svg.append(el('text', { x: x(ms), y: H - bottom + 16, 'text-anchor': 'middle', class: 'tick' }, label));
  }
  for (const share of [0, 0.5, 1]) svg.append(el('text', { x: left - 6, y: y(share) + 4, 'text-anchor': 'end', class: 'tick' }, share * 100 + '%'));
  data.rows.forEach((r, i) => {
    if (r.times.length === 0) return;
    const reached = r.delivered / r.messages;
    const points = r.times.map((t, k) => x(t).toFixed(1) + ',' + y((reached * (k + 1)) / r.times.length).toFixed(1));
    svg.append(el('polyline', { points: points.join(' '), fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 2, class: 'curve', 'data-label': r.label }));
    // The legend below the axis, one entry per strategy, in the table's order.
    svg.append(el('rect', { x: left + 180 * (i % 3), y: H - 36 + 16 * Math.floor(i / 3), width: 10, height: 10, fill: COLORS[i % COLORS.length] }));
    svg.append(el('text', { x: left + 14 + 180 * (i % 3), y: H - 27 + 16 * Math.floor(i / 3), class: 'legend' }, r.label));
  });
  document.getElementById(id).append(svg);
}
bars('spend', 'Spend over the period', data.rows.map((r) => ({ label: r.label, value: Number(r.spend) })), (v) => v.toFixed(2));
bars('delivered', 'Messages delivered', data.rows.map((r) => ({ label: r.label, value: r.messages === 0 ? 0 : r.delivered / r.messages })), (v) => (v * 100).toFixed(1) + '%');
curves('times', 'Share of messages delivered within a time');
document.body.dataset.rendered = 'true';
`;

/** A self-contained HTML report: the table, the figures as JSON, and charts drawn from them by an inline script. */
export function reportHtml(report: SimulateReport): string {
  const rows = report.rows.map((row) => `<tr data-strategy="${escape(row.strategy)}">${rowCells(row).map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('\n');
  // `<` escaped so no value can close the script element.
  const json = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cascade-router simulate: ${escape(report.input)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111827; }
table { border-collapse: collapse; margin: 1em 0 2em; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e5e7eb; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.chart { display: block; margin: 1em 0 2em; font-size: 12px; }
.chart .title { font-weight: 600; font-size: 14px; }
.chart .grid { stroke: #e5e7eb; }
.chart .tick, .chart .value { fill: #4b5563; }
</style>
</head>
<body>
<h1>What your history would have cost</h1>
<p>${escape(report.input)}: ${report.messages} messages to ${report.recipients} recipients, ${escape(report.period.from)} to ${escape(report.period.to)}.
Your current order: ${report.currentOrder.map(escape).join(' → ')}. Each strategy replays the period through cascade-router in simulated time.</p>
<table id="summary">
<thead><tr>${TABLE_HEADER.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<div id="spend"></div>
<div id="delivered"></div>
<div id="times"></div>
<script type="application/json" id="report-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
