/**
 * Console sign-in through the organisation's IdP (an oidc-provider fixture):
 * authorization code + PKCE, the access token verified by the gateway's own
 * JWT authenticator, a role from its scopes, and a state that is good once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAs, startAuthorizationServer, type AuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import path from 'node:path';

const RESOURCE = 'http://127.0.0.1/switchboard';
let as: AuthorizationServer;
let gw: RunningGateway;

beforeAll(async () => {
  as = await startAuthorizationServer({ users: ['alice'], scope: 'mcp switchboard.admin' });
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      auth: { jwt: { issuer: as.issuer, jwksUri: as.jwksUri, audience: RESOURCE } },
      console: { enabled: true, oidc: { clientId: as.clients.public.clientId, scopes: ['openid', 'switchboard.admin'], resource: RESOURCE } },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await as?.close();
});

async function start(): Promise<string> {
  const res = await fetch(`${gw.url}/console/oidc/start`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

describe('console sign-in through the IdP', () => {
  it('sends the browser to the IdP with PKCE (S256), a state and the gateway as the resource', async () => {
    const url = new URL(await start());
    expect(url.origin).toBe(as.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('resource')).toBe(RESOURCE);
    expect(url.searchParams.get('redirect_uri')).toBe(`${gw.url}/console/oidc/callback`);
  });

  it('comes back signed in: a console session for the IdP user, with the role its token scopes give', async () => {
    const callback = await authorizeAs(await start(), 'alice');
    const res = await fetch(callback, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sb_console=[\w-]+; Path=\/console; HttpOnly; SameSite=Strict/);
    const session = (await (await fetch(`${gw.url}/console/api/session`, { headers: { cookie: cookie.split(';')[0]! } })).json()) as Record<string, unknown>;
    expect(session).toMatchObject({ principal: `jwt:${as.issuer}#alice`, role: 'admin' });
    expect(gw.audit.some((r) => r.type === 'console' && r.action === 'sign-in' && r.principal === `jwt:${as.issuer}#alice`)).toBe(true);
  });

  it('a callback is good once, and one with an unknown state is refused: back to the page with the reason, no cookie', async () => {
    const callback = await authorizeAs(await start(), 'alice');
    const first = await fetch(callback, { redirect: 'manual' });
    expect(first.headers.get('location')).toBe('/console/');
    const refused = async (url: string | URL) => {
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('set-cookie')).toBeNull();
      return decodeURIComponent(/#signin-error=(.*)$/.exec(res.headers.get('location')!)![1]!);
    };
    expect(await refused(callback)).toContain('unknown or expired');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged');
    expect(await refused(forged)).toContain('unknown or expired');
    expect(await refused(`${gw.url}/console/oidc/callback?error=access_denied`)).toContain('sent no code');
  });
});
