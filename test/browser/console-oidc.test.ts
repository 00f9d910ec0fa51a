/**
 * Console sign-in through the organisation's IdP, in a real browser: the
 * sign-in page offers "Sign in with your organisation" when GET api/session
 * says `oidc: true`; the link goes to <console>/oidc/start, Chromium follows
 * the IdP (an oidc-provider fixture that logs in `defaultUser` and consents
 * without showing a page) and comes back to /console/ signed in as the IdP
 * user, admin by the token's scope. A gateway without console.oidc shows no
 * such button. Screenshots: test/browser/artifacts/signin-idp-button.png
 * (the sign-in page) and signin-oidc.png (back, signed in).
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { startAuthorizationServer, type AuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { artifactsDir, launchChromium, openPage } from './browser.js';

const RESOURCE = 'http://127.0.0.1/switchboard';

let as: AuthorizationServer;
let gw: RunningGateway;
let plain: RunningGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let shots: string;

beforeAll(async () => {
  shots = artifactsDir();
  as = await startAuthorizationServer({ users: ['alice'], defaultUser: 'alice', scope: 'mcp switchboard.admin' });
  [gw, plain, browser] = await Promise.all([
    startGateway({
      mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
      gateway: {
        auth: { jwt: { issuer: as.issuer, jwksUri: as.jwksUri, audience: RESOURCE } },
        console: { enabled: true, oidc: { clientId: as.clients.public.clientId, scopes: ['openid', 'switchboard.admin'], resource: RESOURCE } },
      },
    }),
    startGateway({
      mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
      gateway: {
        auth: { apiKeys: [{ id: 'view', sha256: hashKey('view-key'), scopes: ['switchboard.viewer'] }] },
        console: { enabled: true },
      },
    }),
    launchChromium(),
  ]);
  ({ context, page, problems } = await openPage(browser, { timeoutMs: 10_000 }));
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await plain?.close();
  await as?.close();
});

const idpButton = () => page.getByRole('link', { name: 'Sign in with your organisation' });

describe('console sign-in through the IdP, in a browser', () => {
  it('offers no IdP button when the gateway has no console.oidc, only the API-key form', async () => {
    await page.goto(`${plain.url}/console/`);
    await page.locator('#page-signin').waitFor();
    await expect.poll(() => page.locator('#apikey').isVisible()).toBe(true);
    expect(await page.locator('#signin-oidc').isHidden()).toBe(true);
    expect(await idpButton().count()).toBe(0);
  });

  it('shows "Sign in with your organisation" (a same-window link to oidc/start) beside the API-key form', async () => {
    await page.goto(`${gw.url}/console/`);
    await page.locator('#page-signin').waitFor();
    await idpButton().waitFor();
    expect(await page.locator('#apikey').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await idpButton().getAttribute('target')).toBeNull();
    await page.screenshot({ path: path.join(shots, 'signin-idp-button.png'), fullPage: true });
    expect(await idpButton().evaluate((a) => (a as unknown as { href: string }).href)).toBe(`${gw.url}/console/oidc/start`);
  });

  it('follows the IdP and comes back to /console/ signed in as the IdP user, with role admin', async () => {
    const before = as.logins.length;
    const hops: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) hops.push(frame.url());
    });
    await idpButton().click();
    await page.waitForURL(`${gw.url}/console/`);
    await page.locator('#page-overview').waitFor();
    const principal = `jwt:${as.issuer}#alice`;
    await expect.poll(() => page.locator('#principal').textContent()).toBe(`${principal} (admin)`);
    expect(await page.locator('#tabs').isVisible()).toBe(true);
    expect(await page.locator('#page-signin').isVisible()).toBe(false);
    await page.locator('#ov-upstreams tbody tr').filter({ hasText: 'ks' }).locator('.badge-ready').waitFor();
    await page.screenshot({ path: path.join(shots, 'signin-oidc.png'), fullPage: true });

    // The IdP logged alice in and consented, without a page; the gateway audited the sign-in.
    expect(as.logins.slice(before).map((l) => [l.user, l.step])).toEqual([
      ['alice', 'login'],
      ['alice', 'consent'],
    ]);
    expect(gw.audit.some((r) => r.type === 'console' && r.action === 'sign-in' && r.principal === principal)).toBe(true);
    // The session is the HttpOnly cookie: the page never held a token.
    const cookies = await context.cookies(`${gw.url}/console/`);
    expect(cookies.find((c) => c.name === 'sb_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(hops.some((url) => url.startsWith(as.issuer))).toBe(false); // redirects only: no IdP page was shown
  });

  it("shows the catalog as a pasted token's claims see it; the token's signature never leaves the page", async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Catalog' }).click();
    await page.locator('#catalog-entries tbody tr').first().waitFor();
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${part({ alg: 'RS256' })}.${part({ iss: as.issuer, sub: 'bob', groups: ['eng'] })}.SIGNATURE-PART`;
    const asked: string[] = [];
    const listener = (request: { url(): string }) => void (request.url().includes('/api/catalog') && asked.push(request.url()));
    page.on('request', listener);
    try {
      const form = page.locator('#catalog-who');
      await form.getByLabel("Or a JWT's claims").fill(token);
      await form.getByRole('button', { name: 'Show what it sees' }).click();
      await expect.poll(() => page.locator('#catalog-count').textContent()).toMatch(new RegExp(`visible to jwt:${as.issuer}#bob$`));
      expect(asked.at(-1)).toContain('claims=');
      expect(asked.join(' ')).not.toContain('SIGNATURE-PART');
      await form.getByLabel("Or a JWT's claims").fill('{ "groups": ["eng"] }');
      await form.getByRole('button', { name: 'Show what it sees' }).click();
      await expect.poll(() => page.locator('#catalog-who-error').textContent()).toMatch(/claims: .*"sub"/);
    } finally {
      page.off('request', listener);
    }
  });

  it('signs out back to the page with the IdP button', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#page-signin').waitFor();
    await idpButton().waitFor();
    expect(problems).toEqual([]);
  });

  it('a sign-in the IdP callback refused comes back to the page with the reason shown, and the address cleaned', async () => {
    // A callback whose state this gateway never issued (a replayed or forged one).
    await page.goto(`${gw.url}/console/oidc/callback?code=x&state=forged`);
    await expect.poll(() => page.locator('#signin-error').textContent()).toContain('unknown or expired');
    expect(new URL(page.url()).hash).toBe('');
    await idpButton().waitFor();
    expect(problems).toEqual([]);
  });
});
