/**
 * The overview's calls chart: one bar per time bucket (calls), its errors and
 * denials stacked in their colours, as SVG built through the DOM (no inline
 * style: the CSP forbids it; colours come from style.css classes).
 */
import { el } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 80;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** `rates`: { bucketSeconds, perSecond, buckets: [{ t, calls, errors, denied }] } from /api/overview. */
export function callsChart(rates) {
  const buckets = Array.isArray(rates?.buckets) ? rates.buckets : [];
  const peak = Math.max(1, ...buckets.map((b) => b.calls));
  const step = buckets.length > 0 ? WIDTH / buckets.length : WIDTH;
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label(rates, buckets) });
  buckets.forEach((b, i) => {
    const x = i * step + 1;
    const width = Math.max(1, step - 2);
    const bar = (value, below, className) => {
      if (value <= 0) return;
      const height = (value / peak) * (HEIGHT - 2);
      const rect = svg('rect', { x, y: HEIGHT - below - height, width, height, class: className });
      const title = svg('title');
      title.textContent = `${new Date(b.t).toLocaleTimeString()}: ${b.calls} calls, ${b.errors} errors, ${b.denied} denied`;
      rect.append(title);
      chart.append(rect);
    };
    const scale = (v) => (v / peak) * (HEIGHT - 2);
    const ok = b.calls - b.errors - b.denied;
    bar(ok, 0, 'bar-ok');
    bar(b.denied, scale(ok), 'bar-denied');
    bar(b.errors, scale(ok + b.denied), 'bar-error');
  });
  const seconds = (buckets.length * (rates?.bucketSeconds ?? 10)) / 60;
  return [chart, el('figcaption', { className: 'muted' }, `Last ${seconds} min, ${rates?.bucketSeconds ?? 10} s per bar; peak ${peak} calls`)];
}

function label(rates, buckets) {
  const calls = buckets.reduce((n, b) => n + b.calls, 0);
  const errors = buckets.reduce((n, b) => n + b.errors, 0);
  return `Calls over the last minutes: ${calls} calls, ${errors} errors, ${rates?.perSecond ?? 0} calls/s now`;
}
