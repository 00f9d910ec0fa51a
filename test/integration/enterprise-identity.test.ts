/**
 * Enterprise identity to upstreams, end to end with real parts only: real
 * authorization servers (oidc-provider), MCP upstreams that require their
 * bearer JWTs, the gateway in front, SDK clients.
 *
 * As an OAuth client ("user-oauth"), the gateway signs users in with its own
 * Client ID Metadata Document where the authorization server takes one (the
 * server really fetches it, over https: the gateway's public URL is a TLS
 * front with a test certificate), else with a configured client, else by
 * dynamic registration; it refuses an authorization response whose RFC 9207
 * `iss` is wrong or missing where required (in users' sign-ins and in
 * `switchboard login`); and a stored credential is used at the
 * authorization server that issued it only.
 *
 * Enterprise-Managed Authorization ("id-jag"): per caller, an ID-JAG from
 * the IdP for the caller's token, redeemed at the upstream's authorization
 * server; cached per (principal, server); the caller's token never reaches
 * the upstream; refusals are clear errors and nothing is forwarded.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { LoginProvider, beginLogin, completeLogin } from '../../src/upstream/oauth-login.js';
import { authorizeAs, startAuthorizationServer } from '../fixtures/oauth/authorization-server.mjs';
import { fetchTrusting, selfSignedCertificate, startTlsFront, type TlsFront } from '../fixtures/oauth/tls.mjs';
import { startBearerUpstream } from '../fixtures/servers/bearer-upstream.mjs';
import { callerCredentialCount, keyClient, signInLinkOf, signInOver, type FetchLike } from '../helpers/enterprise-identity.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { signIn } from '../helpers/user-oauth.js';

type AuthServer = Awaited<ReturnType<typeof startAuthorizationServer>>;
type Upstream = Awaited<ReturnType<typeof startBearerUpstream>>;

const USERS = ['alice', 'bob', 'carol', 'dave', 'mallory'];
const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789', carol: 'carol-key-0123456789', dave: 'dave-key-0123456789' };
const CREDENTIALS_KEY = 'test-credentials-key-0123456789abcdef';
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;
const apiKeys = Object.entries(KEYS).map(([id, key]) => ({ id, sha256: hashKey(key), scopes: [], groups: [] }));
/** A public web client pre-registered for the https gateway's callback. */
const WEB_CLIENT = {
  client_id: 'switchboard-web',
  application_type: 'web',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

const closers: Array<() => Promise<unknown>> = [];
let stateDir: string;
/** Takes CIMD (and serves ID-JAG-free sign-ins). */
let cimdAs: AuthServer;
/** Takes no CIMD. */
let plainAs: AuthServer;
let upCimd: Upstream;
let upPlain: Upstream;
let front: TlsFront;
let fetchTls: FetchLike;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'switchboard-enterprise-'));
  const tls = selfSignedCertificate();
  fetchTls = fetchTrusting(tls.cert);
  // The front first: the authorization servers pre-register a web client with its callback.
  front = await startTlsFront(tls);
  const clients = [{ ...WEB_CLIENT, redirect_uris: [`${front.url}/oauth/callback`] }];
  cimdAs = await startAuthorizationServer({ users: USERS, clients, clientIdMetadataDocument: { ca: tls.cert } });
  plainAs = await startAuthorizationServer({ users: USERS, clients });
  upCimd = await startBearerUpstream({ issuer: cimdAs.issuer, jwksUri: cimdAs.jwksUri });
  upPlain = await startBearerUpstream({ issuer: plainAs.issuer, jwksUri: plainAs.jwksUri });
  closers.push(
    () => front.close(),
    () => cimdAs.close(),
    () => plainAs.close(),
    () => upCimd.close(),
    () => upPlain.close(),
  );
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
});

async function gateway(config: Record<string, unknown>): Promise<RunningGateway> {
  const gw = await startGateway(config);
  closers.push(() => gw.close());
  return gw;
}

describe('user-oauth: the client the gateway signs in as, and RFC 9207', () => {
  let gw: RunningGateway;
  const clients = new Map<string, LegacyClient>();
  const documentUrl = () => `${front.url}/oauth/client-metadata.json`;
  const clientOf = async (key: string) => clients.get(key) ?? clients.set(key, await keyClient(gw, key)).get(key)!;
  const linkFor = async (key: string, tool: string) => signInLinkOf(await clientOf(key), tool);
  const registrations = (as: AuthServer) => as.requests.filter((r) => r.route === 'registration' && r.status < 300).length;

  beforeAll(async () => {
    const userOAuth = (clientId?: string) => ({ credentials: 'user-oauth', ...(clientId ? { userOAuth: { clientId } } : {}) });
    gw = await gateway({
      mcpServers: {
        cimd: { type: 'http', url: upCimd.url },
        preferred: { type: 'http', url: upCimd.url },
        registered: { type: 'http', url: upPlain.url },
        dcr: { type: 'http', url: upPlain.url },
      },
      gateway: {
        publicUrl: front.url,
        servers: {
          cimd: userOAuth(),
          preferred: userOAuth(WEB_CLIENT.client_id),
          registered: userOAuth(WEB_CLIENT.client_id),
          dcr: userOAuth(),
        },
        credentials: { key: CREDENTIALS_KEY, store: { type: 'file', path: path.join(stateDir, 'signins.json') } },
        auth: { apiKeys },
      },
    });
    front.setTarget(gw.url);
    closers.push(async () => Promise.allSettled([...clients.values()].map((c) => c.close())));
  });

  it('serves its client metadata document under the public URL, client_id being its own URL', async () => {
    const response = await fetchTls(documentUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('cache-control')).toContain('max-age=');
    expect(await response.json()).toEqual({
      client_id: documentUrl(),
      client_name: 'Switchboard',
      redirect_uris: [`${front.url}/oauth/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
    });
  });

  it('signs in with the document URL as client_id where the authorization server advertises CIMD; the server fetched it', async () => {
    const metadata = (await (await fetch(cimdAs.metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    const registered = registrations(cimdAs);
    const signedIn = await signInOver(fetchTls, await linkFor(KEYS.alice, 'cimd__whoami'), 'alice');
    expect(signedIn.status, signedIn.page).toBe(200);
    expect(signedIn.authorizationUrl.searchParams.get('client_id')).toBe(documentUrl());
    expect(cimdAs.cimdFetches).toContain(documentUrl());
    expect(registrations(cimdAs)).toBe(registered);
    const info = JSON.parse(textOf(await (await clientOf(KEYS.alice)).callTool({ name: 'cimd__token_info', arguments: {} }))) as Record<string, unknown>;
    expect(info).toMatchObject({ sub: 'alice', iss: cimdAs.issuer, client_id: documentUrl() });
  });

  it('uses a configured client first, even where CIMD is advertised', async () => {
    const signedIn = await signInOver(fetchTls, await linkFor(KEYS.bob, 'preferred__whoami'), 'bob');
    expect(signedIn.status, signedIn.page).toBe(200);
    expect(signedIn.authorizationUrl.searchParams.get('client_id')).toBe(WEB_CLIENT.client_id);
    expect(textOf(await (await clientOf(KEYS.bob)).callTool({ name: 'preferred__whoami', arguments: {} }))).toBe('bob');
  });

  it('falls back to the pre-registered client where CIMD is not advertised', async () => {
    const metadata = (await (await fetch(plainAs.metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBeUndefined();
    const registered = registrations(plainAs);
    const signedIn = await signInOver(fetchTls, await linkFor(KEYS.alice, 'registered__whoami'), 'alice');
    expect(signedIn.status, signedIn.page).toBe(200);
    expect(signedIn.authorizationUrl.searchParams.get('client_id')).toBe(WEB_CLIENT.client_id);
    expect(registrations(plainAs)).toBe(registered);
    expect(plainAs.cimdFetches).toEqual([]);
  });

  it('falls back to dynamic registration where CIMD is not advertised and no client is configured', async () => {
    const registered = registrations(plainAs);
    const signedIn = await signInOver(fetchTls, await linkFor(KEYS.carol, 'dcr__whoami'), 'carol');
    expect(signedIn.status, signedIn.page).toBe(200);
    expect(registrations(plainAs)).toBe(registered + 1);
    const clientId = signedIn.authorizationUrl.searchParams.get('client_id');
    expect(clientId).not.toBe(documentUrl());
    expect(clientId).not.toBe(WEB_CLIENT.client_id);
    const info = JSON.parse(textOf(await (await clientOf(KEYS.carol)).callTool({ name: 'dcr__token_info', arguments: {} }))) as Record<string, unknown>;
    expect(info).toMatchObject({ sub: 'carol', client_id: clientId });
  });

  it("refuses an authorization response whose iss is another issuer's, or missing where the server advertises it; nothing is linked", async () => {
    const metadata = (await (await fetch(cimdAs.metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    const failedBefore = await callerCredentialCount(gw, 'cimd', 'signin', 'failed');
    const attempts: Array<(callback: URL) => void> = [
      (callback) => callback.searchParams.set('iss', plainAs.issuer),
      (callback) => callback.searchParams.set('iss', `${cimdAs.issuer}/`),
      (callback) => callback.searchParams.delete('iss'),
    ];
    for (const tamper of attempts) {
      const refused = await signInOver(fetchTls, await linkFor(KEYS.dave, 'cimd__whoami'), 'dave', { tamper });
      expect(refused.status).toBe(400);
      expect(refused.code).toBe('issuer-mismatch');
    }
    // An error response is checked too: with a wrong iss it is a mix-up, not the server's refusal.
    const forgedError = await signInOver(fetchTls, await linkFor(KEYS.dave, 'cimd__whoami'), 'dave', {
      deny: true,
      tamper: (callback) => callback.searchParams.set('iss', plainAs.issuer),
    });
    expect(forgedError.code).toBe('issuer-mismatch');
    const realError = await signInOver(fetchTls, await linkFor(KEYS.dave, 'cimd__whoami'), 'dave', { deny: true });
    expect(realError.code).toBe('authorization-refused');
    expect(await callerCredentialCount(gw, 'cimd', 'signin', 'failed')).toBe(failedBefore + 5);
    // Dave has nothing connected: his next call asks him to sign in; with the right iss it goes through.
    const link = await linkFor(KEYS.dave, 'cimd__whoami');
    expect((await signInOver(fetchTls, link, 'dave')).status).toBe(200);
    expect(textOf(await (await clientOf(KEYS.dave)).callTool({ name: 'cimd__whoami', arguments: {} }))).toBe('dave');
  });
});

describe('switchboard login: RFC 9207', () => {
  const loginAs = async (tamper?: (callback: URL) => void) => {
    const tokenFile = path.join(stateDir, `login-${Math.random().toString(36).slice(2)}.json`);
    const provider = new LoginProvider('crm', upCimd.url, {
      grant: 'authorization_code',
      clientId: cimdAs.clients.public.clientId,
      callbackPort: 1,
      tokenFile,
    });
    const callback = new URL(await authorizeAs(await beginLogin(provider), 'alice'));
    tamper?.(callback);
    const outcome = await completeLogin(provider, callback.searchParams).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    return { outcome, stored: existsSync(tokenFile) };
  };

  it('refuses a redirect whose iss is wrong or missing, storing nothing; takes the right one', async () => {
    for (const tamper of [(c: URL) => c.searchParams.set('iss', plainAs.issuer), (c: URL) => c.searchParams.delete('iss')]) {
      const { outcome, stored } = await loginAs(tamper);
      expect(outcome?.message).toBe('the redirect came from another authorization server than the one the login started with');
      expect(stored).toBe(false);
    }
    expect(await loginAs()).toEqual({ outcome: undefined, stored: true });
  });
});

describe('user-oauth: a stored credential is used at the authorization server that issued it only', () => {
  it('refreshes at its issuer; once the upstream names another authorization server, refuses it and asks to sign in again', async () => {
    const keys = new Map([plainAs, cimdAs].map((as) => [as.issuer, createRemoteJWKSet(new URL(as.jwksUri))]));
    const { startProtectedUpstream } = (await import(new URL('../fixtures/oauth/protected-upstream.mjs', import.meta.url).href)) as {
      startProtectedUpstream(o: { verify: (t: string) => Promise<boolean>; authorizationServer: string }): Promise<{
        url: string;
        setAuthorizationServer(issuer: string): void;
        close(): Promise<void>;
      }>;
    };
    const verify = async (token: string) => {
      const iss = decodeJwt(token).iss ?? '';
      return jwtVerify(token, keys.get(iss)!, { issuer: iss, audience: up.url }).then(
        () => true,
        () => false,
      );
    };
    const up = await startProtectedUpstream({ verify, authorizationServer: plainAs.issuer });
    closers.push(() => up.close());
    const gw = await gateway({
      mcpServers: { moving: { type: 'http', url: up.url } },
      gateway: {
        servers: { moving: { credentials: 'user-oauth', userOAuth: { clientId: plainAs.clients.public.clientId, scopes: ['mcp'] } } },
        credentials: { key: CREDENTIALS_KEY, store: { type: 'file', path: path.join(stateDir, 'moving.json') } },
        auth: { apiKeys },
      },
    });
    const alice = await keyClient(gw, KEYS.alice);
    closers.push(() => alice.close());
    await signIn(await signInLinkOf(alice, 'moving__echo'), 'alice');
    const echo = () => alice.callTool({ name: 'moving__echo', arguments: { text: 'hi' } });
    expect((await echo()).structuredContent).toEqual({ text: 'hi' });

    const refreshes = () => plainAs.tokenRequestCount('refresh_token') + cimdAs.tokenRequestCount('refresh_token');
    const expire = () => vi.setSystemTime(Date.now() + (plainAs.settings.accessTokenTtlS + 1) * 1000);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      // Past expiry, the token is refreshed at the authorization server that issued it.
      expire();
      const before = refreshes();
      expect((await echo()).structuredContent).toEqual({ text: 'hi' });
      expect(plainAs.tokenRequestCount('refresh_token', 200)).toBeGreaterThan(0);
      expect(refreshes()).toBe(before + 1);
      // The upstream now names another authorization server: the stored refresh token goes to neither.
      up.setAuthorizationServer(cimdAs.issuer);
      expire();
      const asked = await echo().catch((e: unknown) => e);
      expect((asked as { data?: { code?: string } }).data?.code).toBe('SIGN_IN_REQUIRED');
      expect(refreshes()).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
    expect(gw.logs.join('\n')).toContain('another authorization server than the one that issued it');
    expect(await callerCredentialCount(gw, 'moving', 'refresh', 'failed')).toBe(1);
  });
});

describe('credentials "id-jag" (Enterprise-Managed Authorization)', () => {
  let idp: AuthServer;
  let upstreamAs: AuthServer;
  let upstream: Upstream;
  let gw: RunningGateway;
  const tokens = new Map<string, string>();
  const v2Clients: Client[] = [];

  /** A v2 client signed in to the gateway with `user`'s JWT from the organisation's IdP. */
  async function callerClient(user: string): Promise<Client> {
    const token = await idp.signSubjectToken(user);
    tokens.set(user, token);
    const client = new Client({ name: `${user}-agent`, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    v2Clients.push(client);
    return client;
  }
  const idJagRequests = () => idp.exchanges.filter((e) => e.requestedTokenType === 'urn:ietf:params:oauth:token-type:id-jag');
  const exchangesFor = (sub: string) => idJagRequests().filter((e) => e.ok && e.sub === sub).length;

  beforeAll(async () => {
    idp = await startAuthorizationServer({ users: USERS, exchangeClient: { authMethod: 'client_secret_post' } });
    upstreamAs = await startAuthorizationServer({ users: USERS, jwtBearer: { trustedIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }] } });
    idp.idJagClients.set(upstreamAs.issuer, upstreamAs.clients.jwtBearer.clientId);
    upstream = await startBearerUpstream({ issuer: upstreamAs.issuer, jwksUri: upstreamAs.jwksUri });
    closers.push(
      () => idp.close(),
      () => upstreamAs.close(),
      () => upstream.close(),
    );
    gw = await gateway({
      mcpServers: { crm: { type: 'http', url: upstream.url } },
      gateway: {
        servers: {
          crm: {
            credentials: 'id-jag',
            idJag: {
              idpTokenEndpoint: idp.endpoints.token,
              clientId: idp.clients.exchange.clientId,
              clientSecret: idp.clients.exchange.clientSecret,
              upstreamClient: { clientId: upstreamAs.clients.jwtBearer.clientId, clientSecret: upstreamAs.clients.jwtBearer.clientSecret },
            },
          },
        },
        auth: { jwt: { issuer: idp.orgIssuer, jwksUri: idp.orgJwksUri, audience: `${idp.issuer}/gateway` } },
      },
    });
    closers.push(async () => Promise.allSettled(v2Clients.map((c) => c.close())));
  });

  it('end to end: a v2 client calls a tool; the upstream sees the caller, through a token its authorization server issued for an ID-JAG', async () => {
    const alice = await callerClient('alice');
    expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('alice');
    const info = JSON.parse(textOf(await alice.callTool({ name: 'crm__token_info', arguments: {} }))) as Record<string, unknown>;
    expect(info).toMatchObject({ sub: 'alice', iss: upstreamAs.issuer, client_id: upstreamAs.clients.jwtBearer.clientId });
    expect([info.aud].flat()).toContain(upstream.resource);
    // The IdP was asked for an ID-JAG for alice's own token, for the upstream's authorization server and the upstream.
    expect(idJagRequests()).toEqual([
      expect.objectContaining({ ok: true, sub: 'alice', subjectToken: tokens.get('alice'), audience: upstreamAs.issuer, resource: upstream.resource }),
    ]);
    // The authorization server redeemed exactly that ID-JAG, for the gateway's client there.
    expect(upstreamAs.jwtBearerGrants).toEqual([
      expect.objectContaining({
        ok: true,
        sub: 'alice',
        iss: idp.issuer,
        clientId: upstreamAs.clients.jwtBearer.clientId,
        assertion: idJagRequests()[0]!.issuedToken,
      }),
    ]);
    expect(gw.audit.filter((r) => r.name === 'crm__whoami').at(-1)).toMatchObject({ credential: 'id-jag', upstreamSubject: 'alice', outcome: 'ok' });
    expect(await callerCredentialCount(gw, 'crm', 'exchange', 'ok')).toBe(1);
  });

  it('caches per (principal, server): more calls make no new exchange; another principal gets their own', async () => {
    const alice = v2Clients[0]!;
    const [idJags, redemptions] = [idJagRequests().length, upstreamAs.jwtBearerGrants.length];
    for (const text of ['one', 'two']) expect(textOf(await alice.callTool({ name: 'crm__whoami', arguments: { text } }))).toBe('alice');
    expect([idJagRequests().length, upstreamAs.jwtBearerGrants.length]).toEqual([idJags, redemptions]);
    const bob = await callerClient('bob');
    expect(textOf(await bob.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('bob');
    expect(textOf(await bob.callTool({ name: 'crm__whoami', arguments: {} }))).toBe('bob');
    expect([exchangesFor('alice'), exchangesFor('bob')]).toEqual([1, 1]);
    expect(upstreamAs.jwtBearerGrants.filter((g) => g.ok).map((g) => g.sub)).toEqual(['alice', 'bob']);
  });

  it("never passes the caller's token, nor the ID-JAG, to the upstream: it sees only the redeemed tokens", async () => {
    const redeemed = new Set(upstreamAs.jwtBearerGrants.map((g) => g.issuedToken));
    expect(upstream.seenAuthorizationHeaders.length).toBeGreaterThan(0);
    for (const header of upstream.seenAuthorizationHeaders) expect(redeemed.has(header.replace(/^Bearer /, ''))).toBe(true);
    for (const token of [...tokens.values(), ...idJagRequests().map((e) => e.issuedToken)]) expect(upstream.seenTokens).not.toContain(token);
    const trail = JSON.stringify(gw.audit) + gw.logs.join('\n');
    for (const token of [...tokens.values(), ...redeemed]) expect(trail).not.toContain(token);
  });

  it('the IdP refuses: a clear error, no redemption, nothing forwarded', async () => {
    idp.idJagDenied.add('mallory');
    const mallory = await callerClient('mallory');
    const [redemptions, seen, failed] = [
      upstreamAs.jwtBearerGrants.length,
      upstream.seenAuthorizationHeaders.length,
      await callerCredentialCount(gw, 'crm', 'exchange', 'failed'),
    ];
    const err = await mallory.callTool({ name: 'crm__whoami', arguments: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(-32010);
    expect((err as ProtocolError).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', server: 'crm' });
    expect((err as ProtocolError).message).toContain('the identity provider refused to issue an ID-JAG (access_denied)');
    expect(upstreamAs.jwtBearerGrants.length).toBe(redemptions);
    expect(upstream.seenAuthorizationHeaders.length).toBe(seen);
    expect(upstream.toolCalls.some((c) => c.sub === 'mallory')).toBe(false);
    expect(await callerCredentialCount(gw, 'crm', 'exchange', 'failed')).toBe(failed + 1);
    expect(gw.audit.filter((r) => r.name === 'crm__whoami').at(-1)).toMatchObject({
      outcome: 'error',
      code: 'UPSTREAM_UNAVAILABLE',
      principal: expect.stringContaining('mallory'),
    });
  });

  it("the upstream's authorization server refuses the ID-JAG: a clear error, nothing forwarded", async () => {
    upstreamAs.jwtBearerDenied.add('carol');
    const carol = await callerClient('carol');
    const seen = upstream.seenAuthorizationHeaders.length;
    const err = (await carol.callTool({ name: 'crm__whoami', arguments: {} }).catch((e: unknown) => e)) as ProtocolError;
    expect(err.code).toBe(-32010);
    expect(err.message).toContain("the upstream's authorization server refused the ID-JAG (invalid_grant)");
    expect(idJagRequests().filter((e) => e.sub === 'carol' && e.ok)).toHaveLength(1);
    expect(upstream.seenAuthorizationHeaders.length).toBe(seen);
  });
});
