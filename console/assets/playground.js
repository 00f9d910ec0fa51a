/**
 * Playground: a candidate policy file decided against a composed request
 * and replayed over the recent decisions, beside the policy in force.
 * Nothing is applied (the gateway only answers).
 */
import { ApiError, api } from './api.js';
import { $, badge, el, fmt, fmtNumber, pairs, table, trace } from './dom.js';

const form = $('playground-form');
const list = (value) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('pg-error');
  error.textContent = '';
  let body;
  try {
    body = requestBody(new FormData(form));
  } catch (problem) {
    error.textContent = problem.message;
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    render(await api('playground', { method: 'POST', body }));
  } catch (problem) {
    if (!(problem instanceof ApiError && problem.status === 401)) error.textContent = `Not decided: ${problem.message}`;
  } finally {
    button.disabled = false;
  }
});

export function show() {}

export function hide() {}

export function reset() {
  form.reset();
  $('pg-error').textContent = '';
  $('pg-result').replaceChildren();
}

function requestBody(fields) {
  const body = { policy: String(fields.get('policy') ?? '') };
  const server = String(fields.get('server') ?? '').trim();
  const tool = String(fields.get('tool') ?? '').trim();
  if (!server && !tool) return body;
  let args = {};
  const text = String(fields.get('args') ?? '').trim();
  if (text) {
    try {
      args = JSON.parse(text);
    } catch (problem) {
      throw new Error(`Arguments: not JSON (${problem.message})`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new Error('Arguments: a JSON object, such as { "text": "hello" }');
  }
  body.request = { server, tool, args };
  const id = String(fields.get('principal') ?? '').trim();
  if (id) body.request.principal = { id, groups: list(fields.get('groups')), scopes: list(fields.get('scopes')) };
  return body;
}

function render(result) {
  const nodes = [];
  if (result?.decision) {
    const rows = [
      { policy: 'In force', ...result.decision.current },
      { policy: 'Candidate', ...result.decision.candidate },
    ];
    nodes.push(
      el('h3', {}, 'The request'),
      table(
        [
          { label: 'Policy', cell: (d) => d.policy },
          { label: 'Decision', cell: (d) => badge(d.allowed ? 'allow' : 'deny') },
          { label: 'Rule', cell: (d) => d.ruleId },
          { label: 'Reason', cell: (d) => d.reason },
          { label: 'Trace', cell: (d) => trace(d.trace) },
        ],
        rows,
        { caption: 'The request, decided by the policy in force and by the candidate' },
      ),
    );
  }
  const recent = result?.recent ?? {};
  const c = recent.counts ?? {};
  nodes.push(
    el('h3', {}, 'Recent decisions, replayed'),
    pairs([
      ['Records', fmtNumber(c.records)],
      ['Re-decided', fmtNumber(c.reDecided)],
      ['Unchanged', fmtNumber(c.unchanged)],
      ['Newly denied', fmtNumber(c.newlyDenied)],
      ['Newly allowed', fmtNumber(c.newlyAllowed)],
      ['Not re-evaluable', fmtNumber(c.notReEvaluable)],
      ['Skipped', fmtNumber(c.skipped)],
    ]),
  );
  for (const [key, title] of [
    ['newlyDenied', 'Newly denied'],
    ['newlyAllowed', 'Newly allowed'],
  ]) {
    const groups = recent[key]?.byRule ?? [];
    if (groups.length === 0) continue;
    nodes.push(
      el('h3', {}, title),
      table(
        [
          { label: 'Candidate rule', cell: (g) => g.rule },
          { label: 'Was decided by', cell: (g) => g.originalRule },
          { label: 'Requests', cell: (g) => fmtNumber(g.count), num: true },
          { label: 'For example', cell: (g) => example(g.examples?.[0]) },
        ],
        groups,
        { caption: title },
      ),
    );
  }
  const notes = [...(result?.warnings ?? []).map((w) => `Warning: ${w?.message ?? fmt(w)}${w?.fix ? ` (${w.fix})` : ''}`), ...(recent.notes ?? [])];
  if (notes.length > 0) nodes.push(el('ul', { className: 'notes' }, ...notes.map((n) => el('li', {}, fmt(n)))));
  $('pg-result').replaceChildren(...nodes);
}

function example(e) {
  if (!e) return '—';
  return `${fmt(e.principal)} → ${fmt(e.server)} ${fmt(e.tool)}${e.detail ? `: ${e.detail}` : ''}`;
}
