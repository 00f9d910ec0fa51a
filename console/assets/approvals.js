/**
 * Approvals: every call waiting for a person's yes (an `approve` policy rule),
 * oldest first, refreshed every 3 s while shown and the tab is visible. A row
 * the signed-in principal may decide (a named approver, never of their own
 * call) has Approve and Decline; the others say whom they wait for. The tab
 * shows how many the viewer may decide, as of the last refresh.
 */
import { ApiError, api } from './api.js';
import { $, el, fmt, table, timeAgo } from './dom.js';
import { refresher } from './refresher.js';

/** The longest arguments text put into the confirm dialog. */
const CONFIRM_ARGS_MAX = 600;

const status = $('approvals-status');
const list = $('approvals-list');
const count = $('approvals-count');
/** Bumped at sign-out: an answer to a request made before it is dropped. */
let generation = 0;
/** The latest list request: an older answer arriving later is not shown. */
let latest = 0;
/** Whether the status line shows a refresh failure (cleared by the next refresh that works). */
let failed = false;

const page = refresher(3000, () => load());

export const show = page.show;
export const hide = page.hide;

export function reset() {
  hide();
  generation++;
  failed = false;
  status.textContent = '';
  list.replaceChildren();
  setCount(0);
}

/** Fetches the pending approvals and shows them (and the tab's count), unless signed out or overtaken meanwhile. */
async function load() {
  const asOf = generation;
  const seq = ++latest;
  try {
    const answer = await api('approvals');
    if (asOf !== generation || seq !== latest) return;
    const approvals = Array.isArray(answer?.approvals) ? answer.approvals : [];
    setCount(approvals.filter((a) => a.mayDecide === true).length);
    if (failed) {
      failed = false;
      status.textContent = '';
    }
    render(approvals);
  } catch (error) {
    if (asOf !== generation || seq !== latest) return;
    if (!(error instanceof ApiError && error.status === 401)) {
      failed = true;
      status.textContent = `Approvals not refreshed: ${error.message}`;
    }
  }
}

/** "Approvals (2)" on the tab: the approvals this viewer may decide; nothing when there are none. */
function setCount(n) {
  count.textContent = n > 0 ? ` (${n})` : '';
  count.hidden = n === 0;
}

function render(approvals) {
  // A refresh replaces the buttons: the one that had the focus gets it back.
  const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? document.activeElement.dataset : null;
  const columns = [
    { label: 'Asked', cell: (a) => timeAgo(a.createdAt) },
    { label: 'Caller', cell: (a) => a.principal },
    { label: 'Tool', cell: (a) => el('span', {}, el('code', {}, fmt(a.exposed)), el('span', { className: 'muted' }, ` (server ${fmt(a.server)})`)) },
    { label: 'Message', cell: (a) => el('span', { className: 'approval-message' }, fmt(a.message)) },
    { label: 'Arguments', cell: (a) => el('pre', { className: 'approval-args' }, argumentsText(a.arguments)) },
    { label: 'Approvers', cell: (a) => approversText(a.approvers, ', ') },
    { label: 'Rule', cell: (a) => el('code', {}, fmt(a.ruleId)) },
    { label: 'Expires', cell: (a) => timeAgo(a.expiresAt) },
    {
      label: 'Decision',
      cell: (a) => (a.mayDecide === true ? decisionButtons(a) : el('span', { className: 'muted' }, `waiting for ${approversText(a.approvers, ' or ')}`)),
    },
  ];
  list.replaceChildren(table(columns, approvals, { empty: 'No call is waiting for approval.', caption: 'Calls waiting for approval, oldest first' }));
  if (focused?.approval) {
    for (const button of list.querySelectorAll('button')) {
      if (button.dataset.approval === focused.approval && button.dataset.decision === focused.decision) button.focus();
    }
  }
}

function argumentsText(args) {
  if (args === undefined) return '—';
  try {
    return JSON.stringify(args, null, 2);
  } catch {
    return fmt(args);
  }
}

function approversText(approvers, separator) {
  return Array.isArray(approvers) && approvers.length > 0 ? approvers.map(fmt).join(separator) : '—';
}

const VERBS = {
  grant: { button: 'Approve', done: 'Approved', not: 'Not approved' },
  decline: { button: 'Decline', done: 'Declined', not: 'Not declined' },
};

function decisionButtons(approval) {
  const what = `${fmt(approval.exposed)} for ${fmt(approval.principal)}`;
  const buttons = ['grant', 'decline'].map((decision) =>
    el(
      'button',
      {
        type: 'button',
        className: `decide decide-${decision}`,
        'aria-label': `${VERBS[decision].button} ${what}`,
        'data-approval': approval.id,
        'data-decision': decision,
      },
      VERBS[decision].button,
    ),
  );
  for (const button of buttons) button.addEventListener('click', () => decide(approval, button.dataset.decision, what, buttons));
  return el('span', { className: 'decide-buttons' }, ...buttons);
}

async function decide(approval, decision, what, buttons) {
  const verb = VERBS[decision];
  let args = argumentsText(approval.arguments);
  if (args.length > CONFIRM_ARGS_MAX) args = `${args.slice(0, CONFIRM_ARGS_MAX)}…`;
  const question =
    decision === 'grant'
      ? `Approve this call of ${what}? It goes to server ${fmt(approval.server)} with exactly these arguments:\n\n${args}`
      : `Decline this call of ${what}? The caller gets a refusal and nothing is sent to server ${fmt(approval.server)}.`;
  if (!window.confirm(`${question}\n\n${fmt(approval.message)}`)) return;
  const asOf = generation;
  for (const button of buttons) button.disabled = true;
  try {
    await api(`approvals/${encodeURIComponent(approval.id)}`, { method: 'POST', body: { decision } });
    if (asOf !== generation) return;
    failed = false;
    status.textContent = `${verb.done} ${what}.`;
  } catch (error) {
    if (asOf !== generation || (error instanceof ApiError && error.status === 401)) return;
    failed = false;
    if (error instanceof ApiError && (error.status === 404 || error.status === 409))
      status.textContent = `${verb.not}: ${what} was already decided, or it expired.`;
    else status.textContent = `${verb.not}: ${error.message}`;
    for (const button of buttons) button.disabled = false;
  }
  await load();
}
