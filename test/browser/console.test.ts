/**
 * The web console in a real browser (Debian's chromium through
 * playwright-core) against a real gateway in-process, as docs/console.md
 * describes it: the security headers and cookie, sign-in and sign-out, the
 * overview, the catalog (its filter, and as a principal sees it), the live
 * decision stream (a call by an MCP client shows up as a deny within a
 * second; filters, pause), the policy playground, linked accounts, CSRF.
 * Revoking real linked accounts is console-accounts.test.ts. Each page leaves a screenshot in
 * test/browser/artifacts/ (ignored by git).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacyWithHeaders } from '../helpers/clients.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { artifactsDir, launchChromium, openPage as newPage } from './browser.js';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const POLICY = `
rules:
  - id: no-echo
    description: Echo is off limits in this test.
    match: { servers: [ks], tools: [echo] }
    effect: deny
`;

function config(policies: string, consoleSettings: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies,
      auth: {
        apiKeys: [
          { id: 'ops', sha256: hashKey('ops-key'), scopes: ['switchboard.admin'] },
          { id: 'view', sha256: hashKey('view-key'), scopes: ['switchboard.viewer'] },
          { id: 'agent', sha256: hashKey('agent-key') },
        ],
      },
      // Every sign-in here comes from 127.0.0.1: room for all of them.
      console: { enabled: true, signInsPerMinute: 100, ...consoleSettings },
    },
  };
}

let dir: string;
let gw: RunningGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let agent: Client | undefined;
let shots: string;
/** Uncaught page errors and CSP violations: the page must cause none. */
let problems: string[] = [];

const base = () => `${gw.url}/console`;
const rows = () => page.locator('#decisions-body tr');
const rowWith = (text: string) => rows().filter({ hasText: text });

async function agentClient(): Promise<Client> {
  agent ??= await connectLegacyWithHeaders(gw.mcpUrl, { 'X-API-Key': 'agent-key' });
  return agent;
}

/** A tools/call by the agent; a refusal is an answer too (the test looks at the console, not at the result). */
async function call(name: string, args: Record<string, unknown>): Promise<void> {
  const client = await agentClient();
  await client.callTool({ name, arguments: args }).catch(() => undefined);
}

async function signIn(key: string): Promise<void> {
  await page.locator('#apikey').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, name), fullPage: true });
}

async function openPage(name: 'Overview' | 'Catalog' | 'Decisions' | 'Playground' | 'Accounts'): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name }).click();
  await expect.poll(() => page.locator(`#page-${name.toLowerCase()}`).isVisible()).toBe(true);
}

beforeAll(async () => {
  shots = artifactsDir();
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-console-'));
  writeFileSync(path.join(dir, 'ks.yaml'), POLICY);
  [gw, browser] = await Promise.all([startGateway(config(dir)), launchChromium()]);
  ({ context, page, problems } = await newPage(browser));
  // Fake timers that run in real time unless told otherwise: lets a test jump the 2 s refresh.
  await page.clock.install();
});

afterAll(async () => {
  await agent?.close();
  await browser?.close();
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the console in a browser', () => {
  it('serves the page, its assets and its API with the documented security headers', async () => {
    for (const url of [base(), `${base()}/`, `${base()}/assets/app.js`, `${base()}/api/session`]) {
      const res = await fetch(url);
      expect(res.headers.get('content-security-policy'), url).toBe(CSP);
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), url).toBe('no-referrer');
      if (url.endsWith('/api/session')) expect(res.status).toBe(401);
      else expect(res.status, url).toBe(200);
      await res.body?.cancel();
    }
    const asset = await fetch(`${base()}/assets/style.css`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/css/);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(await (await fetch(`${base()}/assets/nope.js`)).status).toBe(404);
  });

  it('opens at sign-in; a wrong key and a key without a console role show the error', async () => {
    await page.goto(`${base()}/`);
    await page.locator('#page-signin').waitFor();
    expect(await page.locator('#apikey').getAttribute('type')).toBe('password');
    expect(await page.locator('#apikey').getAttribute('autocomplete')).toBe('off');
    expect(await page.locator('#tabs').isVisible()).toBe(false);

    await signIn('wrong-key');
    await expect.poll(() => page.locator('#signin-error').textContent()).toMatch(/^Sign-in refused: .+/);
    expect(await page.locator('#page-overview').isVisible()).toBe(false);

    await signIn('agent-key');
    await expect.poll(() => page.locator('#signin-error').textContent()).toMatch(/^Sign-in refused: .*apikey:agent/);
    await shot('signin.png');
    expect(await page.locator('#page-signin').isVisible()).toBe(true);
  });

  it('signs in with a viewer key and shows the overview with upstream ks ready', async () => {
    await signIn('view-key');
    const ks = page.locator('#ov-upstreams tbody tr').filter({ hasText: 'ks' });
    await ks.locator('.badge-ready').waitFor();
    expect(await ks.locator('td').nth(0).textContent()).toBe('ks');
    expect(await page.locator('#principal').textContent()).toBe('apikey:view (viewer)');
    expect(await page.locator('#apikey').inputValue()).toBe('');
    expect(await page.locator('#signin-error').textContent()).toBe('');
    expect(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    // The CSRF token lives in memory only.
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
  });

  it('keeps the session in an HttpOnly, SameSite=Strict cookie scoped to the console', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'sb_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console', secure: false });
    expect(cookie?.value).not.toBe('');
    expect(await page.evaluate('document.cookie')).not.toContain('sb_console');
  });

  it('refreshes the overview every 2 s: new calls show up in the calls table', async () => {
    const total = () => page.locator('#ov-calls tbody tr').filter({ hasText: 'ks' }).locator('td').nth(1).textContent();
    // The page's timers run in real time; runFor only saves the wait for the next refresh.
    await call('ks__add', { a: 1, b: 2 });
    await page.clock.runFor(2_000);
    await expect.poll(total, { timeout: 5_000 }).toBe('1');
    await call('ks__echo', { text: 'denied' });
    await call('ks__add', { a: 2, b: 3 });
    await page.clock.runFor(2_000);
    await expect.poll(total, { timeout: 5_000 }).toBe('3');
    // The chart has a bar for the calls that passed and one for the denial; calls/s is stated.
    expect(await page.locator('#ov-chart svg rect.bar-ok').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#ov-chart svg rect.bar-denied').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#ov-chart svg').getAttribute('aria-label')).toMatch(/3 calls, 0 errors/);
    expect(await page.locator('#ov-rate').textContent()).toMatch(/^[\d.]+ calls\/s over the last minute$/);
    expect(await page.locator('#ov-config').textContent()).toContain('Reloads applied');
    await shot('overview.png');
  });

  it('stops refreshing while the browser tab is hidden, and refreshes at once when it shows again', async () => {
    let requests = 0;
    const count = (r: { url(): string }) => void (r.url().endsWith('/console/api/overview') && requests++);
    page.on('request', count);
    try {
      await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'))`);
      requests = 0;
      await page.clock.runFor(10_000);
      await page.evaluate(`fetch('api/session').then((r) => r.status)`);
      expect(requests).toBe(0);
      const refreshed = page.waitForRequest((r) => r.url().endsWith('/console/api/overview'), { timeout: 1_000 });
      await page.evaluate(`delete document.hidden; document.dispatchEvent(new Event('visibilitychange'))`);
      await refreshed;
    } finally {
      page.off('request', count);
    }
  });

  it('lists the catalog, and the filter narrows it', async () => {
    await openPage('Catalog');
    const entries = page.locator('#catalog-entries tbody tr');
    await entries.filter({ hasText: 'ks__add' }).first().waitFor();
    const all = await entries.count();
    expect(all).toBeGreaterThan(5);
    expect(await page.locator('#catalog-quarantined').textContent()).toContain('Nothing is quarantined');
    await shot('catalog.png');

    await page.getByLabel('Filter', { exact: true }).fill('ADD');
    await expect.poll(() => entries.count()).toBeLessThan(all);
    for (const text of await entries.allTextContents()) expect(text.toLowerCase()).toContain('add');
    expect(await entries.filter({ hasText: 'ks__add' }).count()).toBeGreaterThan(0);
    expect(await entries.filter({ hasText: 'ks__echo' }).count()).toBe(0);
    expect(await page.locator('#catalog-count').textContent()).toMatch(new RegExp(`^\\d+ of ${all} entries$`));

    await page.getByLabel('Filter', { exact: true }).fill('no-such-entry');
    await expect.poll(() => page.locator('#catalog-entries').textContent()).toBe('No entry matches the filter.');
    await page.getByLabel('Filter', { exact: true }).fill('');
    await expect.poll(() => entries.count()).toBe(all);
  });

  it('shows a denied call by an MCP client in the decision stream within a second, and its JSON on click', async () => {
    await openPage('Decisions');
    await expect.poll(() => page.locator('#decisions-status').textContent()).toMatch(/^Live/);
    await call('ks__echo', { text: 'hello' });
    const denied = rowWith('ks__echo').first();
    await denied.waitFor({ timeout: 1_000 });
    expect(await denied.locator('.badge-deny').textContent()).toBe('deny');
    expect(await denied.textContent()).toContain('no-echo');
    expect(await denied.textContent()).toContain('apikey:agent');

    await denied.click();
    await page.locator('#detail').waitFor();
    const record = JSON.parse((await page.locator('#detail-json').textContent()) ?? '');
    expect(record).toMatchObject({ principal: 'apikey:agent', server: 'ks', name: 'ks__echo', decision: 'deny', ruleId: 'no-echo', outcome: 'denied' });
    await page.getByRole('button', { name: 'Close' }).click();
    expect(await page.locator('#detail').isVisible()).toBe(false);
  });

  it('newest first; pause counts new records without showing them; resume shows the next ones', async () => {
    await call('ks__add', { a: 40, b: 2 });
    await expect.poll(() => rows().first().textContent()).toContain('ks__add');

    const before = await rows().count();
    await page.getByRole('button', { name: 'Pause' }).click();
    expect(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true');
    await call('ks__add', { a: 1, b: 1 });
    await call('ks__echo', { text: 'while paused' });
    await expect.poll(() => page.locator('#decisions-status').textContent()).toContain('paused, 2 not shown');
    expect(await rows().count()).toBe(before);

    await page.getByRole('button', { name: 'Resume' }).click();
    expect(await page.locator('#decisions-status').textContent()).not.toContain('paused');
    await call('ks__echo', { text: 'after resume' });
    await expect.poll(() => rows().count()).toBe(before + 1);
    expect(await rows().first().textContent()).toContain('ks__echo');
    await rows().first().click();
    await shot('decisions.png');
  });

  it('filters reconnect the stream with the filter applied by the gateway', async () => {
    const filters = page.locator('#decisions-filter');
    await filters.getByLabel('Principal').fill('apikey:agent');
    await filters.getByLabel('Effect').selectOption('allow');
    await expect.poll(() => page.locator('#decisions-status').textContent()).toMatch(/^Live/);
    expect(await rows().count()).toBe(0);
    await call('ks__echo', { text: 'filtered out' });
    await call('ks__add', { a: 5, b: 5 });
    await rowWith('ks__add').first().waitFor();
    expect(await rows().count()).toBe(1);

    await filters.getByLabel('Principal').fill('');
    await filters.getByLabel('Effect').selectOption('');
    await expect.poll(() => page.locator('#decisions-status').textContent()).toMatch(/^Live/);
  });

  it('says so when the gateway dropped records for a page that fell behind', async () => {
    // The gateway drops only for a reader that stops reading (1 MiB behind): the page is given such a stream.
    const record = { type: 'audit', time: new Date().toISOString(), principal: 'apikey:replayed', method: 'tools/call', decision: 'allow', outcome: 'ok' };
    const body = `retry: 600000\n\nevent: dropped\ndata: 7\n\nevent: record\ndata: ${JSON.stringify(record)}\n\n`;
    const pattern = '**/console/api/decisions*';
    await page.route(pattern, (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body }));
    try {
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.locator('#decisions-notice').filter({ hasText: 'dropped 7 records' }).waitFor();
      await rowWith('apikey:replayed').waitFor();
    } finally {
      await page.unroute(pattern);
    }
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('#decisions-status').textContent()).toMatch(/^Live/);
    expect(await page.locator('#decisions-notice').isVisible()).toBe(false);
  });

  it('shows caller-controlled strings as text, never as markup', async () => {
    const name = '<img src=x onerror="window.__pwned=1">';
    await call(name, {});
    await rowWith('<img src=x').first().waitFor();
    expect(await page.locator('#decisions-body img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
  });

  it('shows the catalog as a principal sees it, with the deciding rule and its trace', async () => {
    await openPage('Catalog');
    const who = page.locator('#catalog-who');
    await who.getByLabel('As principal').fill('apikey:agent');
    await who.getByRole('button', { name: 'Show what it sees' }).click();
    const entries = page.locator('#catalog-entries tbody tr');
    const echo = entries.filter({ hasText: 'ks__echo' });
    await echo.locator('.badge-hidden').waitFor();
    expect(await echo.textContent()).toContain('no-echo');
    await echo.locator('summary').click();
    expect(await echo.locator('ol.trace li').first().textContent()).toContain('no-echo');
    const add = entries.filter({ has: page.locator('code', { hasText: /^ks__add$/ }) });
    expect(await add.locator('.badge-visible').count()).toBe(1);
    expect(await page.locator('#catalog-count').textContent()).toMatch(/entries; \d+ visible to apikey:agent$/);

    await page.getByRole('button', { name: 'Everything' }).click();
    await expect.poll(() => page.locator('#catalog-count').textContent()).toMatch(/^\d+ entries$/);
    expect(await page.locator('#catalog-entries .badge-hidden').count()).toBe(0);
  });

  it('tries a candidate policy in the playground: the request decided both ways, the recent decisions replayed', async () => {
    await openPage('Playground');
    const form = page.locator('#playground-form');
    await form.getByLabel('Candidate policy file (YAML)').fill('rules:\n  - id: no-add\n    match: { servers: [ks], tools: [add] }\n    effect: deny\n');
    await form.getByLabel('Principal').fill('apikey:agent');
    await form.getByLabel('Server').fill('ks');
    await form.getByLabel('Tool (upstream name)').fill('add');
    await form.getByLabel('Arguments (JSON object)').fill('{ "a": 1, "b": 2 }');
    await form.getByRole('button', { name: 'Try it' }).click();
    const decided = page.locator('#pg-result tbody tr');
    await decided.first().waitFor();
    expect(await decided.nth(0).textContent()).toMatch(/^In force\s*allow/);
    expect(await decided.nth(1).textContent()).toMatch(/^Candidate\s*deny\s*no-add/);
    // The agent's earlier ks__add calls would now be denied.
    const newlyDenied = page.locator('#pg-result table').nth(1).locator('tbody tr');
    expect(await newlyDenied.first().textContent()).toMatch(/^no-add.*apikey:agent → ks add/);
    await shot('playground.png');

    await form.getByLabel('Candidate policy file (YAML)').fill('rules: [ { id: x, effect: maybe } ]');
    await form.getByRole('button', { name: 'Try it' }).click();
    await expect.poll(() => page.locator('#pg-error').textContent()).toMatch(/^Not decided: .+/);
    await form.getByLabel('Arguments (JSON object)').fill('{ not json');
    await form.getByRole('button', { name: 'Try it' }).click();
    await expect.poll(() => page.locator('#pg-error').textContent()).toMatch(/^Arguments: not JSON/);
  });

  it('says when linked accounts are off, and a viewer gets no revoke button', async () => {
    await openPage('Accounts');
    await expect.poll(() => page.locator('#accounts-list').textContent()).toContain('Linked accounts are off');
    // A viewer asking to revoke anyway is refused by the API (console-accounts.test.ts revokes real linked accounts).
    expect(await page.locator('#accounts-list button').count()).toBe(0);
  });

  it('refuses a state change without the CSRF token (403) and keeps the session', async () => {
    const url = `${base()}/api/session`;
    expect((await page.request.delete(url)).status()).toBe(403);
    expect((await page.request.delete(url, { headers: { 'X-CSRF-Token': 'not-the-token' } })).status()).toBe(403);
    // The page's own fetch, with the browser's Origin and cookie: still refused without the header.
    expect(await page.evaluate(`fetch('api/session', { method: 'DELETE' }).then((r) => r.status)`)).toBe(403);
    expect((await page.request.get(url)).status()).toBe(200);
    // The other writes too: the playground and revoking an account.
    expect((await page.request.post(`${base()}/api/playground`, { data: { policy: 'rules: []' } })).status()).toBe(403);
    const revoke = { principal: 'apikey:agent', server: 'ks' };
    expect((await page.request.delete(`${base()}/api/accounts`, { data: revoke })).status()).toBe(403);
    // With the token, a viewer still may not change anything.
    const { csrf, role } = (await (await page.request.get(url)).json()) as { csrf: string; role: string };
    expect(role).toBe('viewer');
    const asViewer = await page.request.delete(`${base()}/api/accounts`, { data: revoke, headers: { 'X-CSRF-Token': csrf } });
    expect(asViewer.status()).toBe(403);
    expect(await asViewer.json()).toEqual({ error: expect.any(String) });
    // Another site's page cannot sign in through the console either (the /mcp Origin check).
    expect((await page.request.post(url, { headers: { Origin: 'https://evil.example' }, data: { apiKey: 'view-key' } })).status()).toBe(403);
  });

  it('a reload keeps the session (GET api/session decides), and sign-out returns to sign-in', async () => {
    await page.reload();
    // Back on the page it showed (#accounts), without signing in again.
    await page.locator('#page-accounts').waitFor();
    expect(await page.locator('#page-signin').isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#page-signin').waitFor();
    expect(await page.locator('#tabs').isVisible()).toBe(false);
    expect((await context.cookies()).find((c) => c.name === 'sb_console')).toBeUndefined();
    expect((await page.request.get(`${base()}/api/session`)).status()).toBe(401);
    expect(await page.locator('#decisions-body tr').count()).toBe(0);
  });

  it('an admin key signs in as admin; a session ended elsewhere sends the page back to sign-in', async () => {
    await signIn('ops-key');
    await page.locator('#tabs').waitFor();
    expect(await page.locator('#principal').textContent()).toBe('apikey:ops (admin)');

    const { csrf } = (await (await page.request.get(`${base()}/api/session`)).json()) as { csrf: string };
    await openPage('Overview');
    // End the session from outside the page (same cookie, right token): the next refresh finds out.
    expect((await page.request.delete(`${base()}/api/session`, { headers: { 'X-CSRF-Token': csrf } })).status()).toBe(204);
    await page.clock.runFor(2_500);
    await page.locator('#page-signin').waitFor({ timeout: 5_000 });
    expect(await page.locator('#signin-error').textContent()).toContain('sign in again');
  });

  it('works at the configured path itself, without a trailing slash (/console)', async () => {
    const failed: string[] = [];
    const onResponse = (r: { status(): number; url(): string }) => void (r.status() >= 400 && failed.push(`${r.status()} ${new URL(r.url()).pathname}`));
    page.on('response', onResponse);
    try {
      await page.goto(base());
      const started = await page
        .locator('#page-signin')
        .waitFor({ timeout: 3_000 })
        .then(() => true)
        .catch(() => false);
      // The page's relative URLs (assets/app.js) resolve against the directory: /console needs a redirect to /console/.
      expect(started, `the page at ${new URL(base()).pathname} did not start; failed requests: ${failed.join(', ') || 'none'}`).toBe(true);
      await signIn('view-key');
      await page.locator('#ov-upstreams .badge-ready').waitFor();
    } finally {
      page.off('response', onResponse);
    }
  });

  it('works when mounted at another path (relative URLs only); a page that only streams notices the sign-in expire', async () => {
    const other = await startGateway(config(dir, { path: '/ops/console', sessionMs: 2_000 }));
    try {
      const tab = await context.newPage();
      tab.on('pageerror', (error) => void problems.push(`page error: ${error.message}`));
      await tab.goto(`${other.url}/ops/console/`);
      await tab.locator('#apikey').fill('view-key');
      await tab.getByRole('button', { name: 'Sign in' }).click();
      await tab.locator('#ov-upstreams .badge-ready').waitFor();
      expect((await context.cookies(`${other.url}/ops/console/`)).find((c) => c.name === 'sb_console')?.path).toBe('/ops/console');
      await tab.getByRole('link', { name: 'Decisions' }).click();
      await tab.locator('#decisions-status').filter({ hasText: 'Live' }).waitFor();
      await tab.locator('#page-signin').waitFor({ timeout: 5_000 });
      expect(await tab.locator('#signin-error').textContent()).toContain('sign in again');
      await tab.close();
    } finally {
      await other.close();
    }
  });

  it('caused no CSP violation and no script error', () => {
    expect(problems).toEqual([]);
  });
});
