/**
 * The chart for docs: cost per delivered message (y, log scale) against p95 time to delivery (x, log
 * scale), one point per strategy, the clairvoyant bound marked with its own shape and a dashed guide.
 * Both axes are logarithmic: the cascades sit within a few cents of each other and ten times below SMS.
 */
import { duration, type Figures } from './report.js';

const W = 720;
const H = 420;
const PAD = { left: 80, right: 30, top: 40, bottom: 60 };

export function svgChart(all: Readonly<Record<string, Figures>>, title: string, boundKey = 'clairvoyant'): string {
  const points = Object.entries(all).map(([key, f]) => ({ key, x: Math.max(1000, f.p95Ms), y: Number(f.costPerDelivered) }));
  const minYLog = Math.floor(Math.log10(Math.min(...points.map((p) => p.y)) || 0.001));
  const maxYLog = Math.ceil(Math.log10(Math.max(...points.map((p) => p.y))) + 0.01);
  const minLog = Math.floor(Math.log10(Math.min(...points.map((p) => p.x))));
  const maxLog = Math.ceil(Math.log10(Math.max(...points.map((p) => p.x))) + 0.01);
  const sx = (x: number): number => PAD.left + ((Math.log10(x) - minLog) / (maxLog - minLog)) * (W - PAD.left - PAD.right);
  const sy = (y: number): number => H - PAD.bottom - ((Math.log10(y) - minYLog) / (maxYLog - minYLog)) * (H - PAD.top - PAD.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="600">${escape(title)}</text>`,
  ];
  for (let e = minYLog; e <= maxYLog; e++) {
    for (const m of [1, 2, 5]) {
      const y = m * 10 ** e;
      if (y > 10 ** maxYLog) break;
      out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(y)}" y2="${sy(y)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`);
      out.push(`<text x="${PAD.left - 8}" y="${sy(y) + 4}" text-anchor="end" fill="#555">${y.toFixed(Math.max(0, -e))}</text>`);
    }
  }
  for (let e = minLog; e <= maxLog; e++) {
    const x = 10 ** e;
    out.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${sx(x)}" y="${H - PAD.bottom + 18}" text-anchor="middle" fill="#555">${duration(x)}</text>`);
  }
  out.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 15}" text-anchor="middle">p95 time to delivery (log scale)</text>`);
  out.push(`<text transform="translate(18 ${(PAD.top + H - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">cost per delivered message (USD, log scale)</text>`);
  const bound = points.find((p) => p.key === boundKey);
  if (bound) {
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(bound.y)}" y2="${sy(bound.y)}" stroke="#2a7" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${PAD.left + 4}" y="${sy(bound.y) + 16}" fill="#2a7">clairvoyant cost per delivered</text>`);
  }
  // Labels right of their points, pushed up past any label they would overlap.
  const placed: { x: number; y: number }[] = [];
  for (const p of [...points].sort((a, b) => sy(b.y) - sy(a.y))) {
    const cx = sx(p.x);
    const cy = sy(p.y);
    if (p.key === boundKey) {
      out.push(`<path d="M ${cx} ${cy - 8} L ${cx + 8} ${cy} L ${cx} ${cy + 8} L ${cx - 8} ${cy} Z" fill="#2a7"/>`);
    } else {
      out.push(`<circle cx="${cx}" cy="${cy}" r="6" fill="${p.key === 'costAware' || p.key === 'learned' ? '#d33' : '#36c'}"/>`);
    }
    let ly = cy + 4;
    while (placed.some((l) => Math.abs(l.y - ly) < 14 && Math.abs(l.x - (cx + 12)) < 110)) ly -= 14;
    placed.push({ x: cx + 12, y: ly });
    out.push(`<text x="${cx + 12}" y="${ly}" fill="#222">${escape(p.key)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
