/**
 * The console's Approvals page in a real browser, with real parts only: a
 * gateway whose policy makes `ks__add` (the kitchen-sink stdio fixture) wait
 * for a member of group sre, a 2025 SDK client calling as bob (group dev),
 * and Chromium signed in as sam (group sre, the approver) or as bob himself.
 *
 * - sam approves bob's waiting call in the page: the call gets its answer;
 * - bob sees his own call without buttons (waiting for group:sre); sam
 *   declines it in the page and bob's call is refused (-32015);
 * - a decision made elsewhere takes the row away at the next 3 s refresh, and
 *   pressing a button on a row decided meanwhile says so;
 * - signing out clears the page and the tab's count.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacyWithHeaders } from '../helpers/clients.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { artifactsDir, launchChromium, openPage } from './browser.js';

const POLICY = `
rules:
  - id: add-by-sre
    match: { servers: [ks], tools: [add] }
    effect: approve
    approvers: group:sre
    timeout: 30s
    message: "'Add ' + string(args.a) + ' and ' + string(args.b) + '?'"
`;

const KEYS = { bob: 'bob-key-0123456789', sam: 'sam-key-0123456789' };
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

interface Viewer {
  context: BrowserContext;
  page: Page;
  problems: string[];
  /** GET api/approvals requests not finished yet. */
  inFlight: Set<unknown>;
  /** POST api/approvals/<id> requests made. */
  decisions: string[];
}

let dir: string;
let gw: RunningGateway;
let browser: Browser;
let bob: LegacyClient;
let sam: Viewer;
let bobInConsole: Viewer;
let shots: string;

const base = () => `${gw.url}/console`;
const rowOf = (v: Viewer, message: string) => v.page.locator('#approvals-list tbody tr').filter({ hasText: message });
const cell = (row: ReturnType<typeof rowOf>, n: number) => row.locator(':scope > td').nth(n);
const approvalEvents = (event: string) => gw.audit.filter((r) => r.type === 'approval' && r.event === event);
const tab = (v: Viewer, name: string) => v.page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true });

/** The call's outcome, handled from the start: a refusal is never an unhandled rejection. */
function settle(promise: Promise<unknown>): Promise<{ text?: string; error?: { code: number; data?: Record<string, unknown> } }> {
  return promise.then(
    (result) => ({ text: textOf(result) }),
    (error: { code: number; data?: Record<string, unknown> }) => ({ error }),
  );
}

/** Bob calls ks__add; resolves once the gateway has opened the approval (the call waits), with the call's outcome to come. */
async function bobAdds(a: number, b: number): Promise<{ call: ReturnType<typeof settle> }> {
  const before = approvalEvents('requested').length;
  const call = settle(bob.callTool({ name: 'ks__add', arguments: { a, b } }));
  await expect.poll(() => approvalEvents('requested').length, { timeout: 5_000 }).toBe(before + 1);
  return { call };
}

async function viewer(): Promise<Viewer> {
  const v: Viewer = { ...(await openPage(browser, { width: 1400 })), inFlight: new Set(), decisions: [] };
  const { page } = v;
  const listing = (r: { url(): string; method(): string }) => r.method() === 'GET' && new URL(r.url()).pathname === '/console/api/approvals';
  page.on('request', (r) => {
    if (listing(r)) v.inFlight.add(r);
    if (r.method() === 'POST' && new URL(r.url()).pathname.startsWith('/console/api/approvals/')) v.decisions.push(r.postData() ?? '');
  });
  page.on('requestfinished', (r) => void v.inFlight.delete(r));
  page.on('requestfailed', (r) => void v.inFlight.delete(r));
  // Fake timers that run in real time unless told otherwise: a test may jump (or hold) the 3 s refresh.
  await page.clock.install();
  return v;
}

async function signIn(v: Viewer, key: string): Promise<void> {
  await v.page.goto(`${base()}/#approvals`);
  await v.page.locator('#apikey').fill(key);
  await v.page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => v.page.locator('#page-approvals').isVisible()).toBe(true);
}

/** The next refresh, now: the 3 s timer is jumped. */
async function refresh(v: Viewer): Promise<void> {
  await v.page.clock.runFor(3_000);
}

/** Stops the page's clock (no refresh runs) and waits for a refresh under way to finish. */
async function holdRefreshes(v: Viewer): Promise<void> {
  const now = (await v.page.evaluate('Date.now()')) as number;
  await v.page.clock.pauseAt(now + 10);
  await expect.poll(() => v.inFlight.size).toBe(0);
}

/** A decision made outside the page: the same session's JSON API, with its CSRF token. */
async function decideElsewhere(v: Viewer, message: string, decision: 'grant' | 'decline'): Promise<void> {
  const session = (await (await v.page.request.get(`${base()}/api/session`)).json()) as { csrf: string };
  const inbox = (await (await v.page.request.get(`${base()}/api/approvals`)).json()) as { approvals: { id: string; message: string }[] };
  const pending = inbox.approvals.find((a) => a.message === message);
  expect(pending, `pending approval "${message}"`).toBeDefined();
  const res = await v.page.request.post(`${base()}/api/approvals/${pending!.id}`, { headers: { 'x-csrf-token': session.csrf }, data: { decision } });
  expect(res.status()).toBe(200);
}

async function shot(v: Viewer, name: string): Promise<void> {
  await v.page.screenshot({ path: path.join(shots, name), fullPage: true });
}

beforeAll(async () => {
  shots = artifactsDir();
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-console-approvals-'));
  writeFileSync(path.join(dir, 'approvals.yaml'), POLICY);
  [gw, browser] = await Promise.all([
    startGateway({
      mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
      gateway: {
        policies: dir,
        auth: {
          apiKeys: [
            { id: 'bob', sha256: hashKey(KEYS.bob), groups: ['dev'], scopes: ['switchboard.viewer'] },
            { id: 'sam', sha256: hashKey(KEYS.sam), groups: ['sre'], scopes: ['switchboard.viewer'] },
          ],
        },
        console: { enabled: true, signInsPerMinute: 1_000 },
      },
    }),
    launchChromium(),
  ]);
  bob = await connectLegacyWithHeaders(gw.mcpUrl, { 'x-api-key': KEYS.bob }, {});
  [sam, bobInConsole] = await Promise.all([viewer(), viewer()]);
});

afterAll(async () => {
  await bob?.close();
  await browser?.close();
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('approvals in the console', () => {
  it('sam sees the call bob waits on, approves it in the page, and bob gets his answer', async () => {
    const { call } = await bobAdds(2, 3);
    await signIn(sam, KEYS.sam);
    expect(await sam.page.title()).toBe('Approvals · Switchboard console');
    const row = rowOf(sam, 'Add 2 and 3?');
    await row.waitFor();
    expect(await cell(row, 0).textContent()).toMatch(/^\d+ s ago$/);
    expect(await cell(row, 1).textContent()).toBe('apikey:bob');
    expect(await cell(row, 2).textContent()).toBe('ks__add (server ks)');
    expect(await cell(row, 3).textContent()).toBe('Add 2 and 3?');
    expect(await cell(row, 4).locator('pre').textContent()).toBe(JSON.stringify({ a: 2, b: 3 }, null, 2));
    expect(await cell(row, 5).textContent()).toBe('group:sre');
    expect(await cell(row, 6).textContent()).toBe('add-by-sre');
    expect(await cell(row, 7).textContent()).toMatch(/^in (2\d|30) s$/);
    // The tab counts the calls sam may decide.
    await tab(sam, 'Approvals (1)').waitFor();
    await shot(sam, 'approvals.png');

    const asked: string[] = [];
    sam.page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await sam.page.getByRole('button', { name: 'Approve ks__add for apikey:bob' }).click();
    await expect.poll(() => sam.page.locator('#approvals-status').textContent()).toBe('Approved ks__add for apikey:bob.');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('Approve this call of ks__add for apikey:bob?');
    expect(asked[0]).toContain('"a": 2');
    expect(await call).toEqual({ text: '5' });
    await expect.poll(() => row.count()).toBe(0);
    expect(await sam.page.locator('#approvals-list').textContent()).toBe('No call is waiting for approval.');
    await tab(sam, 'Approvals').waitFor();
    expect(approvalEvents('granted').at(-1)).toMatchObject({ by: 'apikey:sam', channel: 'console' });
    expect(sam.problems).toEqual([]);
  });

  it('bob sees his own call without buttons; sam declines it in the page and bob is refused', async () => {
    const { call } = await bobAdds(4, 5);
    await signIn(bobInConsole, KEYS.bob);
    const own = rowOf(bobInConsole, 'Add 4 and 5?');
    await own.waitFor();
    expect(await cell(own, 1).textContent()).toBe('apikey:bob');
    expect(await cell(own, 8).textContent()).toBe('waiting for group:sre');
    expect(await bobInConsole.page.locator('#approvals-list button').count()).toBe(0);
    // Nothing bob may decide: the tab has no count.
    await tab(bobInConsole, 'Approvals').waitFor();
    await shot(bobInConsole, 'approvals-own-call.png');

    // Sam's page shows the new call at its next refresh.
    const row = rowOf(sam, 'Add 4 and 5?');
    await refresh(sam);
    await row.waitFor();
    await tab(sam, 'Approvals (1)').waitFor();
    const decline = sam.page.getByRole('button', { name: 'Decline ks__add for apikey:bob' });
    const posted = sam.decisions.length;
    // Cancelling the dialog decides nothing.
    sam.page.once('dialog', (dialog) => void dialog.dismiss());
    await decline.click();
    sam.page.once('dialog', (dialog) => void dialog.accept());
    await decline.click();
    await expect.poll(() => sam.page.locator('#approvals-status').textContent()).toBe('Declined ks__add for apikey:bob.');
    expect(sam.decisions.slice(posted)).toEqual([JSON.stringify({ decision: 'decline' })]);
    const { error } = await call;
    expect(error?.code).toBe(-32015);
    expect(error?.data).toMatchObject({ code: 'APPROVAL_DECLINED', by: 'apikey:sam' });
    await expect.poll(() => row.count()).toBe(0);
    // Bob's page drops the row at its next refresh.
    await refresh(bobInConsole);
    await expect.poll(() => own.count(), { timeout: 2_000 }).toBe(0);
    expect(await bobInConsole.page.locator('#approvals-list').textContent()).toBe('No call is waiting for approval.');
    expect([...sam.problems, ...bobInConsole.problems]).toEqual([]);
  });

  it('a decision made elsewhere takes the row away at the next refresh', async () => {
    const { call } = await bobAdds(6, 7);
    const row = rowOf(sam, 'Add 6 and 7?');
    await refresh(sam);
    await row.waitFor();
    await holdRefreshes(sam);
    try {
      await decideElsewhere(sam, 'Add 6 and 7?', 'grant');
      expect(await call).toEqual({ text: '13' });
      // No refresh yet: the page still shows it.
      expect(await row.count()).toBe(1);
      await refresh(sam);
      await expect.poll(() => row.count(), { timeout: 2_000 }).toBe(0);
      await tab(sam, 'Approvals').waitFor();
    } finally {
      await sam.page.clock.resume();
    }
    expect(sam.problems).toEqual([]);
  });

  it('pressing a button on a row decided meanwhile says it was decided already, and the row goes', async () => {
    const { call } = await bobAdds(8, 9);
    const row = rowOf(sam, 'Add 8 and 9?');
    await refresh(sam);
    await row.waitFor();
    await holdRefreshes(sam);
    try {
      await decideElsewhere(sam, 'Add 8 and 9?', 'decline');
      expect((await call).error?.code).toBe(-32015);
      expect(await row.count()).toBe(1);
      sam.page.once('dialog', (dialog) => void dialog.accept());
      await sam.page.getByRole('button', { name: 'Approve ks__add for apikey:bob' }).click();
      await expect
        .poll(() => sam.page.locator('#approvals-status').textContent())
        .toBe('Not approved: ks__add for apikey:bob was already decided, or it expired.');
      await expect.poll(() => row.count()).toBe(0);
    } finally {
      await sam.page.clock.resume();
    }
    expect(sam.problems).toEqual([]);
  });

  it('signing out clears the page and the tab count', async () => {
    const { call } = await bobAdds(10, 11);
    await refresh(sam);
    await tab(sam, 'Approvals (1)').waitFor();
    await sam.page.getByRole('button', { name: 'Sign out' }).click();
    await sam.page.locator('#page-signin').waitFor();
    expect(await sam.page.locator('#approvals-list').textContent()).toBe('');
    expect(await sam.page.locator('#approvals-status').textContent()).toBe('');
    expect(await sam.page.locator('#approvals-count').textContent()).toBe('');
    // Signed in again, the page shows the call and its count at once.
    await signIn(sam, KEYS.sam);
    await tab(sam, 'Approvals (1)').waitFor();
    await sam.page.getByRole('button', { name: 'Approve ks__add for apikey:bob' }).waitFor();
    sam.page.once('dialog', (dialog) => void dialog.accept());
    await sam.page.getByRole('button', { name: 'Approve ks__add for apikey:bob' }).click();
    expect(await call).toEqual({ text: '21' });
    expect([...sam.problems, ...bobInConsole.problems]).toEqual([]);
  });
});
