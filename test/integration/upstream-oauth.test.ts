/**
 * OAuth from the gateway to its upstreams, end to end: a real authorization
 * server fixture and an MCP upstream that requires its bearer tokens, both on
 * port 0. Client credentials: the gateway obtains, caches and renews the
 * token (before expiry, and after a 401). Authorization code + PKCE:
 * `switchboard login` (the built CLI) prints the URL, a test "browser"
 * follows it, the tokens land in a 0600 file, the gateway connects with them
 * and refreshes them. The downstream client's own Authorization header never
 * reaches the upstream.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { cliEnv, freePort, runCli, spawnCli, stopProcess, waitForExit, type RunningCli } from '../helpers/processes.js';

type TokenRequest = { grant: string; auth: string; resource: string | null; scope: string | null; status: number };
interface AuthServer {
  issuer: string;
  settings: { expiresIn: number; refreshTokens: boolean; deny: boolean };
  tokenRequests: TokenRequest[];
  authorizeRequests: URLSearchParams[];
  issued(grant: string): number;
  verify(token: string): boolean;
  revokeAccessTokens(): void;
  revokeRefreshTokens(): void;
  close(): Promise<void>;
}
interface ProtectedUpstream {
  url: string;
  accepted: string[];
  rejected(): number;
  headersSeen: Record<string, string | string[] | undefined>[];
  close(): Promise<void>;
}

// Plain ESM fixtures (no declarations), typed here.
const { startAuthServer } = (await import(new URL('../fixtures/oauth/auth-server.mjs', import.meta.url).href)) as {
  startAuthServer(options: Record<string, unknown>): Promise<AuthServer>;
};
const { startProtectedUpstream } = (await import(new URL('../fixtures/oauth/protected-upstream.mjs', import.meta.url).href)) as {
  startProtectedUpstream(options: { verify: (token: string) => boolean; authorizationServer: string }): Promise<ProtectedUpstream>;
};

const closers: Array<() => Promise<unknown>> = [];
let base: string;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-oauth-'));
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  rmSync(base, { recursive: true, force: true });
});

async function servers(options: Record<string, unknown>): Promise<{ as: AuthServer; up: ProtectedUpstream }> {
  const as = await startAuthServer(options);
  closers.push(() => as.close());
  const up = await startProtectedUpstream({ verify: as.verify, authorizationServer: as.issuer });
  closers.push(() => up.close());
  return { as, up };
}

async function gateway(config: Record<string, unknown>): Promise<RunningGateway> {
  const gw = await startGateway(config);
  closers.push(() => gw.close());
  return gw;
}

/** A 2025-era client that presents a credential of its own, which must stay at the gateway. */
async function client(gw: RunningGateway): Promise<LegacyClient> {
  const c = new LegacyClient({ name: 'oauth-test', version: '1.0.0' });
  const headers = { Authorization: 'Bearer downstream-client-secret' };
  await c.connect(new LegacyHttpTransport(new URL(gw.mcpUrl), { requestInit: { headers } }));
  closers.push(() => c.close());
  return c;
}

async function echo(c: LegacyClient, name: string, text: string): Promise<void> {
  const result = await c.callTool({ name, arguments: { text } });
  expect(result.structuredContent).toEqual({ text });
}

/** Moves `Date.now()` (the gateway's expiry checks and the fixture's) forward; timers stay real. */
function jumpClock(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + ms);
}

describe('client credentials', () => {
  it('obtains a token, uses it for every call, and renews it before expiry and after a 401', async () => {
    const { as, up } = await servers({ clients: { 'sb-m2m': 'm2m-secret' }, expiresIn: 120 });
    process.env.SB_TEST_M2M_SECRET = 'm2m-secret';
    closers.push(async () => delete process.env.SB_TEST_M2M_SECRET);
    const gw = await gateway({
      mcpServers: {
        m2m: {
          type: 'http',
          url: up.url,
          oauth: { grant: 'client_credentials', clientId: 'sb-m2m', clientSecret: '${SB_TEST_M2M_SECRET}', tokenEndpoint: `${as.issuer}/token` },
        },
      },
    });
    const upstream = gw.gateway.upstreams[0]!;
    expect(upstream.state).toBe('ready');
    expect(as.issued('client_credentials')).toBe(1);
    expect(as.tokenRequests[0]).toMatchObject({ auth: 'client_secret_basic', resource: up.url });

    const c = await client(gw);
    for (const text of ['one', 'two', 'three']) await echo(c, 'm2m__echo', text);
    // Cached: one token for the catalog connection and every call.
    expect(as.issued('client_credentials')).toBe(1);
    const token = up.accepted[0]!;
    expect(new Set(up.accepted)).toEqual(new Set([token]));
    // Only the gateway's own token reached the upstream, never the client's.
    for (const headers of up.headersSeen) expect(headers.authorization).toBe(`Bearer ${token}`);
    expect(JSON.stringify(up.headersSeen)).not.toContain('downstream-client-secret');

    // Past its expiry the token is renewed before it is sent: no 401 on the way.
    const rejectedBefore = up.rejected();
    jumpClock(121_000);
    await echo(c, 'm2m__echo', 'after expiry');
    expect(as.issued('client_credentials')).toBe(2);
    expect(up.rejected()).toBe(rejectedBefore);
    expect(up.accepted.at(-1)).not.toBe(token);

    // A token the server no longer accepts (revoked) is replaced on the 401, and the call retried.
    as.revokeAccessTokens();
    await echo(c, 'm2m__echo', 'after revocation');
    expect(as.issued('client_credentials')).toBe(3);
    expect(up.rejected()).toBe(rejectedBefore + 1);
    // No secret in the gateway's logs.
    expect(gw.logs.join('')).not.toContain('m2m-secret');
    for (const t of up.accepted) expect(gw.logs.join('')).not.toContain(t);
  });

  it('discovers the token endpoint through the upstream (RFC 9728 → RFC 8414) and uses client_secret_post when that is all it offers', async () => {
    const { as, up } = await servers({ clients: { 'sb-post': 'post-secret' }, authMethods: ['client_secret_post'] });
    const gw = await gateway({
      mcpServers: {
        m2m: { type: 'http', url: up.url, oauth: { grant: 'client_credentials', clientId: 'sb-post', clientSecret: 'post-secret', scopes: 'mcp' } },
      },
    });
    expect(gw.gateway.upstreams[0]!.state).toBe('ready');
    expect(as.tokenRequests).toEqual([{ grant: 'client_credentials', auth: 'client_secret_post', resource: up.url, scope: 'mcp', status: 200 }]);
    await echo(await client(gw), 'm2m__echo', 'discovered');
  });

  it('reports the upstream down, without the secret, when the authorization server refuses the client', async () => {
    const { up, as } = await servers({ clients: { 'sb-m2m': 'right-secret' } });
    const gw = await gateway({
      mcpServers: {
        m2m: {
          type: 'http',
          url: up.url,
          oauth: { grant: 'client_credentials', clientId: 'sb-m2m', clientSecret: 'wrong-secret', tokenEndpoint: `${as.issuer}/token` },
        },
      },
    });
    const upstream = gw.gateway.upstreams[0]!;
    expect(upstream.state).toBe('down');
    expect(upstream.lastError).toMatch(/invalid_client/i);
    expect(upstream.lastError).not.toContain('wrong-secret');
    expect(gw.logs.join('')).not.toContain('wrong-secret');
    await gw.close();
  });
});

describe('authorization code + PKCE with switchboard login', () => {
  let as: AuthServer;
  let up: ProtectedUpstream;
  let dir: string;
  let configFile: string;
  let tokenFile: string;
  let callbackPort: number;
  /** The config as the gateway in this process loads it (stateDir made absolute). */
  let inline: Record<string, unknown>;

  beforeAll(async () => {
    ({ as, up } = await servers({ clients: { 'sb-cli': null } }));
    dir = mkdtempSync(path.join(base, 'login-'));
    callbackPort = await freePort();
    const server = { type: 'http', url: up.url, oauth: { clientId: 'sb-cli', callbackPort } };
    configFile = path.join(dir, 'switchboard.json');
    writeFileSync(configFile, JSON.stringify({ mcpServers: { slack: server }, gateway: { stateDir: './state' } }));
    tokenFile = path.join(dir, 'state', 'tokens', 'slack.json');
    inline = { mcpServers: { slack: server }, gateway: { stateDir: path.join(dir, 'state') } };
  });

  it('without stored tokens the upstream is down, saying which command to run', async () => {
    const gw = await gateway(inline);
    const upstream = gw.gateway.upstreams[0]!;
    expect(upstream.state).toBe('down');
    expect(upstream.lastError).toContain('run: switchboard login slack');
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { upstreams: Record<string, { state: string; error?: string }> };
    // /readyz says what kind of failure, not its text (the log has the command to run).
    expect(ready.upstreams.slack).toMatchObject({ state: 'down', error: 'unauthorized' });
    await gw.close();
  });

  it('login prints the authorization URL, takes the redirect, and stores the tokens 0600', async () => {
    const cli = track(spawnCli(['login', 'slack', '--config', configFile], { cwd: dir }));
    const line = await cli.waitForStderr(/^\s+http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
    const authorizationUrl = new URL(line.trim());
    const q = authorizationUrl.searchParams;
    expect(q.get('client_id')).toBe('sb-cli');
    expect(q.get('redirect_uri')).toBe(`http://localhost:${callbackPort}/callback`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('resource')).toBe(up.url);
    expect(q.get('state')).toBeTruthy();

    // The browser: the fixture approves at once and redirects to the loopback callback.
    const approval = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(approval.status).toBe(302);
    const callback = await fetch(approval.headers.get('location')!);
    expect(callback.status).toBe(200);
    await callback.text();

    expect(await waitForExit(cli.child, 15_000)).toBe(0);
    expect(cli.stderr()).toContain(`tokens saved to ${tokenFile}`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(tokenFile)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored).toMatchObject({ version: 1, server: 'slack', url: up.url, clientId: 'sb-cli', resource: up.url });
    expect(stored.tokens.access_token).toMatch(/^at-/);
    expect(stored.tokens.refresh_token).toMatch(/^rt-/);
    expect(as.tokenRequests.at(-1)).toMatchObject({ grant: 'authorization_code', auth: 'none', resource: up.url, status: 200 });
    // Tokens go to the file only, never to the terminal.
    expect(cli.stderr()).not.toContain(stored.tokens.access_token);
    expect(cli.stderr()).not.toContain(stored.tokens.refresh_token);
  });

  it('the gateway connects with the stored tokens and refreshes them transparently', async () => {
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    const gw = await gateway(inline);
    expect(gw.gateway.upstreams[0]!.state).toBe('ready');
    const c = await client(gw);
    await echo(c, 'slack__echo', 'with stored tokens');
    expect(up.accepted.at(-1)).toBe(stored.tokens.access_token);
    expect(as.issued('refresh_token')).toBe(0);

    // The server stops accepting the access token: one 401, a refresh, the call retried.
    as.revokeAccessTokens();
    await echo(c, 'slack__echo', 'after a 401');
    expect(as.issued('refresh_token')).toBe(1);
    const refreshed = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(refreshed.tokens.access_token).not.toBe(stored.tokens.access_token);
    expect(refreshed.tokens.refresh_token).not.toBe(stored.tokens.refresh_token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    // Past its expiry the access token is refreshed before it is sent.
    const rejectedBefore = up.rejected();
    jumpClock(3_601_000);
    await echo(c, 'slack__echo', 'after expiry');
    expect(as.issued('refresh_token')).toBe(2);
    expect(up.rejected()).toBe(rejectedBefore);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8')).tokens.access_token).toBe(up.accepted.at(-1));
    expect(gw.logs.join('')).not.toContain(refreshed.tokens.refresh_token);
  });

  it('login refuses a server it cannot log in to, and gives up when no redirect comes', async () => {
    const unknown = await runCli(['login', 'nope', '--config', configFile], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('servers that use it: slack');

    const timedOut = await runCli(['login', 'slack', '--config', configFile], {
      cwd: dir,
      env: cliEnv({ SWITCHBOARD_LOGIN_TIMEOUT_MS: '300' }),
    });
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('no redirect arrived');
  });
});

const running = new Set<RunningCli>();
closers.push(async () => Promise.all([...running].map((r) => stopProcess(r.child))));

function track(cli: RunningCli): RunningCli {
  running.add(cli);
  cli.child.once('exit', () => running.delete(cli));
  return cli;
}
