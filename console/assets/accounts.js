/** Accounts: users' linked upstream accounts (never a token); an admin may revoke one. */
import { ApiError, api, isAdmin } from './api.js';
import { $, el, fmt, table, timeAgo } from './dom.js';

const form = $('accounts-form');
const status = $('accounts-status');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  load();
});

export function show() {
  load();
}

export function hide() {}

export function reset() {
  form.reset();
  status.textContent = '';
  $('accounts-list').replaceChildren();
}

async function load(message = '') {
  const principal = $('accounts-principal').value.trim();
  status.textContent = 'Loading…';
  try {
    const answer = await api(`accounts${principal ? `?${new URLSearchParams({ principal })}` : ''}`);
    status.textContent = message;
    render(answer ?? {});
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) status.textContent = `Accounts not loaded: ${error.message}`;
  }
}

function render({ enabled, accounts = [] }) {
  if (!enabled) {
    $('accounts-list').replaceChildren(
      el('p', { className: 'muted' }, 'Linked accounts are off: the gateway keeps no user credentials (gateway.credentials).'),
    );
    return;
  }
  const columns = [
    { label: 'Principal', cell: (a) => a.principal },
    { label: 'Server', cell: (a) => a.server },
    { label: 'Upstream subject', cell: (a) => a.subject },
    { label: 'Obtained', cell: (a) => timeAgo(a.obtainedAt) },
    { label: 'Expires', cell: (a) => timeAgo(a.expiresAt) },
    { label: 'Refreshable', cell: (a) => (a.refreshable ? 'yes' : 'no') },
  ];
  if (isAdmin()) columns.push({ label: 'Action', cell: revokeButton });
  $('accounts-list').replaceChildren(table(columns, accounts, { empty: 'No linked accounts.', caption: 'Linked accounts' }));
}

function revokeButton(account) {
  const who = `${fmt(account.principal)} on ${fmt(account.server)}`;
  const button = el('button', { type: 'button', 'aria-label': `Revoke ${who}` }, 'Revoke');
  button.addEventListener('click', async () => {
    if (!window.confirm(`Revoke the linked account of ${who}? Its connections to the server close; the user must sign in to the server again.`)) return;
    button.disabled = true;
    try {
      await api('accounts', { method: 'DELETE', body: { principal: account.principal, server: account.server } });
      await load(`Revoked ${who}.`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) await load(`Nothing to revoke for ${who} (already gone).`);
      else if (!(error instanceof ApiError && error.status === 401)) status.textContent = `Not revoked: ${error.message}`;
      button.disabled = false;
    }
  });
  return button;
}
