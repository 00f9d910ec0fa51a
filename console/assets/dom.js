/**
 * Small DOM helpers. Every piece of data reaches the page as text
 * (textContent or a text node): records carry caller-controlled strings.
 */

/** `el('td', { className: 'num', title: 'x' }, 'text', node)`: attributes are set as properties or attributes, children as text or nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className' || key === 'title' || key === 'tabIndex' || key === 'hidden') node[key] = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'object' ? child : String(child));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** A value as display text: '—' for nothing, JSON for objects. */
export function fmt(value) {
  if (value === undefined || value === null || value === '') return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function fmtNumber(value, digits = 0) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString(undefined, { maximumFractionDigits: digits }) : '—';
}

/** "12 s", "4 min", "3 h 5 min", "2 d" since an ISO time (or ms epoch); "in 4 min" for a time to come. */
export function ago(time, now = Date.now()) {
  const t = typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(t)) return '—';
  if (t - now > 1000) return `in ${ago(now, t)}`;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** A <time> element: "5 min ago" or "in 5 min", the full time as its datetime and title. */
export function timeAgo(time) {
  if (time === undefined || time === null) return '—';
  const iso = typeof time === 'number' ? new Date(time).toISOString() : String(time);
  const text = ago(time);
  return el('time', { datetime: iso, title: iso }, text === '—' || text.startsWith('in ') ? text : `${text} ago`);
}

/** A coloured badge; the colour comes from the value's class (`badge-ready`, `badge-deny`...). */
export function badge(value) {
  const text = fmt(value);
  return el('span', { className: `badge badge-${text.replace(/[^a-z0-9-]/gi, '').toLowerCase()}` }, text);
}

/**
 * A compact table. `columns`: [{ label, cell(row) → string | Node, num? }].
 * With no rows, a paragraph saying `empty` instead.
 */
export function table(columns, rows, { empty = 'None.', caption } = {}) {
  if (rows.length === 0) return el('p', { className: 'muted' }, empty);
  const head = el('tr', {}, ...columns.map((c) => el('th', { scope: 'col', className: c.num ? 'num' : undefined }, c.label)));
  const body = el(
    'tbody',
    {},
    ...rows.map((row) => el('tr', {}, ...columns.map((c) => el('td', { className: c.num ? 'num' : undefined }, cellValue(c.cell(row)))))),
  );
  return el('table', { className: 'rows' }, caption ? el('caption', { className: 'sr-only' }, caption) : null, el('thead', {}, head), body);
}

function cellValue(value) {
  return value instanceof Node ? value : fmt(value);
}

/** A definition list from [term, value] pairs (values as text or nodes). */
export function pairs(entries) {
  return el('dl', { className: 'pairs' }, ...entries.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, cellValue(value))]));
}

/** A policy decision's rule trace, folded: each rule looked at, its effect and what came of it. */
export function trace(entries) {
  if (!Array.isArray(entries) || entries.length === 0) return '—';
  return el(
    'details',
    {},
    el('summary', {}, `${entries.length} rule${entries.length === 1 ? '' : 's'}`),
    el(
      'ol',
      { className: 'trace' },
      ...entries.map((t) => el('li', {}, el('code', {}, fmt(t.ruleId)), ` ${fmt(t.effect)}: ${fmt(t.outcome)}`, t.detail ? ` (${fmt(t.detail)})` : null)),
    ),
  );
}
