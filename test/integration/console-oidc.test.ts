/**
 * Console sign-in through the organisation's IdP (an oidc-provider fixture):
 * authorization code + PKCE, the access token verified by the gateway's own
 * JWT authenticator, a role from its scopes, and a state that is good once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAs, startAuthorizationServer, type AuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RESOURCE = 'http://127.0.0.1/switchboard';
let as: AuthorizationServer;
let gw: RunningGateway;
let policies: string;

beforeAll(async () => {
  as = await startAuthorizationServer({ users: ['alice'], scope: 'mcp switchboard.admin' });
  policies = mkdtempSync(path.join(tmpdir(), 'switchboard-console-oidc-'));
  writeFileSync(
    path.join(policies, 'eng.yaml'),
    'rules:\n  - id: echo-eng-only\n    match: { servers: [ks], tools: [echo] }\n    when: "!(\'eng\' in principal.groups)"\n    effect: deny\n',
  );
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies,
      auth: { jwt: { issuer: as.issuer, jwksUri: as.jwksUri, audience: RESOURCE } },
      console: { enabled: true, oidc: { clientId: as.clients.public.clientId, scopes: ['openid', 'switchboard.admin'], resource: RESOURCE } },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await as?.close();
  if (policies) rmSync(policies, { recursive: true, force: true });
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

describe("the catalog as a JWT's claims see it", () => {
  let cookie: string;
  beforeAll(async () => {
    const res = await fetch(await authorizeAs(await start(), 'alice'), { redirect: 'manual' });
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  });
  const catalogAs = async (claims: string) => {
    const res = await fetch(`${gw.url}/console/api/catalog?${new URLSearchParams({ claims })}`, { headers: { cookie } });
    return {
      status: res.status,
      body: (await res.json()) as { principal?: string; entries?: { exposed: string; visible: boolean; ruleId?: string }[]; error?: string },
    };
  };
  const echo = (body: { entries?: { exposed: string; visible: boolean; ruleId?: string }[] }) => body.entries!.find((e) => e.exposed === 'ks__echo')!;

  it("maps pasted claims as a verified token's are mapped (id, groups) and decides as its lists would be", async () => {
    const eng = await catalogAs(JSON.stringify({ iss: as.issuer, sub: 'bob', groups: ['eng'] }));
    expect(eng.status).toBe(200);
    expect(eng.body.principal).toBe(`jwt:${as.issuer}#bob`);
    expect(echo(eng.body).visible).toBe(true);
    const other = await catalogAs(JSON.stringify({ sub: 'carol', groups: 'sales' }));
    expect(other.body.principal).toBe(`jwt:${as.issuer}#carol`);
    expect(echo(other.body)).toMatchObject({ visible: false, ruleId: 'echo-eng-only' });
  });

  it('claims it cannot use are a 400 naming the problem: not JSON, not an object, another issuer, no id', async () => {
    for (const [claims, message] of [
      ['{ not json', /claims: not JSON/],
      ['["sub"]', /claims: a JSON object is needed/],
      [JSON.stringify({ iss: 'https://elsewhere.example', sub: 'x' }), /accepts tokens from/],
      [JSON.stringify({ groups: ['eng'] }), /claims: .*"sub"/],
    ] as const) {
      const { status, body } = await catalogAs(claims);
      expect(status, claims.slice(0, 40)).toBe(400);
      expect(body.error).toMatch(message);
    }
  });
});
