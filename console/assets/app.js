/**
 * The console page: sign-in, then its pages as hash routes (#overview,
 * #catalog, #decisions, #approvals, #playground, #accounts). The session is
 * a HttpOnly cookie; its CSRF token is kept in memory only. No framework, no build step.
 */
import * as accounts from './accounts.js';
import { ApiError, api, onUnauthorized, setSession } from './api.js';
import * as approvals from './approvals.js';
import * as catalog from './catalog.js';
import * as decisions from './decisions.js';
import { $ } from './dom.js';
import * as overview from './overview.js';
import * as playground from './playground.js';

const pages = { overview, catalog, decisions, approvals, playground, accounts };
const titles = { overview: 'Overview', catalog: 'Catalog', decisions: 'Decisions', approvals: 'Approvals', playground: 'Playground', accounts: 'Accounts' };
let session = null;
let current = '';
let expiry = 0;
/** Whether the gateway offers sign-in through the organisation's IdP: the last 401 from the API says (`oidc`). */
let oidc = null;

onUnauthorized((error) => {
  noteOidc(error);
  showSignin('Your sign-in has ended (it expired, or the session was closed): sign in again.');
});
window.addEventListener('hashchange', route);

function showOnly(id) {
  for (const section of document.querySelectorAll('main > .page')) section.hidden = section.id !== id;
  $('loading').hidden = true;
}

function noteOidc(error) {
  if (error instanceof ApiError && error.status === 401 && typeof error.data?.oidc === 'boolean') oidc = error.data.oidc;
}

/** The IdP link, relative to where the console is mounted (/console/ or /console → /console/oidc/start). */
function showOidc() {
  $('signin-idp').href = `${location.pathname.replace(/\/+$/, '')}/oidc/start`;
  $('signin-oidc').hidden = oidc !== true;
  $('signin-key-hint').hidden = oidc === true;
}

/** Not known yet (the page opened signed in, and only other API calls answered 401 since): GET session tells. */
function learnOidc() {
  api('session', { quiet: true }).then(
    () => {},
    (error) => {
      noteOidc(error);
      if (!session) showOidc();
    },
  );
}

function showSignin(message = '') {
  session = null;
  setSession(null);
  clearTimeout(expiry);
  if (current) pages[current].hide();
  current = '';
  for (const page of Object.values(pages)) page.reset();
  $('tabs').hidden = true;
  $('who').hidden = true;
  $('banner').hidden = true;
  $('principal').textContent = '';
  document.title = 'Sign in · Switchboard console';
  showOidc();
  if (oidc === null) learnOidc();
  showOnly('page-signin');
  $('signin-error').textContent = message;
  $(oidc === true ? 'signin-idp' : 'apikey').focus();
}

function showApp(s) {
  session = s;
  setSession(s);
  $('principal').textContent = `${s?.principal ?? '?'} (${s?.role ?? '?'})`;
  $('signin-error').textContent = '';
  $('tabs').hidden = false;
  $('who').hidden = false;
  watchExpiry(s?.expiresAt);
  route();
}

/** At the session's end, ask the gateway: a page that only streams decisions would otherwise not notice. */
function watchExpiry(expiresAt) {
  clearTimeout(expiry);
  const at = Date.parse(expiresAt);
  if (!Number.isFinite(at)) return;
  const wait = Math.min(Math.max(at - Date.now(), 0) + 1000, 2 ** 31 - 1);
  expiry = setTimeout(async () => {
    try {
      const s = await api('session');
      session = s;
      setSession(s);
      watchExpiry(s?.expiresAt);
    } catch (error) {
      noteOidc(error);
      if (!(error instanceof ApiError && error.status === 401)) expiry = setTimeout(() => watchExpiry(expiresAt), 30_000);
    }
  }, wait);
}

function route() {
  if (!session) return;
  const wanted = location.hash.replace(/^#/, '');
  const name = Object.hasOwn(pages, wanted) ? wanted : 'overview';
  if (name === current) return;
  if (current) pages[current].hide();
  current = name;
  showOnly(`page-${name}`);
  for (const link of $('tabs').querySelectorAll('a')) {
    if (link.dataset.page === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${titles[name]} · Switchboard console`;
  pages[name].show();
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('apikey');
  const button = event.currentTarget.querySelector('button');
  const apiKey = input.value.trim();
  if (!apiKey) {
    $('signin-error').textContent = 'Enter an API key.';
    return;
  }
  button.disabled = true;
  $('signin-error').textContent = '';
  try {
    const s = await api('session', { method: 'POST', body: { apiKey }, quiet: true });
    input.value = '';
    showApp(s);
  } catch (error) {
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    $('signin-error').textContent = refused ? `Sign-in refused: ${error.message}` : `Sign-in failed: ${error.message}`;
    input.select();
  } finally {
    button.disabled = false;
  }
});

$('signout').addEventListener('click', async () => {
  try {
    await api('session', { method: 'DELETE', quiet: true });
  } catch (error) {
    // Already signed out (401) is as good as signed out; anything else leaves the session as it is.
    if (!(error instanceof ApiError && error.status === 401)) {
      $('banner').textContent = `Sign-out failed: ${error.message}`;
      $('banner').hidden = false;
      return;
    }
  }
  showSignin();
});

/** A sign-in through the IdP that failed comes back as #signin-error=<message>: shown once, then cleared. */
function signinErrorFromIdp() {
  const prefix = '#signin-error=';
  if (!location.hash.startsWith(prefix)) return '';
  const message = decodeURIComponent(location.hash.slice(prefix.length));
  history.replaceState(null, '', location.pathname + location.search);
  return `Sign-in through your organisation failed: ${message}`;
}

const idpError = signinErrorFromIdp();
try {
  showApp(await api('session', { quiet: true }));
} catch (error) {
  noteOidc(error);
  showSignin(idpError || (error instanceof ApiError && error.status === 401 ? '' : error.message));
}
