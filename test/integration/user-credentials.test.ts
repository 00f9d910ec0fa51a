/**
 * Users' own upstream accounts, end to end with real parts only: an OAuth
 * authorization server (oidc-provider), an MCP upstream that requires bearer
 * JWTs and answers with the token's subject, the gateway in front, and SDK
 * clients of both eras.
 *
 * credentials "user-oauth": each principal authorises once through the
 * gateway's sign-in link (URL-mode elicitation), the upstream then sees that
 * person; tokens are refreshed, revocable, survive a restart and are stored
 * encrypted. A link's start page names the gateway identity the account goes
 * to, and the sign-in is bound to the browser that pressed Continue: the
 * tests play browsers (cookie jars) to show an attacker's authorization URL
 * links nothing in a victim's. credentials "token-exchange": the caller's JWT is exchanged
 * (RFC 8693) for one whose audience is the upstream, and never reaches it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { authorizeAs, startAuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { startBearerUpstream } from '../fixtures/servers/bearer-upstream.mjs';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { browse, continueSignIn, elicitationOf, errorCode, principalOfKey, principalShown, signIn, startPage, type Browser } from '../helpers/user-oauth.js';

type AuthServer = Awaited<ReturnType<typeof startAuthorizationServer>>;
type Upstream = Awaited<ReturnType<typeof startBearerUpstream>>;

/** A gateway identity whose name is HTML, to see it escaped. */
const EVE = '<i>eve</i> & "co"';
const KEYS = {
  alice: 'alice-key-0123456789',
  bob: 'bob-key-0123456789',
  carol: 'carol-key-0123456789',
  dave: 'dave-key-0123456789',
  mallory: 'mallory-key-0123456789',
  [EVE]: 'eve-key-0123456789',
};
const CREDENTIALS_KEY = 'test-credentials-key-0123456789abcdef';
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;
/** `switchboard_caller_credentials_total` for server crm, from a /metrics scrape. */
const counter = (metrics: string, event: string, outcome: string) =>
  Number(new RegExp(`^switchboard_caller_credentials_total\\{server="crm",event="${event}",outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);

let as: AuthServer;
let upstream: Upstream;
let stateDir: string;

function userOAuthConfig(): Record<string, unknown> {
  return {
    mcpServers: { crm: { type: 'http', url: upstream.url } },
    gateway: {
      servers: { crm: { credentials: 'user-oauth', userOAuth: { clientId: as.clients.public.clientId } } },
      credentials: { key: CREDENTIALS_KEY, store: { type: 'file', path: path.join(stateDir, 'credentials.json') } },
      auth: { apiKeys: Object.entries(KEYS).map(([id, key]) => ({ id, sha256: hashKey(key), scopes: [], groups: [] })) },
    },
  };
}

async function legacyClient(gw: RunningGateway, key: string, urlElicitation = true): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'legacy', version: '1' }, { capabilities: urlElicitation ? { elicitation: { url: {} } } : {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

beforeAll(async () => {
  as = await startAuthorizationServer({ accessTokenTtlS: 3, users: ['alice', 'bob', 'carol', 'dave'] });
  upstream = await startBearerUpstream({ issuer: as.issuer, jwksUri: as.jwksUri });
  stateDir = mkdtempSync(path.join(tmpdir(), 'switchboard-credentials-'));
});
afterAll(async () => {
  await upstream?.close();
  await as?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('credentials "user-oauth"', () => {
  let gw: RunningGateway;
  const clients: LegacyClient[] = [];
  beforeAll(async () => {
    gw = await startGateway(userOAuthConfig());
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
  });

  it('asks an unauthorised caller to sign in with a URL elicitation whose link works; then the upstream sees that person', async () => {
    const alice = await legacyClient(gw, KEYS.alice);
    clients.push(alice);
    expect((await alice.listTools()).tools.filter((t) => t.name.startsWith('crm__'))).toEqual([]);
    const elicitation = await elicitationOf(alice.callTool({ name: 'crm__whoami', arguments: {} }));
    expect(new URL(elicitation.url).pathname).toBe('/oauth/start/crm');
    const completed = new Promise<string>(
      (resolve) =>
        (alice.fallbackNotificationHandler = async (n) => void (n.method === 'notifications/elicitation/complete' && resolve(String(n.params?.elicitationId)))),
    );
    expect(await signIn(elicitation.url, 'alice')).toContain('account is connected');
    expect(await completed).toBe(elicitation.elicitationId);
    expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
    // A used link does not work twice.
    expect((await fetch(elicitation.url, { redirect: 'manual' })).status).toBe(400);
    expect((await fetch(elicitation.url, { redirect: 'manual', method: 'POST' })).status).toBe(400);
  });

  it("keeps principals apart: each authorises separately and the upstream sees each one's own subject and tool list", async () => {
    const bob = await legacyClient(gw, KEYS.bob);
    clients.push(bob);
    const elicitation = await elicitationOf(bob.callTool({ name: 'crm__whoami', arguments: {} }));
    await signIn(elicitation.url, 'bob');
    expect(textOf(await bob.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('bob');
    expect(textOf(await clients[0]!.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
    const names = async (c: LegacyClient) => (await c.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith('crm__'));
    expect(await names(clients[0]!)).toContain('crm__admin_report'); // alice is an admin upstream
    expect(await names(bob)).toContain('crm__whoami');
    expect(await names(bob)).not.toContain('crm__admin_report');
    // The audit trail says which credential and which upstream identity, never the token.
    const record = gw.audit.filter((r) => r.name === 'crm__whoami' && r.outcome === 'ok').at(-1)!;
    expect(record).toMatchObject({ credential: 'user-oauth', upstreamSubject: 'alice' });
    const trail = JSON.stringify(gw.audit) + gw.logs.join('\n');
    for (const token of upstream.seenTokens) expect(trail).not.toContain(token);
  });

  it('refreshes an expired access token before using it', async () => {
    const refreshesBefore = as.tokenRequestCount('refresh_token');
    // Past the 3 s access-token lifetime without waiting for it: the gateway, the authorization server and the
    // upstream all run in this process and read Date, so the clock is moved on for them all (timers stay real).
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 3_500);
      expect(textOf(await clients[0]!.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
    } finally {
      vi.useRealTimers();
    }
    expect(as.tokenRequestCount('refresh_token')).toBeGreaterThan(refreshesBefore);
    // Operators see sign-ins and refreshes in /metrics.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(counter(metrics, 'signin', 'ok')).toBeGreaterThanOrEqual(2);
    expect(counter(metrics, 'refresh', 'ok')).toBeGreaterThanOrEqual(1);
  });

  it('stores the tokens encrypted: the store file holds none of them', () => {
    const raw = readFileSync(path.join(stateDir, 'credentials.json'), 'utf8');
    expect(upstream.seenTokens.length).toBeGreaterThan(0);
    for (const token of upstream.seenTokens) expect(raw).not.toContain(token);
    expect(raw).not.toContain('alice');
  });

  it('lets a user revoke their own account; the next call asks again', async () => {
    const res = await fetch(`${gw.url}/oauth/credentials/crm`, { method: 'DELETE', headers: { Authorization: `Bearer ${KEYS.bob}` } });
    expect(res.status).toBe(200);
    await elicitationOf(clients[1]!.callTool({ name: 'crm__whoami', arguments: {} }));
    // Alice is unaffected.
    expect(textOf(await clients[0]!.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
  });

  it('gives a client that cannot open URLs a clear error with the same kind of link', async () => {
    const carol = await legacyClient(gw, KEYS.carol, false);
    clients.push(carol);
    const err = (await carol.callTool({ name: 'crm__whoami', arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(err).toBeInstanceOf(McpError);
    expect((err.data as { code: string; url: string }).code).toBe('SIGN_IN_REQUIRED');
    expect(err.message).toContain('/oauth/start/crm?ticket=');
  });

  it('keeps stored credentials across a restart', async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await gw.close();
    gw = await startGateway(userOAuthConfig());
    const alice = await legacyClient(gw, KEYS.alice);
    clients.push(alice);
    expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
  });

  it('asks a 2026-07-28 client with an input round and finishes the call once the user has signed in', async () => {
    const client = new Client({ name: 'modern', version: '1' }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: 'auto' } });
    let signedIn: Promise<string> | undefined;
    client.setRequestHandler('elicitation/create', async (request) => {
      const params = request.params as { mode?: string; url?: string };
      expect(params.mode).toBe('url');
      signedIn = signIn(params.url!, 'carol');
      return { action: 'accept' };
    });
    await client.connect(new ModernTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${KEYS.carol}` } } }));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(textOf(await client.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('carol');
      await signedIn;
    } finally {
      await client.close();
    }
  });
});

describe('credentials "user-oauth": sign-in links are bound to one person and one browser', () => {
  let gw: RunningGateway;
  let dir: string;
  /** Per API key, a client that cannot open URLs: each call it makes without an account brings a fresh link in the error. */
  const clients = new Map<string, LegacyClient>();
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-binding-'));
    const config = userOAuthConfig() as { gateway: { credentials: { store: { path: string } } } };
    config.gateway.credentials.store.path = path.join(dir, 'credentials.json');
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await Promise.allSettled([...clients.values()].map((c) => c.close()));
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function clientFor(key: string): Promise<LegacyClient> {
    let client = clients.get(key);
    if (!client) clients.set(key, (client = await legacyClient(gw, key, false)));
    return client;
  }

  /** A new sign-in link for the caller with `key`. */
  async function linkFor(key: string): Promise<string> {
    const err = (await (await clientFor(key)).callTool({ name: 'crm__whoami', arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(err).toBeInstanceOf(McpError);
    expect((err.data as { code: string }).code).toBe('SIGN_IN_REQUIRED');
    return (err.data as { url: string }).url;
  }

  /** The upstream account the caller with `key` acts as, or undefined when they have none connected (asked to sign in). */
  async function upstreamAccountOf(key: string): Promise<string | undefined> {
    const outcome = await (await clientFor(key)).callTool({ name: 'crm__whoami', arguments: {} }).catch((e: unknown) => e);
    if (!(outcome instanceof McpError)) return textOf(outcome);
    expect((outcome.data as { code: string }).code).toBe('SIGN_IN_REQUIRED');
    return undefined;
  }

  it("refuses an authorization response that reaches another browser than the one that started it: an attacker's link links nothing", async () => {
    const failedBefore = counter(await (await fetch(`${gw.url}/metrics`)).text(), 'signin', 'failed');
    const attacker: Browser = new Map();
    const victim: Browser = new Map();
    // The attacker starts a sign-in with their own link and sends the authorization server's URL on to the victim,
    // who has a sign-in of her own under way in her browser, and approves with her upstream account.
    const lure = await continueSignIn(attacker, await linkFor(KEYS.mallory));
    await continueSignIn(victim, await linkFor(KEYS.alice));
    const refused = await browse(victim, await authorizeAs(lure, 'alice'));
    expect(refused.status).toBe(403);
    expect(errorCode(await refused.text())).toBe('browser-mismatch');
    // A forged cookie of the right name does not pass either.
    const secondLure = await continueSignIn(attacker, await linkFor(KEYS.mallory));
    const forged: Browser = new Map([...victim, ...[...attacker.keys()].map((name): [string, string] => [name, 'A'.repeat(43)])]);
    const forgedResponse = await browse(forged, await authorizeAs(secondLure, 'alice'));
    expect(forgedResponse.status).toBe(403);
    expect(errorCode(await forgedResponse.text())).toBe('browser-mismatch');
    // Nothing was linked, for either of them; operators see the refusals.
    expect(await upstreamAccountOf(KEYS.mallory)).toBeUndefined();
    expect(await upstreamAccountOf(KEYS.alice)).toBeUndefined();
    expect(counter(await (await fetch(`${gw.url}/metrics`)).text(), 'signin', 'failed')).toBe(failedBefore + 2);
  });

  it('links the account to the principal whose link it was, in the browser that started it; both pages name that principal', async () => {
    const link = await linkFor(KEYS.bob);
    const start = await startPage(link);
    expect(start.status).toBe(200);
    expect(start.principal).toEqual(principalOfKey('bob'));
    const browser: Browser = new Map();
    const authorizationUrl = await continueSignIn(browser, link);
    // One cookie: random, short-lived, for the /oauth paths only, out of scripts' reach, not sent on cross-site subrequests.
    expect(browser.size).toBe(1);
    const [name, value] = [...browser][0]!;
    expect(name).toMatch(/^switchboard_signin_[\w-]+$/);
    expect(value).toMatch(/^[\w-]{43}$/);
    expect(new URL(authorizationUrl).searchParams.get('state')).not.toContain(value);
    const done = await browse(browser, await authorizeAs(authorizationUrl, 'bob'));
    const page = await done.text();
    expect(done.status, page).toBe(200);
    expect(principalShown(page)).toEqual(principalOfKey('bob'));
    expect(browser.size).toBe(0); // cleared by the callback
    expect(await upstreamAccountOf(KEYS.bob)).toBe('bob');
  });

  it('sets the binding cookie HttpOnly, SameSite=Lax, Path=/oauth, for at most 10 minutes, and clears it after the callback', async () => {
    const link = await linkFor(KEYS.dave);
    const headers = { origin: new URL(link).origin, 'sec-fetch-site': 'same-origin' };
    const start = await fetch(link, { method: 'POST', redirect: 'manual', headers });
    expect(start.status).toBe(303);
    const [set] = start.headers.getSetCookie();
    const attributes = set!
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/oauth']));
    expect(attributes).not.toContain('secure'); // the gateway here is plain http on loopback
    const maxAge = Number(attributes.find((a) => a.startsWith('max-age='))!.slice('max-age='.length));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
    const cookie = set!.split(';')[0]!;
    const done = await fetch(await authorizeAs(start.headers.get('location')!, 'dave'), { redirect: 'manual', headers: { cookie } });
    expect(done.status).toBe(200);
    const [cleared] = done.headers.getSetCookie();
    expect(cleared!.split(';')[0]).toBe(`${cookie.split('=')[0]}=`);
    expect(cleared!.toLowerCase()).toContain('max-age=0');
    expect(cleared!.toLowerCase()).toContain('path=/oauth');
  });

  it('names the principal on the start page with its HTML escaped, and starts nothing until Continue', async () => {
    const link = await linkFor(KEYS[EVE]);
    const start = await startPage(link);
    expect(start.status).toBe(200);
    expect(start.principal).toEqual(principalOfKey(EVE));
    expect(start.principal).toContain('&#60;i&#62;eve&#60;/i&#62; &#38; &#34;co&#34;');
    expect(start.page).not.toContain('<i>');
    expect(start.page).toMatch(/<form method="post">/);
    // Viewing the page (a person, or a chat app's link preview) uses nothing up and sets nothing.
    const again = await fetch(link, { redirect: 'manual' });
    expect(again.status).toBe(200);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(again.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('refuses a Continue posted from another site: no cookie, no redirect, and the link still works', async () => {
    const link = await linkFor(KEYS.mallory);
    // Another page on the same host (another port) passes the gateway's DNS-rebinding check, not this one.
    const posts: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      { origin: 'http://127.0.0.1:1' },
    ];
    for (const headers of posts) {
      const response = await fetch(link, { method: 'POST', redirect: 'manual', headers });
      expect(response.status).toBe(403);
      expect(errorCode(await response.text())).toBe('cross-site');
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    expect(await startPage(link)).toMatchObject({ status: 200, principal: principalOfKey('mallory') });
  });

  it("keeps at most 5 sign-in links per principal: one principal's 50 drop that principal's oldest, never another's", async () => {
    const others = await linkFor(KEYS.alice);
    const links: string[] = [];
    for (let i = 0; i < 50; i++) links.push(await linkFor(KEYS.carol));
    expect(await startPage(others)).toMatchObject({ status: 200, principal: principalOfKey('alice') });
    for (const link of links.slice(-5)) expect(await startPage(link)).toMatchObject({ status: 200, principal: principalOfKey('carol') });
    for (const link of [links[0]!, links[44]!]) expect(await startPage(link)).toMatchObject({ status: 400, code: 'unknown-ticket' });
    // The survivors still sign in.
    await signIn(links[49]!, 'carol');
    expect(await upstreamAccountOf(KEYS.carol)).toBe('carol');
  });
});

describe('credentials "user-oauth" without a configured client', () => {
  it('discovers the authorization server from the upstream and registers itself dynamically', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-dcr-'));
    const config = userOAuthConfig() as { gateway: { servers: { crm: Record<string, unknown> }; credentials: { store: { path: string } } } };
    delete config.gateway.servers.crm.userOAuth;
    config.gateway.credentials.store.path = path.join(dir, 'credentials.json');
    const gw = await startGateway(config);
    const registrations = () => as.requests.filter((r) => r.route === 'registration' && r.status < 300).length;
    const before = registrations();
    // Alice signs in with her upstream account "dave": the upstream identity is whatever account she approves.
    const alice = await legacyClient(gw, KEYS.alice);
    try {
      const elicitation = await elicitationOf(alice.callTool({ name: 'crm__whoami', arguments: {} }));
      await signIn(elicitation.url, 'dave');
      expect(registrations()).toBe(before + 1);
      expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('dave');
    } finally {
      await alice.close();
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials "token-exchange"', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: { crm: { type: 'http', url: upstream.url } },
      gateway: {
        servers: {
          crm: {
            credentials: 'token-exchange',
            tokenExchange: { tokenEndpoint: as.endpoints.token, clientId: as.clients.exchange.clientId, clientSecret: as.clients.exchange.clientSecret },
          },
        },
        auth: { jwt: { issuer: as.orgIssuer, jwksUri: as.orgJwksUri, audience: `${as.issuer}/gateway` } },
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("exchanges the caller's token for an upstream-audience one; the caller's own token never reaches the upstream", async () => {
    const subjectToken = await as.signSubjectToken('dave');
    const client = new LegacyClient({ name: 'dave', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${subjectToken}` } } }));
    try {
      expect(textOf(await client.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('dave');
      const info = JSON.parse(textOf(await client.callTool({ name: 'crm__token_info', arguments: {} }))) as { aud: unknown; sub: string; act?: unknown };
      expect([info.aud].flat()).toContain(upstream.resource);
      expect(info.act).toBeDefined();
      expect(upstream.seenTokens).not.toContain(subjectToken);
      expect(as.exchanges.some((e) => e.ok && e.sub === 'dave' && e.subjectToken === subjectToken)).toBe(true);
      expect(gw.audit.filter((r) => r.name === 'crm__whoami').at(-1)).toMatchObject({ credential: 'token-exchange', upstreamSubject: 'dave' });
      expect(counter(await (await fetch(`${gw.url}/metrics`)).text(), 'exchange', 'ok')).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
