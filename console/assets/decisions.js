/**
 * Decisions: a live table fed by the audit stream (Server-Sent Events),
 * newest first, at most MAX_ROWS rows. Filters reconnect the stream; while
 * paused, records are counted and not shown; a click on a row shows its JSON.
 */
import { api, apiUrl } from './api.js';
import { $, badge, el, fmt, fmtNumber } from './dom.js';

const MAX_ROWS = 500;
const RETRY_MS = 3000;

const body = $('decisions-body');
const status = $('decisions-status');
const pauseButton = $('decisions-pause');
const records = new WeakMap();
let source = null;
let retry = 0;
let paused = false;
let held = 0;
let dropped = 0;
let queue = [];
let flushTimer = 0;
let selected = null;

$('decisions-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  clearRows();
  connect();
});
$('decisions-filter').addEventListener('change', (event) => {
  if (event.target instanceof HTMLSelectElement) $('decisions-filter').requestSubmit();
});
pauseButton.addEventListener('click', () => setPaused(!paused));
$('decisions-clear').addEventListener('click', clearRows);
$('detail-close').addEventListener('click', () => {
  const row = selected;
  select(null);
  row?.focus();
});
body.addEventListener('click', (event) => {
  const row = event.target instanceof Element ? event.target.closest('tr') : null;
  if (row) select(row);
});
body.addEventListener('keydown', (event) => {
  if ((event.key === 'Enter' || event.key === ' ') && event.target instanceof HTMLTableRowElement) {
    event.preventDefault();
    select(event.target);
  }
});

/** The stream runs from the first visit until sign-out, so the table stays complete while other pages are shown. */
export function show() {
  if (!source) connect();
}

export function hide() {}

export function reset() {
  disconnect();
  clearRows();
  setPaused(false);
  $('decisions-filter').reset();
  setStatus('');
}

function query() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($('decisions-filter'))) {
    if (typeof value === 'string' && value.trim() !== '') params.set(key, value.trim());
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function connect() {
  disconnect();
  setStatus('Connecting…');
  const es = new EventSource(apiUrl(`decisions${query()}`));
  source = es;
  es.addEventListener('open', () => {
    if (source === es) setStatus('Live');
  });
  es.addEventListener('record', (event) => {
    if (source !== es) return;
    let record;
    try {
      record = JSON.parse(event.data);
    } catch {
      return;
    }
    if (paused) {
      held++;
      setStatus();
      return;
    }
    queue.unshift(record);
    if (queue.length > MAX_ROWS) queue.length = MAX_ROWS;
    if (!flushTimer) flushTimer = setTimeout(flush, 40);
  });
  es.addEventListener('dropped', (event) => {
    if (source !== es) return;
    const n = Number.parseInt(event.data, 10);
    dropped += Number.isFinite(n) && n > 0 ? n : 1;
    const notice = $('decisions-notice');
    notice.textContent = `The gateway dropped ${fmtNumber(dropped)} record${dropped === 1 ? '' : 's'} for this page: it fell behind the stream.`;
    notice.hidden = false;
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CONNECTING) return void setStatus('Reconnecting…');
    // Closed for good (the session ended, or the stream was refused): find out which.
    disconnect();
    setStatus('Disconnected');
    api('session').then(
      () => {
        retry = setTimeout(connect, RETRY_MS);
        setStatus(`Disconnected; retrying in ${RETRY_MS / 1000} s`);
      },
      () => {},
    );
  });
}

function disconnect() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
}

function setPaused(value) {
  paused = value;
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  pauseButton.setAttribute('aria-pressed', String(paused));
  if (!paused) held = 0;
  setStatus();
}

let connection = '';
function setStatus(text) {
  if (text !== undefined) connection = text;
  const parts = [connection];
  if (connection) parts.push(`${fmtNumber(body.rows.length)} shown`);
  if (paused) parts.push(`paused, ${fmtNumber(held)} not shown`);
  status.textContent = parts.filter(Boolean).join(' · ');
}

function flush() {
  flushTimer = 0;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const fragment = document.createDocumentFragment();
  for (const record of batch) fragment.append(row(record));
  body.prepend(fragment);
  while (body.rows.length > MAX_ROWS) {
    const last = body.lastElementChild;
    if (last === selected) select(null);
    last.remove();
  }
  $('decisions-empty').hidden = true;
  setStatus();
}

function row(r) {
  const reason = r.reason ?? r.error;
  const time = typeof r.time === 'string' ? new Date(r.time) : null;
  const tr = el(
    'tr',
    { tabIndex: 0, className: r.decision === 'deny' ? 'denied' : undefined },
    el('td', {}, time && !Number.isNaN(time.getTime()) ? el('time', { datetime: r.time, title: r.time }, time.toLocaleTimeString([], { hour12: false })) : '—'),
    el('td', {}, fmt(r.principal)),
    el('td', {}, fmt(r.method ?? r.type)),
    el('td', {}, fmt(r.server)),
    el('td', {}, el('code', {}, fmt(r.name))),
    el('td', {}, badge(r.decision)),
    el('td', {}, fmt(r.ruleId)),
    el('td', {}, badge(r.outcome)),
    el('td', {}, fmt(r.code)),
    el('td', { className: 'num' }, fmtNumber(r.latencyMs, 1)),
    el('td', { className: 'reason', title: typeof reason === 'string' ? reason : undefined }, fmt(reason)),
  );
  records.set(tr, r);
  return tr;
}

function select(tr) {
  if (selected) {
    selected.classList.remove('selected');
    selected.removeAttribute('aria-current');
  }
  selected = tr;
  const panel = $('detail');
  if (!tr) {
    panel.hidden = true;
    return;
  }
  tr.classList.add('selected');
  tr.setAttribute('aria-current', 'true');
  $('detail-json').textContent = JSON.stringify(records.get(tr), null, 2);
  panel.hidden = false;
}

function clearRows() {
  queue = [];
  clearTimeout(flushTimer);
  flushTimer = 0;
  select(null);
  body.replaceChildren();
  held = 0;
  dropped = 0;
  $('decisions-notice').hidden = true;
  $('decisions-empty').hidden = false;
  setStatus();
}
