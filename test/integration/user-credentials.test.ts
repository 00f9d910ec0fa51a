/**
 * Users' own upstream accounts, end to end with real parts only: an OAuth
 * authorization server (oidc-provider), an MCP upstream that requires bearer
 * JWTs and answers with the token's subject, the gateway in front, and SDK
 * clients of both eras.
 *
 * credentials "user-oauth": each principal authorises once through the
 * gateway's sign-in link (URL-mode elicitation), the upstream then sees that
 * person; tokens are refreshed, revocable, survive a restart and are stored
 * encrypted. credentials "token-exchange": the caller's JWT is exchanged
 * (RFC 8693) for one whose audience is the upstream, and never reaches it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { authorizeAs, startAuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { startBearerUpstream } from '../fixtures/servers/bearer-upstream.mjs';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

type AuthServer = Awaited<ReturnType<typeof startAuthorizationServer>>;
type Upstream = Awaited<ReturnType<typeof startBearerUpstream>>;

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789', carol: 'carol-key-0123456789' };
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

/** What a user does with the sign-in link in a browser: the gateway's page, the AS's login and consent, the callback. */
async function signIn(link: string, user: string): Promise<string> {
  const start = await fetch(link, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const callback = await authorizeAs(start.headers.get('location')!, user);
  const done = await fetch(callback, { redirect: 'manual' });
  const page = await done.text();
  expect(done.status, page).toBe(200);
  return page;
}

async function elicitationOf(promise: Promise<unknown>): Promise<{ url: string; elicitationId: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  expect((err as McpError).code).toBe(-32042);
  // The spec's shape (the v1 client keeps only `elicitations` of the data).
  const data = (err as McpError).data as { elicitations: { mode: string; url: string; elicitationId: string }[] };
  expect(data.elicitations[0]!.mode).toBe('url');
  return data.elicitations[0]!;
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
    const completed = new Promise<string>((resolve) =>
      alice.fallbackNotificationHandler = async (n) => void (n.method === 'notifications/elicitation/complete' && resolve(String(n.params?.elicitationId))),
    );
    expect(await signIn(elicitation.url, 'alice')).toContain('account is connected');
    expect(await completed).toBe(elicitation.elicitationId);
    expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
    // A used link does not work twice.
    expect((await fetch(elicitation.url, { redirect: 'manual' })).status).toBe(400);
  });

  it('keeps principals apart: each authorises separately and the upstream sees each one\'s own subject and tool list', async () => {
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
    await new Promise((r) => setTimeout(r, 3_500)); // past the 3 s access-token lifetime
    expect(textOf(await clients[0]!.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
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

  it('exchanges the caller\'s token for an upstream-audience one; the caller\'s own token never reaches the upstream', async () => {
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
