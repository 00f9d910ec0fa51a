/**
 * Users' linked accounts in the console, in a real browser, with real parts
 * only: an OAuth authorization server (oidc-provider), an upstream that
 * requires its bearer tokens, and a gateway with gateway.credentials whose
 * users alice and bob link their accounts through the sign-in link an MCP
 * call gives them. A viewer sees the accounts (never a token) and cannot
 * revoke; an admin revokes alice's in the page, after which her next call
 * asks her to sign in again while bob's keeps working.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { startAuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { startBearerUpstream } from '../fixtures/servers/bearer-upstream.mjs';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { elicitationOf, signIn as linkAccount } from '../helpers/user-oauth.js';
import { artifactsDir, launchChromium, openPage } from './browser.js';

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789', ops: 'ops-key-0123456789', view: 'view-key-0123456789' };
const SCOPES: Record<string, string[]> = { ops: ['switchboard.admin'], view: ['switchboard.viewer'] };
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

let as: Awaited<ReturnType<typeof startAuthorizationServer>>;
let upstream: Awaited<ReturnType<typeof startBearerUpstream>>;
let stateDir: string;
let gw: RunningGateway;
let browser: Browser;
let page: Page;
let problems: string[];
let shots: string;
const clients: Record<string, LegacyClient> = {};

const base = () => `${gw.url}/console`;
const row = (principal: string) => page.locator('#accounts-list tbody tr').filter({ has: page.locator('td:first-child', { hasText: principal }) });

async function agent(name: 'alice' | 'bob'): Promise<LegacyClient> {
  const client = new LegacyClient({ name, version: '1' }, { capabilities: { elicitation: { url: {} } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${KEYS[name]}` } } }));
  clients[name] = client;
  return client;
}

/** The user's first call asks for the account; they link it in a browser (the AS's login and consent); the call then works. */
async function linkedBy(name: 'alice' | 'bob'): Promise<void> {
  const client = await agent(name);
  const elicitation = await elicitationOf(client.callTool({ name: 'crm__whoami', arguments: {} }));
  expect(await linkAccount(elicitation.url, name)).toContain('account is connected');
  expect(textOf(await client.callTool({ name: 'crm__whoami', arguments: {} }))).toBe(name);
}

async function consoleSignIn(key: string): Promise<void> {
  await page.goto(`${base()}/#accounts`);
  await page.locator('#apikey').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#page-accounts').waitFor();
}

beforeAll(async () => {
  shots = artifactsDir();
  as = await startAuthorizationServer({ users: ['alice', 'bob'] });
  upstream = await startBearerUpstream({ issuer: as.issuer, jwksUri: as.jwksUri });
  stateDir = mkdtempSync(path.join(tmpdir(), 'switchboard-console-accounts-'));
  [gw, browser] = await Promise.all([
    startGateway({
      mcpServers: { crm: { type: 'http', url: upstream.url } },
      gateway: {
        servers: { crm: { credentials: 'user-oauth', userOAuth: { clientId: as.clients.public.clientId } } },
        credentials: { key: 'test-credentials-key-0123456789abcdef', store: { type: 'file', path: path.join(stateDir, 'credentials.json') } },
        auth: { apiKeys: Object.entries(KEYS).map(([id, key]) => ({ id, sha256: hashKey(key), scopes: SCOPES[id] ?? [] })) },
        console: { enabled: true },
      },
    }),
    launchChromium(),
  ]);
  await linkedBy('alice');
  await linkedBy('bob');
  ({ page, problems } = await openPage(browser, { height: 720 }));
});

afterAll(async () => {
  await Promise.allSettled(Object.values(clients).map((c) => c.close()));
  await browser?.close();
  await gw?.close();
  await upstream?.close();
  await as?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('linked accounts in the console', () => {
  it('a viewer sees who linked which upstream account (the upstream subject, never a token) and gets no revoke button', async () => {
    await consoleSignIn(KEYS.view);
    await row('apikey:alice').waitFor();
    expect(await row('apikey:alice').locator('td').nth(1).textContent()).toBe('crm');
    expect(await row('apikey:bob').locator('td').nth(1).textContent()).toBe('crm');
    expect(await page.locator('#accounts-list button').count()).toBe(0);
    const shown = await page.locator('#accounts-list').textContent();
    for (const token of upstream.seenTokens) expect(shown).not.toContain(token);
    // The overview names the credential store and its health.
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.locator('#ov-gateway').textContent()).toMatch(/Credential store\s*up file/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#page-signin').waitFor();
  });

  it("an admin revokes alice's account in the page: her next call asks her to sign in again, bob's keeps working", async () => {
    await consoleSignIn(KEYS.ops);
    const revoke = page.getByRole('button', { name: 'Revoke apikey:alice on crm' });
    await revoke.waitFor();
    await shot('accounts.png');
    page.once('dialog', (dialog) => void dialog.accept());
    await revoke.click();
    await expect.poll(() => page.locator('#accounts-status').textContent()).toBe('Revoked apikey:alice on crm.');
    await expect.poll(() => row('apikey:alice').count()).toBe(0);
    expect(await row('apikey:bob').count()).toBe(1);

    // The store agrees, the gateway asks alice to link again, and bob is untouched.
    const listed = (await (await page.request.get(`${base()}/api/accounts`)).json()) as { accounts: { principal: string }[] };
    expect(listed.accounts.map((a) => a.principal)).toEqual(['apikey:bob']);
    const again = await elicitationOf(clients.alice!.callTool({ name: 'crm__whoami', arguments: {} }));
    expect(new URL(again.url).pathname).toBe('/oauth/start/crm');
    expect(textOf(await clients.bob!.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('bob');
    // Who revoked what is in the audit trail.
    expect(gw.audit.filter((r) => r.type === 'console' && r.action === 'revoke')).toEqual([
      expect.objectContaining({ principal: 'apikey:ops', subject: 'apikey:alice', server: 'crm', revoked: true }),
    ]);
    expect(problems).toEqual([]);
  });
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, name), fullPage: true });
}
