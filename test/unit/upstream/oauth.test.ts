/**
 * Upstream OAuth pieces on their own: the `oauth` config (shapes, errors with
 * paths and fixes, where tokens live), the token file (0600, atomic), and the
 * auth providers the transports use, against a real authorization server
 * fixture on port 0 (no MCP server involved).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import type { HttpServerSpec, UpstreamOAuthSpec } from '../../../src/config/schema/index.js';
import { ConfigError, type ConfigIssue } from '../../../src/core/errors.js';
import { LoginRequiredError, UpstreamAuths } from '../../../src/upstream/oauth.js';
import { LoginProvider, beginLogin, completeLogin } from '../../../src/upstream/oauth-login.js';
import { TokenFileError, isStale, readTokenFile, recordOf, tokenFilePath, writeTokenFile } from '../../../src/upstream/token-store.js';

/** One gateway's providers, shared by this file's tests as they were by the whole process before. */
const auths = new UpstreamAuths();
const upstreamAuthFor = (server: string, spec: HttpServerSpec) => auths.for(server, spec);

interface AuthServer {
  issuer: string;
  settings: { expiresIn: number; refreshTokens: boolean };
  tokenRequests: { grant: string; auth: string; resource: string | null; scope: string | null; status: number }[];
  metadataRequests(): number;
  issued(grant: string): number;
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}
const { startAuthServer } = (await import(new URL('../../fixtures/oauth/auth-server.mjs', import.meta.url).href)) as {
  startAuthServer(options: Record<string, unknown>): Promise<AuthServer>;
};

let dir: string;
const servers: AuthServer[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-oauth-unit-'));
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function authServer(options: Record<string, unknown> = {}): Promise<AuthServer> {
  const as = await startAuthServer(options);
  servers.push(as);
  return as;
}

/** Moves `Date.now()` forward; timers stay real. */
function jumpClock(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + ms);
}

const file = () => path.join(mkdtempSync(path.join(dir, 'cfg-')), 'switchboard.json');
const entry = (oauth: unknown, extra: Record<string, unknown> = {}) => ({ mcpServers: { s: { type: 'http', url: 'https://x/mcp', oauth, ...extra } } });

function issues(raw: unknown, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    parseConfig(raw, file(), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function oauthOf(raw: unknown, at = file(), env: Record<string, string> = {}): UpstreamOAuthSpec | undefined {
  return (parseConfig(raw, at, env).servers[0]!.spec as HttpServerSpec).oauth;
}

describe('the oauth config', () => {
  it('needs both clientId and callbackPort for the login form, naming the path', () => {
    expect(issues(entry({ clientId: 'c' }))).toEqual([
      expect.objectContaining({ path: 'mcpServers.s.oauth.callbackPort', message: '"callbackPort" is required' }),
    ]);
    expect(issues(entry({ callbackPort: 3118 })).map((i) => i.path)).toEqual(['mcpServers.s.oauth.clientId']);
    expect(issues(entry({ clientId: 'c', callbackPort: 70000 })).map((i) => i.path)).toEqual(['mcpServers.s.oauth.callbackPort']);
  });

  it('needs a secret for client credentials, and knows which keys each grant takes', () => {
    expect(issues(entry({ grant: 'client_credentials', clientId: 'c' })).map((i) => i.path)).toEqual(['mcpServers.s.oauth.clientSecret']);
    const [stray] = issues(entry({ grant: 'client_credentials', clientId: 'c', clientSecret: 's', callbackPort: 1 }));
    expect(stray).toMatchObject({ path: 'mcpServers.s.oauth.callbackPort', message: 'unknown key "callbackPort"' });
    expect(stray!.fix).toContain('tokenEndpoint');
    expect(issues(entry({ clientId: 'c', callbackPort: 1, scope: 'a' }))[0]).toMatchObject({
      path: 'mcpServers.s.oauth.scope',
      fix: 'did you mean "scopes"?',
    });
  });

  it('names the grants when the grant is unknown', () => {
    expect(issues(entry({ grant: 'client-credentials', clientId: 'c' }))).toEqual([
      expect.objectContaining({ path: 'mcpServers.s.oauth.grant', fix: 'did you mean "client_credentials"?' }),
    ]);
  });

  it('takes one way to name the authorization server', () => {
    const both = { grant: 'client_credentials', clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://a/token', authServerMetadataUrl: 'https://a/meta' };
    expect(issues(entry(both))).toEqual([expect.objectContaining({ path: 'mcpServers.s.oauth.authServerMetadataUrl', fix: 'remove one of them' })]);
    expect(issues(entry({ ...both, authServerMetadataUrl: undefined, tokenEndpoint: 'ftp://a' })).map((i) => i.path)).toEqual([
      'mcpServers.s.oauth.tokenEndpoint',
    ]);
  });

  it('substitutes ${VAR} in the secret, and an unset one is an error that shows no value', () => {
    const raw = entry({ grant: 'client_credentials', clientId: 'c', clientSecret: '${M2M_SECRET}' });
    expect(oauthOf(raw, file(), { M2M_SECRET: 'from-env' })).toMatchObject({ clientSecret: 'from-env' });
    const [unset] = issues(raw);
    expect(unset!.path).toBe('mcpServers.s.oauth.clientSecret');
    expect(unset!.message).toContain('M2M_SECRET');
  });

  it('keeps login tokens under gateway.stateDir (default ~/.switchboard, relative to the config file)', () => {
    const login = { clientId: 'c', callbackPort: 3118, scopes: 'a b' };
    expect(oauthOf(entry(login))).toEqual({ ...login, grant: 'authorization_code', tokenFile: path.join(homedir(), '.switchboard/tokens/s.json') });
    const at = file();
    expect(oauthOf({ ...entry(login), gateway: { stateDir: './state' } }, at)).toMatchObject({
      tokenFile: path.join(path.dirname(at), 'state/tokens/s.json'),
    });
    expect(oauthOf({ ...entry(login), gateway: { stateDir: '~/sb' } })).toMatchObject({ tokenFile: path.join(homedir(), 'sb/tokens/s.json') });
    const m2m = { grant: 'client_credentials', clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://a/token' };
    expect(oauthOf(entry(m2m))).toEqual(m2m);
  });

  it('warns when a static Authorization header is overridden, or a secret is not pinned to an authorization server', () => {
    const cfg = parseConfig(entry({ grant: 'client_credentials', clientId: 'c', clientSecret: 's' }, { headers: { Authorization: 'Bearer x' } }), file(), {});
    expect(cfg.warnings).toEqual([expect.stringContaining('"Authorization" header'), expect.stringContaining('oauth.tokenEndpoint')]);
  });
});

describe('token files', () => {
  const tokens = { access_token: 'at', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt' };

  it('are written 0600 in a 0700 folder, atomically, and read back', async () => {
    const state = path.join(dir, 'state-a');
    const target = tokenFilePath(state, 'slack');
    expect(target).toBe(path.join(state, 'tokens', 'slack.json'));
    const record = recordOf({ server: 'slack', url: 'https://x/mcp', clientId: 'c' }, tokens, 1_000);
    expect(record).toEqual({ version: 1, server: 'slack', url: 'https://x/mcp', clientId: 'c', tokens, obtainedAt: 1_000, expiresAt: 61_000 });
    await writeTokenFile(target, record);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(target)).mode & 0o777).toBe(0o700);
    expect(await readTokenFile(target)).toEqual(record);
    await writeTokenFile(target, { ...record, obtainedAt: 2_000 });
    expect((await readTokenFile(target))?.obtainedAt).toBe(2_000);
    expect(readdirSync(path.dirname(target))).toEqual(['slack.json']);
  });

  it('tighten a tokens folder that was created looser', async () => {
    const folder = path.join(dir, 'state-b', 'tokens');
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
    await writeTokenFile(path.join(folder, 's.json'), recordOf({ server: 's', url: 'u', clientId: 'c' }, tokens));
    expect(statSync(folder).mode & 0o777).toBe(0o700);
  });

  it('are absent, or unusable with a reason', async () => {
    const folder = mkdtempSync(path.join(dir, 'bad-'));
    expect(await readTokenFile(path.join(folder, 'none.json'))).toBeUndefined();
    writeFileSync(path.join(folder, 'garbage.json'), 'not json');
    await expect(readTokenFile(path.join(folder, 'garbage.json'))).rejects.toThrow(TokenFileError);
    writeFileSync(path.join(folder, 'other.json'), JSON.stringify({ hello: 'world' }));
    await expect(readTokenFile(path.join(folder, 'other.json'))).rejects.toThrow(/does not hold Switchboard tokens/);
  });

  it.each([
    [{ obtainedAt: 0, expiresAt: 3_600_000 }, 3_569_999, false],
    [{ obtainedAt: 0, expiresAt: 3_600_000 }, 3_570_000, true],
    [{ obtainedAt: 0, expiresAt: 40_000 }, 29_999, false],
    [{ obtainedAt: 0, expiresAt: 40_000 }, 30_000, true],
    [{ obtainedAt: 0 }, 10 ** 12, false],
  ])('%j at %d is stale: %s', (token, now, stale) => {
    expect(isStale(token, now)).toBe(stale);
  });
});

describe('client credentials provider', () => {
  const spec = (as: AuthServer, oauth: Record<string, unknown> = {}): HttpServerSpec => ({
    type: 'http',
    url: `${as.issuer}/mcp`,
    headers: {},
    oauth: { grant: 'client_credentials', clientId: 'm2m', clientSecret: 'secret', tokenEndpoint: `${as.issuer}/token`, ...oauth },
  });

  it('is shared per server and credential, and absent without oauth', async () => {
    const as = await authServer({ clients: { m2m: 'secret' } });
    expect(upstreamAuthFor('s', { type: 'http', url: 'https://x', headers: {} })).toBeUndefined();
    expect(upstreamAuthFor('s', spec(as))).toBe(upstreamAuthFor('s', spec(as)));
    expect(upstreamAuthFor('s', spec(as))).not.toBe(upstreamAuthFor('t', spec(as)));
    expect(upstreamAuthFor('s', spec(as))).not.toBe(upstreamAuthFor('s', spec(as, { scopes: 'other' })));
    // Another gateway in the same process has providers (and tokens) of its own.
    expect(new UpstreamAuths().for('s', spec(as))).not.toBe(upstreamAuthFor('s', spec(as)));
  });

  it('fetches one token for many (and concurrent) requests, and renews it when stale or rejected', async () => {
    const as = await authServer({ clients: { m2m: 'secret' }, expiresIn: 300 });
    const provider = upstreamAuthFor('cc', spec(as))!;
    await provider.prepare();
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => provider.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(await provider.token()).toBe(tokens[0]);
    expect(as.issued('client_credentials')).toBe(1);

    jumpClock(301_000);
    const renewed = await provider.token();
    expect(renewed).not.toBe(tokens[0]);
    expect(as.issued('client_credentials')).toBe(2);

    const response = new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    await provider.onUnauthorized!({ response, serverUrl: new URL(`${as.issuer}/mcp`), fetchFn: fetch });
    expect(await provider.token()).not.toBe(renewed);
    expect(as.issued('client_credentials')).toBe(3);
  });

  it('reads a configured metadata URL instead of discovering', async () => {
    const as = await authServer({ clients: { m2m: 'secret' }, authMethods: ['client_secret_post'] });
    const provider = upstreamAuthFor(
      'meta',
      spec(as, { tokenEndpoint: undefined, authServerMetadataUrl: `${as.issuer}/.well-known/oauth-authorization-server` }),
    )!;
    expect(await provider.token()).toMatch(/^at-/);
    expect(as.metadataRequests()).toBe(1);
    expect(as.tokenRequests).toEqual([expect.objectContaining({ grant: 'client_credentials', auth: 'client_secret_post' })]);
  });
});

describe('authorization code: login, stored tokens, refresh', () => {
  async function loggedIn(options: Record<string, unknown> = {}) {
    const as = await authServer({ clients: { cli: null }, ...options });
    const tokenFile = path.join(mkdtempSync(path.join(dir, 'login-')), 'tokens', 's.json');
    const oauth = { grant: 'authorization_code' as const, clientId: 'cli', callbackPort: 3118, tokenFile };
    const url = `${as.issuer}/mcp`;
    const login = new LoginProvider('s', url, oauth);
    const authorizationUrl = await beginLogin(login);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe('http://localhost:3118/callback');
    expect(authorizationUrl.searchParams.get('state')).toBe(login.expectedState);
    const approval = await fetch(authorizationUrl, { redirect: 'manual' });
    const record = await completeLogin(login, new URL(approval.headers.get('location')!).searchParams);
    const spec: HttpServerSpec = { type: 'http', url, headers: {}, oauth };
    return { as, spec, record, tokenFile, provider: upstreamAuthFor('s', spec)! };
  }

  it('needs a login until there are tokens for this URL and client', async () => {
    const tokenFile = path.join(mkdtempSync(path.join(dir, 'none-')), 's.json');
    const oauth = { grant: 'authorization_code' as const, clientId: 'cli', callbackPort: 3118, tokenFile };
    const provider = upstreamAuthFor('s', { type: 'http', url: 'https://x/mcp', headers: {}, oauth })!;
    await expect(provider.prepare()).rejects.toThrow(LoginRequiredError);
    await expect(provider.token()).rejects.toThrow('run: switchboard login s');
    await writeTokenFile(tokenFile, recordOf({ server: 's', url: 'https://elsewhere/mcp', clientId: 'cli' }, { access_token: 'a', token_type: 'Bearer' }));
    await expect(provider.prepare()).rejects.toThrow('issued for another URL');
    await writeTokenFile(tokenFile, recordOf({ server: 's', url: 'https://x/mcp', clientId: 'cli' }, { access_token: 'a', token_type: 'Bearer' }));
    await provider.prepare();
    expect(await provider.token()).toBe('a');
  });

  it('stores what the login obtained and uses it until it is stale, then refreshes it in place', async () => {
    const { as, record, tokenFile, provider } = await loggedIn({ expiresIn: 600 });
    expect(as.tokenRequests.at(-1)).toMatchObject({ grant: 'authorization_code', auth: 'none', status: 200 });
    expect(await readTokenFile(tokenFile)).toEqual(record);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    await provider.prepare();
    expect(await provider.token()).toBe(record.tokens.access_token);

    jumpClock(601_000);
    const [a, b] = await Promise.all([provider.token(), provider.token()]);
    expect(a).toBe(b);
    expect(a).not.toBe(record.tokens.access_token);
    expect(as.issued('refresh_token')).toBe(1);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored.tokens.access_token).toBe(a);
    expect(stored.tokens.refresh_token).not.toBe(record.tokens.refresh_token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('takes tokens a new login wrote instead of refreshing, on a 401', async () => {
    const { as, spec, tokenFile, provider } = await loggedIn();
    const first = await provider.token();
    const fresh = recordOf({ server: 's', url: spec.url, clientId: 'cli' }, { access_token: 'from-a-new-login', token_type: 'Bearer' });
    await writeTokenFile(tokenFile, fresh);
    await provider.onUnauthorized!({ response: new Response(null, { status: 401 }), serverUrl: new URL(spec.url), fetchFn: fetch });
    expect(await provider.token()).toBe('from-a-new-login');
    expect(first).not.toBe('from-a-new-login');
    expect(as.issued('refresh_token')).toBe(0);
  });

  it('adopts tokens another process sharing the state folder refreshed, instead of refreshing again', async () => {
    const { as, spec, tokenFile, provider } = await loggedIn({ expiresIn: 60 });
    await provider.token();
    jumpClock(61_000);
    const elsewhere = recordOf({ server: 's', url: spec.url, clientId: 'cli' }, { access_token: 'refreshed-elsewhere', token_type: 'Bearer', expires_in: 60 });
    await writeTokenFile(tokenFile, elsewhere);
    expect(await provider.token()).toBe('refreshed-elsewhere');
    expect(as.issued('refresh_token')).toBe(0);
  });

  it('needs a new login once the refresh token is rejected, and forgets the dead tokens', async () => {
    const { as, tokenFile, provider } = await loggedIn({ expiresIn: 60 });
    await provider.token();
    as.revokeRefreshTokens();
    jumpClock(61_000);
    await expect(provider.token()).rejects.toThrow(/rejected the refresh token.*run: switchboard login s/);
    expect(existsSync(tokenFile)).toBe(false);
    await expect(provider.prepare()).rejects.toThrow(LoginRequiredError);
  });

  it('needs a new login when a stale token came without a refresh token', async () => {
    const { provider } = await loggedIn({ expiresIn: 60, refreshTokens: false });
    await provider.token();
    jumpClock(61_000);
    await expect(provider.token()).rejects.toThrow(/no refresh token.*run: switchboard login s/);
  });
});
