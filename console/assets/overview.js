/** Overview: upstreams, calls, policy, sessions, audit; refreshed every 2 s while shown and the tab is visible. */
import { ApiError, api } from './api.js';
import { callsChart } from './chart.js';
import { $, badge, el, fmt, fmtNumber, pairs, table, timeAgo } from './dom.js';
import { refresher } from './refresher.js';

const page = refresher(2000, async (shown) => {
  try {
    const data = await api('overview');
    if (shown()) render(data);
    setBanner('');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) setBanner(`Overview not refreshed: ${error.message}`);
  }
});

export const show = page.show;
export const hide = page.hide;

export function reset() {
  hide();
  for (const id of ['ov-upstreams', 'ov-chart', 'ov-rate', 'ov-calls', 'ov-policy', 'ov-config', 'ov-sessions', 'ov-audit', 'ov-gateway', 'ov-contracts'])
    $(id).replaceChildren();
  $('overview-meta').textContent = '';
}

function setBanner(text) {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = !text;
}

function render(o) {
  $('overview-meta').textContent = `version ${fmt(o.version)} · updated ${new Date().toLocaleTimeString()}`;
  $('ov-upstreams').replaceChildren(upstreams(listOf(o.upstreams)));
  $('ov-rate').textContent = typeof o.rates?.perSecond === 'number' ? `${fmtNumber(o.rates.perSecond, 2)} calls/s over the last minute` : '';
  $('ov-chart').replaceChildren(...callsChart(o.rates));
  $('ov-calls').replaceChildren(calls(o.calls ?? {}));
  $('ov-policy').replaceChildren(...policy(o.policy ?? {}));
  $('ov-config').replaceChildren(...config(o.config ?? {}));
  $('ov-sessions').replaceChildren(sessions(o.sessions, o.sessionConnections));
  $('ov-audit').replaceChildren(audit(o.audit ?? {}));
  const conflicts = Array.isArray(o.conflicts) ? o.conflicts.length : o.conflicts;
  $('ov-gateway').replaceChildren(
    pairs([
      ['Status', badge(o.status)],
      ['Started', timeAgo(o.startedAt)],
      ['Rate-limit store', stateOf(o.rateLimitStore)],
      ...(o.credentialStore ? [['Credential store', el('span', {}, badge(o.credentialStore.state), ` ${fmt(o.credentialStore.type)}`)]] : []),
      ['Name conflicts', conflicts > 0 ? el('span', { className: 'error-text', title: fmt(o.conflicts) }, fmtNumber(conflicts)) : fmtNumber(conflicts)],
      ['Profiles', Array.isArray(o.profiles) ? fmtNumber(o.profiles.length) : fmt(o.profiles)],
    ]),
  );
  const hasContracts = o.contracts !== undefined && o.contracts !== null;
  $('ov-contracts-box').hidden = !hasContracts;
  $('ov-contracts').replaceChildren(hasContracts ? contracts(o.contracts) : '');
}

/** The upstreams as a list (an object keyed by name is accepted too). */
function listOf(upstreams) {
  if (Array.isArray(upstreams)) return upstreams;
  if (upstreams && typeof upstreams === 'object') return Object.entries(upstreams).map(([name, u]) => ({ name, ...u }));
  return [];
}

function upstreams(list) {
  return table(
    [
      { label: 'Name', cell: (u) => u.name },
      { label: 'State', cell: (u) => badge(u.state) },
      { label: 'Since', cell: (u) => timeAgo(u.since) },
      { label: 'Transport', cell: (u) => u.transport },
      { label: 'Wire', cell: (u) => u.wire },
      { label: 'Error', cell: (u) => errorClass(u.error) },
      { label: 'Restarts', cell: (u) => fmtNumber(u.restarts), num: true },
      { label: 'Tools', cell: (u) => fmtNumber(u.tools), num: true },
      { label: 'Prompts', cell: (u) => fmtNumber(u.prompts), num: true },
      { label: 'Resources', cell: (u) => fmtNumber(u.resources), num: true },
    ],
    list,
    { empty: 'No upstreams configured.', caption: 'Upstreams' },
  );
}

/** The error is a class (a string), or an object naming one. */
function errorClass(error) {
  if (error === undefined || error === null) return '—';
  if (typeof error === 'object') return el('span', { className: 'error-text' }, fmt(error.class ?? error.kind ?? error.code ?? error));
  return el('span', { className: 'error-text' }, String(error));
}

function calls(byServer) {
  const rows = Object.entries(byServer).map(([server, c]) => ({ server, ...c }));
  return table(
    [
      { label: 'Server', cell: (c) => c.server },
      { label: 'Calls', cell: (c) => fmtNumber(c.total), num: true },
      { label: 'Calls/s', cell: (c) => fmtNumber(c.perSecond, 2), num: true },
      { label: 'Errors', cell: (c) => (c.errors > 0 ? el('span', { className: 'error-text' }, fmtNumber(c.errors)) : fmtNumber(c.errors)), num: true },
      { label: 'Denied', cell: (c) => fmtNumber(c.denied), num: true },
      { label: 'p50 ms', cell: (c) => fmtNumber(c.p50Ms, 1), num: true },
      { label: 'p99 ms', cell: (c) => fmtNumber(c.p99Ms, 1), num: true },
    ],
    rows,
    { empty: 'No calls yet.', caption: 'Calls per server' },
  );
}

function policy(p) {
  const nodes = [
    pairs([
      ['Rules', fmtNumber(p.rules)],
      ['Files', fmtNumber(p.files)],
      ['Generation', fmtNumber(p.generation)],
      ['Last reload', p.reloadedAt ? timeAgo(p.reloadedAt) : 'none since start'],
      ['Version', typeof p.version === 'string' ? el('code', { title: p.version }, p.version.replace(/^sha256:/, '').slice(0, 12)) : fmt(p.version)],
    ]),
  ];
  if (p.stale) {
    const s = typeof p.stale === 'object' ? p.stale : { reason: p.stale };
    nodes.push(
      el(
        'p',
        { className: 'warning' },
        'Stale: a reload was refused, the last good policies stay in force',
        s.since ? el('span', {}, ' since ', timeAgo(s.since)) : null,
        s.reason ? `: ${fmt(s.reason)}` : '.',
      ),
    );
  }
  return nodes;
}

/** The configuration file's reloads; a refused one stays shown until a reload is applied. */
function config(c) {
  const nodes = [
    pairs([
      ['Reloads applied', fmtNumber(c.generation)],
      ['Last reload', c.reloadedAt ? timeAgo(c.reloadedAt) : 'none since start'],
    ]),
  ];
  if (c.refused) {
    nodes.push(
      el(
        'p',
        { className: 'warning' },
        'Refused: the last reload had ',
        fmtNumber(c.refused.issues),
        ' issue(s) (see the log); the configuration in force stays',
        c.refused.since ? el('span', {}, ', since ', timeAgo(c.refused.since)) : null,
        '.',
      ),
    );
  }
  return nodes;
}

/** Open sessions by transport/era ({ "streamable-http/legacy": 2 }), or a plain count. */
function sessions(s, connections) {
  const entries = s && typeof s === 'object' ? Object.entries(s) : [];
  const total = s && typeof s === 'object' ? entries.reduce((sum, [, n]) => sum + (typeof n === 'number' ? n : 0), 0) : s;
  const rows = [['Open', fmtNumber(total)], ...entries.map(([kind, n]) => [kind, typeof n === 'number' ? fmtNumber(n) : fmt(n)])];
  if (connections !== undefined) rows.push(['Per-session connections', fmtNumber(connections)]);
  return pairs(rows);
}

function audit(a) {
  return pairs([
    ['State', badge(a.state)],
    ['Queued', a.queuedBytes === undefined ? '—' : `${fmtNumber(a.queuedBytes)} bytes`],
    ['Dropped', a.dropped > 0 ? el('span', { className: 'error-text' }, fmtNumber(a.dropped)) : fmtNumber(a.dropped)],
    ...(a.error ? [['Error', el('span', { className: 'error-text' }, fmt(a.error))]] : []),
  ]);
}

function stateOf(value) {
  if (value && typeof value === 'object') return badge(value.state ?? value.status ?? (value.ok === false ? 'down' : 'ok'));
  return value === undefined ? '—' : badge(value);
}

function contracts(c) {
  if (typeof c !== 'object') return pairs([['Quarantined', fmt(c)]]);
  const quarantined = Array.isArray(c.quarantined) ? c.quarantined.length : c.quarantined;
  const entries = [['Quarantined', quarantined > 0 ? el('span', { className: 'error-text' }, fmtNumber(quarantined)) : fmtNumber(quarantined)]];
  if (c.pinned !== undefined) entries.push(['Pinned', Array.isArray(c.pinned) ? fmtNumber(c.pinned.length) : fmt(c.pinned)]);
  if (c.generation !== undefined) entries.push(['Generation', fmtNumber(c.generation)]);
  if (c.lock !== undefined) entries.push(['Lock', fmt(c.lock)]);
  const nodes = [pairs(entries)];
  if (c.stale) nodes.push(el('p', { className: 'warning' }, `Stale: ${fmt(typeof c.stale === 'object' ? (c.stale.reason ?? c.stale) : c.stale)}`));
  return el('div', {}, ...nodes);
}
