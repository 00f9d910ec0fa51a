/**
 * Catalog: the entries (with a substring filter) and the quarantined entries;
 * for a principal named in the form, whether it sees each entry and which rule decides.
 */
import { ApiError, api } from './api.js';
import { $, badge, el, fmt, table, trace } from './dom.js';

const form = $('catalog-who');
let data = { entries: [], quarantined: [] };
let loaded = false;

$('catalog-filter').addEventListener('input', render);
$('catalog-refresh').addEventListener('click', load);
form.addEventListener('submit', (event) => {
  event.preventDefault();
  load();
});
$('catalog-everyone').addEventListener('click', () => {
  form.reset();
  load();
});

export function show() {
  if (!loaded) load();
}

export function hide() {}

export function reset() {
  data = { entries: [], quarantined: [] };
  loaded = false;
  $('catalog-filter').value = '';
  form.reset();
  $('catalog-entries').replaceChildren();
  $('catalog-quarantined').replaceChildren();
  $('catalog-count').textContent = '';
  $('catalog-who-error').textContent = '';
}

/**
 * A pasted token is decoded here and only its claims are sent: its signature
 * never leaves the page (the claims are not verified; they only say what such
 * a token would see).
 */
function claimsOf(text) {
  const parts = text.split('.');
  if (text.startsWith('{') || parts.length !== 3) return text;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  } catch {
    throw new Error('Claims: neither JSON nor a JWT');
  }
}

function query() {
  const params = new URLSearchParams();
  const fields = new FormData(form);
  const claims = String(fields.get('claims') ?? '').trim();
  if (claims) {
    params.set('claims', claimsOf(claims));
    return `?${params}`;
  }
  const principal = String(fields.get('principal') ?? '').trim();
  if (!principal) return '';
  params.set('principal', principal);
  for (const key of ['groups', 'scopes']) {
    const list = String(fields.get(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.length > 0) params.set(key, list.join(','));
  }
  return `?${params}`;
}

async function load() {
  $('catalog-count').textContent = 'Loading…';
  try {
    const answer = await api(`catalog${query()}`);
    $('catalog-who-error').textContent = '';
    data = { principal: answer?.principal, entries: answer?.entries ?? [], quarantined: answer?.quarantined ?? [] };
    loaded = true;
    render();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    $('catalog-count').textContent = 'Catalog not loaded.';
    $('catalog-who-error').textContent = error.message;
  }
}

function matches(entry, needle) {
  if (!needle) return true;
  return [entry.server, entry.exposed, entry.original].some((v) => typeof v === 'string' && v.toLowerCase().includes(needle));
}

function render() {
  const needle = $('catalog-filter').value.trim().toLowerCase();
  const entries = data.entries.filter((e) => matches(e, needle));
  const quarantined = data.quarantined.filter((e) => matches(e, needle));
  const who = data.principal;
  const visible = who ? `; ${data.entries.filter((e) => e.visible).length} visible to ${who}` : '';
  $('catalog-count').textContent = `${needle ? `${entries.length} of ` : ''}${data.entries.length} entries${visible}`;
  const columns = [
    { label: 'Kind', cell: (e) => e.kind },
    { label: 'Server', cell: (e) => e.server },
    { label: 'Exposed', cell: (e) => el('code', {}, fmt(e.exposed)) },
    { label: 'Original', cell: (e) => e.original },
  ];
  if (who) {
    columns.push(
      { label: `Seen by ${who}`, cell: (e) => badge(e.visible ? 'visible' : 'hidden') },
      { label: 'Rule', cell: (e) => e.ruleId },
      { label: 'Reason', cell: (e) => e.reason },
      { label: 'Trace', cell: (e) => trace(e.trace) },
    );
  } else {
    columns.push({ label: 'Read-only', cell: (e) => (e.readOnly ? 'yes' : 'no') });
  }
  $('catalog-entries').replaceChildren(
    table(columns, entries, { empty: needle ? 'No entry matches the filter.' : 'The catalog is empty.', caption: 'Catalog entries' }),
  );
  $('catalog-quarantined').replaceChildren(
    table(
      [
        { label: 'Kind', cell: (e) => e.kind },
        { label: 'Server', cell: (e) => e.server },
        { label: 'Exposed', cell: (e) => el('code', {}, fmt(e.exposed)) },
        { label: 'Original', cell: (e) => e.original },
        { label: 'Reason', cell: (e) => badge(e.reason) },
        { label: 'Drifted', cell: (e) => (Array.isArray(e.drifted) ? e.drifted.join(', ') : e.drifted) },
      ],
      quarantined,
      { empty: 'Nothing is quarantined.', caption: 'Quarantined entries' },
    ),
  );
}
